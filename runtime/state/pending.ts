// Pending markers: state/pending/<archive key>, written by validate before it archives a file and
// deleted by the transform once the file's batch is committed. Listing them is how a transform
// finds its work without listing the whole archive (which only kpi rebuild, verify and the bulk
// path list).
import { ARCHIVE_PREFIX, STATE_PREFIX } from '../core/names';
import { inPool } from '../core/pool';
import type { SourceFile } from '../core/compute';
import { parseArchive, versionOrder, type ArchivedVersion } from '../core/layout';
import { rankOf } from './rank';
import type { BatchFile } from './incremental';
import type { Bucket } from '../aws/s3store';

export const PENDING_PREFIX = `${STATE_PREFIX}pending/`;
export const pendingKey = (archiveKey: string) => PENDING_PREFIX + archiveKey;

export async function listArchive(bucket: Bucket): Promise<ArchivedVersion[]> {
  const out: ArchivedVersion[] = [];
  for (const o of await bucket.list(ARCHIVE_PREFIX)) {
    const p = parseArchive(o.key);
    if (p) out.push({ ...p, key: o.key, etag: o.etag, size: o.size });
  }
  return out.sort(versionOrder);
}

/** Marks every archived version pending (a first run over an existing archive, or kpi rebuild). */
export async function markAll(bucket: Bucket): Promise<{ marked: number; archived: number }> {
  const have = new Set((await bucket.list(PENDING_PREFIX)).map((o) => o.key));
  const archived = await listArchive(bucket);
  const todo = archived.map((v) => pendingKey(v.key)).filter((k) => !have.has(k));
  await inPool(todo, 16, (k) => bucket.put(k, 'pending\n', { contentType: 'text/plain' }));
  return { marked: todo.length, archived: archived.length };
}

export interface PendingFile extends BatchFile {
  marker: string;
}

export interface Pending {
  /** files whose archive object exists, oldest first */
  files: PendingFile[];
  /** markers listed, with or without an archive object yet */
  markers: number;
}

/**
 * The pending files. Their sizes come from a HEAD of the archive object (the marker is empty);
 * `sizes` keeps them across the batches of one run, so a backlog is not HEADed once per batch.
 */
export async function listPending(bucket: Bucket, sizes = new Map<string, number>()): Promise<Pending> {
  const found: (ArchivedVersion & { marker: string })[] = [];
  const markers = await bucket.list(PENDING_PREFIX);
  for (const m of markers) {
    const key = m.key.slice(PENDING_PREFIX.length);
    const p = parseArchive(key);
    if (p) found.push({ ...p, key, etag: '', size: 0, marker: m.key });
  }
  found.sort(versionOrder);
  const out: (PendingFile | null)[] = new Array(found.length).fill(null);
  await inPool(found, 16, async (v, i) => {
    let size = sizes.get(v.key);
    if (size === undefined) {
      const head = await bucket.head(v.key);
      // No archive object: validate wrote the marker and has not archived yet (or died: it retries).
      if (!head) return;
      sizes.set(v.key, (size = head.size));
    }
    out[i] = { key: v.key, size, entity: v.entity, rank: rankOf(v), marker: v.marker, open: () => bucket.read(v.key) };
  });
  return { files: out.filter((x): x is PendingFile => x !== null), markers: markers.length };
}

/** Archived versions as sources for the recompute (kpi compute's engine). */
export const archiveSources = (bucket: Bucket, versions: ArchivedVersion[]): SourceFile[] =>
  versions.map((v) => ({ entity: v.entity, name: v.key, size: v.size, open: () => bucket.read(v.key) }));

/** The oldest pending files up to `maxBytes` (at least one). */
export function takeBatch(pending: PendingFile[], maxBytes: number): PendingFile[] {
  const out: PendingFile[] = [];
  let bytes = 0;
  for (const f of pending) {
    if (out.length && bytes + f.size > maxBytes) break;
    out.push(f);
    bytes += f.size;
  }
  return out;
}
