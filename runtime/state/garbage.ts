// Garbage: objects of the transform's own prefixes that no committed state references — index runs
// and lake files of runs killed before their commit, commit records of runs killed after finishing
// them. Only objects older than `minAgeMs` count: a run writes its objects before it commits, and a
// young unreferenced object may belong to that run (the caller holds the lease, so it is its own;
// the age keeps the rule safe on its own). Referenced: the manifest's runs, its commit record, the
// lake file of every day record.
import { CURATED_PREFIX, STATE_PREFIX } from '../core/names';
import { inPool } from '../core/pool';
import { INDEX_PREFIX, KeyIndex } from './keyindex';
import type { Bucket } from '../aws/s3store';
import { dayRecords, type StateBody } from './incremental';

export const COMMITS_PREFIX = `${STATE_PREFIX}commits/`;

/** What may be collected, by prefix: keys, oldest first. */
export async function findGarbage(bucket: Bucket, body: StateBody, now: number, minAgeMs: number): Promise<string[]> {
  const keep = new Set<string>(body.runs.map((r) => INDEX_PREFIX + r.name));
  if (body.post) keep.add(body.post);
  for (const { rec } of await dayRecords(new KeyIndex(bucket, body.runs))) keep.add(rec.file);
  const out: string[] = [];
  for (const p of [INDEX_PREFIX, COMMITS_PREFIX, CURATED_PREFIX]) {
    for (const o of await bucket.list(p)) if (!keep.has(o.key) && now - o.lastModified > minAgeMs) out.push(o.key);
  }
  return out;
}

/** Deletes them (idempotent: a run killed midway leaves the rest to the next collection). */
export async function collectGarbage(bucket: Bucket, keys: string[]): Promise<void> {
  await inPool(keys, 16, (k) => bucket.delete(k));
}
