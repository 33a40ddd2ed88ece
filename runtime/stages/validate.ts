// The validate stage: one landing object → rejected rows to err/, the source to archive/, landing
// cleared. Idempotent: a replayed event, a second delivery or a rerun after a crash converge.
//
// The object is read once, into a local file, and everything after works on that file: the bytes
// archived (or filed in err/) are exactly the bytes validated, whatever is uploaded under the same
// key meanwhile (regression: test/regressions/overwrite-during-validation).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileChunks } from '../core/parse/csv';
import type { FileResult, RejectedRow } from '../core/join/join';
import { pendingKey } from '../state/pending';
import {
  archiveKey,
  archivePrefix,
  errFileKey,
  errRowsKey,
  errUnroutedKey,
  hasDotOrEmptySegment,
  landingKey,
  parseArchive,
  parseLanding,
  type ArchivedVersion,
} from '../core/layout';
import { readVersions, type FileVersions } from '../core/parse/versions';
import { encodeValidated, validatedKey, ValidatedObjectError } from '../core/formats/validated';
import { fetchValidated } from '../history/zone';
import { inPool } from '../core/pool';
import { rankOf } from '../state/rank';
import { rejectsToCsv } from '../core/formats/rejects';
import { metaValue, type Bucket, type Downloaded } from '../aws/s3store';
import type { Observer } from '../aws/observe';
import type { Entity } from '../core/names';

export interface ValidateResult {
  key: string;
  /** failed: could not be processed now (left in the landing zone, retried by the next run) */
  status: 'archived' | 'rejected' | 'duplicate' | 'gone' | 'unrouted' | 'failed';
  entity?: string;
  archiveKey?: string;
  rows: number;
  accepted: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  note?: string;
  uploadedAt?: number;
  ms: number;
}

export interface ValidateContext {
  bucket: Bucket;
  obs: Observer;
  rejectAlertShare: number;
}

export async function validateObject(ctx: ValidateContext, key: string, versionId?: string): Promise<ValidateResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-validate-'));
  try {
    return await validateIn(ctx, key, versionId, path.join(dir, 'object'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function validateIn(
  ctx: ValidateContext,
  key: string,
  versionId: string | undefined,
  file: string,
): Promise<ValidateResult> {
  const t0 = Date.now();
  const { bucket, obs } = ctx;
  const base = { key, rows: 0, accepted: 0, rejected: 0, rejectedByReason: {} as Record<string, number> };
  const got = await bucket.download(key, file, versionId);
  if (!got) {
    // Already processed by another run (a duplicate event, or a sweep racing the dispatcher).
    obs.log('file_skipped', { key, reason: 'no longer in the landing zone (already processed)' });
    return { ...base, status: 'gone', ms: Date.now() - t0 };
  }
  const landing = parseLanding(key);
  if (!landing) {
    const dest = errUnroutedKey(key, got.lastModified);
    const note = hasDotOrEmptySegment(key)
      ? `the key has a ".", ".." or empty path segment: it does not name a file of one entity folder (landing key: ${key})`
      : `not under ecommerce-data/{orders,order_items,products}/: the pipeline does not know what this file holds (landing key: ${key})`;
    await fileAway(bucket, got, dest, note);
    await deleteProcessed(bucket, got);
    obs.log('file_rejected', { key, to: dest, note });
    return { ...base, status: 'unrouted', note, ms: Date.now() - t0 };
  }
  const dest = archiveKey(landing, got.lastModified);
  if (await isArchivedAlready(bucket, archivePrefix(landing), dest, got)) {
    await deleteProcessed(bucket, got);
    obs.log('file_duplicate', { key, archive: dest });
    return {
      ...base,
      status: 'duplicate',
      entity: landing.entity,
      archiveKey: dest,
      uploadedAt: got.lastModified,
      ms: Date.now() - t0,
    };
  }
  const { res, versions, rejectedRows } = await readChecked(landing.entity, key, got.file);
  if (res.status === 'rejected') {
    const errKey = errFileKey(landing, got.lastModified);
    await fileAway(bucket, got, errKey, res.note ?? 'rejected');
    await deleteProcessed(bucket, got);
    obs.log('file_rejected', { key, to: errKey, note: res.note });
    await ctx.obs.alert(
      `KPI pipeline rejected ${key}`,
      `${key} was rejected whole: ${res.note}. It is stored at ${errKey}.`,
    );
    obs.metrics({ Stage: 'validate' }, { FilesRejected: 1 });
    return {
      ...base,
      status: 'rejected',
      entity: landing.entity,
      note: res.note,
      uploadedAt: got.lastModified,
      ms: Date.now() - t0,
    };
  }
  return archive(ctx, got, landing, dest, res, versions!, rejectedRows, t0);
}

/** One pass over the file: its verdicts, its rejected rows and the validated zone's versions. */
async function readChecked(
  entity: Entity,
  key: string,
  file: string,
): Promise<{ res: FileResult; versions: FileVersions | null; rejectedRows: RejectedRow[] }> {
  const rejectedRows: RejectedRow[] = [];
  try {
    const v = await readVersions(entity, key, (reuse) => readFileChunks(file, reuse), 'wasm', false, true);
    for (const r of v.rejectedRows ?? []) rejectedRows.push({ entity, file: key, header: v.header, ...r });
    const rejected = Object.values(v.rejected).reduce((n, k) => n + (k ?? 0), 0);
    const res: FileResult = {
      entity,
      file: key,
      status: v.status,
      note: v.note,
      rows: v.rows,
      accepted: v.rows - rejected,
      rejected,
      held: 0,
      parser: v.parser,
    };
    return { res, versions: v, rejectedRows };
  } catch (err) {
    // The bytes are on local disk: a failure here is not S3's and would repeat on every retry.
    // Quarantine the file with the error, so that it cannot hold up anything else.
    const note = `processing failed: ${(err as Error).message} (quarantined; please report this file)`;
    const res: FileResult = { entity, file: key, status: 'rejected', note, rows: 0, accepted: 0, rejected: 0, held: 0 };
    return { res, versions: null, rejectedRows };
  }
}

/** The accepted file: its rejected rows to err/, its marker, its bytes to archive/; logs, metrics, alert. */
async function archive(
  ctx: ValidateContext,
  got: Downloaded,
  landing: NonNullable<ReturnType<typeof parseLanding>>,
  dest: string,
  res: FileResult,
  versions: FileVersions,
  rejectedRows: RejectedRow[],
  t0: number,
): Promise<ValidateResult> {
  const { bucket, obs } = ctx;
  const key = got.key;
  const byReason: Record<string, number> = {};
  for (const r of rejectedRows) byReason[r.reason] = (byReason[r.reason] ?? 0) + 1;
  if (rejectedRows.length) await bucket.put(errRowsKey(landing, got.lastModified), rejectsToCsv(rejectedRows));
  // The validated object before the archive object: a rerun after a kill finds the file archived
  // and would not write it (an object without its archive file is never read, and is rewritten).
  await putValidated(bucket, versions, dest);
  // The marker next: once the archive object exists, a transform is sure to apply it.
  await bucket.put(pendingKey(dest), 'pending\n', { contentType: 'text/plain' });
  await bucket.putFile(dest, got.file, {
    metadata: {
      'landing-key': metaValue(landingKey(landing)),
      'uploaded-at': new Date(got.lastModified).toISOString(),
      sha256: got.sha256,
    },
  });
  await deleteProcessed(bucket, got);
  const result: ValidateResult = {
    key,
    status: 'archived',
    entity: landing.entity,
    archiveKey: dest,
    rows: res.rows,
    accepted: res.accepted,
    rejected: res.rejected,
    rejectedByReason: byReason,
    uploadedAt: got.lastModified,
    ms: Date.now() - t0,
  };
  obs.log('file_validated', {
    key,
    entity: landing.entity,
    archive: dest,
    rows: res.rows,
    accepted: res.accepted,
    rejected: res.rejected,
    rejected_by_reason: byReason,
    parser: res.parser,
    ms: result.ms,
  });
  obs.metrics({ Stage: 'validate' }, { FilesProcessed: 1, RowsAccepted: res.accepted, RowsRejected: res.rejected });
  for (const [reason, n] of Object.entries(byReason))
    obs.metrics({ Stage: 'validate', Reason: reason }, { RowsRejectedByReason: n });
  const share = res.rows ? res.rejected / res.rows : 0;
  obs.metrics({ Stage: 'validate' }, { RejectedShare: share * 100 }, { RejectedShare: 'Percent' });
  if (res.rows && share > ctx.rejectAlertShare) {
    await obs.alert(
      `KPI pipeline: ${(share * 100).toFixed(1)}% of ${key} rejected`,
      `${res.rejected} of ${res.rows} rows of ${key} were rejected (${Object.entries(byReason)
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )}); threshold ${(ctx.rejectAlertShare * 100).toFixed(1)}%. Rows: ${errRowsKey(landing, got.lastModified)}`,
    );
  }
  return result;
}

/** The file's valid versions as the validated zone's object (core/formats/validated.ts). */
export async function writeValidated(bucket: Bucket, file: string, dest: string): Promise<void> {
  const parsed = parseArchive(dest)!;
  await putValidated(
    bucket,
    await readVersions(parsed.entity, dest, (reuse) => readFileChunks(file, reuse), 'wasm', false),
    dest,
  );
}

async function putValidated(bucket: Bucket, versions: FileVersions, dest: string): Promise<void> {
  const bytes = await encodeValidated(versions, rankOf(parseArchive(dest)!), dest);
  await bucket.put(validatedKey(dest), bytes, { contentType: 'application/vnd.apache.parquet' });
}

/**
 * kpi rebuild's first step: every archived file whose validated object is missing, truncated or of
 * another schema gets it written again from archive/ (the source of truth). Returns their keys.
 */
export async function restoreValidated(bucket: Bucket, versions: readonly ArchivedVersion[]): Promise<string[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-zone-'));
  const written: string[] = [];
  try {
    await inPool(versions, 8, async (v, i) => {
      const file = path.join(dir, `${i}`);
      const usable = await fetchValidated(bucket, v, file).then(
        () => true,
        (err: unknown) => {
          if (err instanceof ValidatedObjectError) return false;
          throw err;
        },
      );
      if (usable) return;
      if (!(await bucket.download(v.key, file))) return; // deleted meanwhile (quarantined): nothing to describe
      await writeValidated(bucket, file, v.key);
      written.push(validatedKey(v.key));
      rmSync(file, { force: true });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return written;
}

/** The bytes read, and a note saying why, under err/. */
async function fileAway(bucket: Bucket, got: Downloaded, dest: string, note: string): Promise<void> {
  await bucket.putFile(dest, got.file, { contentType: 'application/octet-stream', metadata: { sha256: got.sha256 } });
  await bucket.put(`${dest}.note.txt`, note + '\n', { contentType: 'text/plain; charset=utf-8' });
}

/**
 * The same bytes as the newest archived version of this key (a replayed event, or a re-upload of an
 * unchanged file): archiving another copy would change nothing. Compared by the SHA-256 stored with
 * each archived version; ETags differ for the same bytes uploaded in parts (`aws s3 cp` over 8 MB).
 */
async function isArchivedAlready(bucket: Bucket, prefix: string, dest: string, got: Downloaded): Promise<boolean> {
  const newest = (await bucket.list(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1)).at(-1);
  if (!newest || newest.key > dest) return false;
  const head = await bucket.head(newest.key);
  const sha = head?.metadata?.sha256;
  if (sha) return sha === got.sha256;
  // Archived before hashes were stored: an ETag of a single-part upload is the MD5 of the bytes.
  return !!head && !head.etag.includes('-') && head.etag === got.etag;
}

/**
 * Removes the processed upload from the landing zone, never a newer one under the same key: with
 * versioning, exactly the version read is deleted; without, only if its ETag is still current
 * (a newer upload has its own event).
 */
async function deleteProcessed(bucket: Bucket, got: Downloaded): Promise<void> {
  if (got.versionId && got.versionId !== 'null') return bucket.deleteVersion(got.key, got.versionId);
  const now = await bucket.head(got.key);
  if (now && now.etag === got.etag) await bucket.delete(got.key);
}
