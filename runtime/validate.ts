// The validate stage: one landing object → rejected rows to err/, the source to archive/, landing
// cleared. Idempotent: a replayed event, a second delivery or a rerun after a crash converge.
import { Tables, type RejectedRow } from './join';
import { archiveKey, archivePrefix, errFileKey, errRowsKey, errUnroutedKey, landingKey, parseLanding } from './layout';
import { rejectsToCsv } from './rejects';
import type { Bucket } from './s3store';
import type { Observer } from './observe';

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

export async function validateObject(ctx: ValidateContext, key: string): Promise<ValidateResult> {
  const t0 = Date.now();
  const { bucket, obs } = ctx;
  const base = { key, rows: 0, accepted: 0, rejected: 0, rejectedByReason: {} as Record<string, number> };
  const head = await bucket.head(key);
  if (!head) {
    // Already processed by another run (a duplicate event): nothing to do.
    const r: ValidateResult = { ...base, status: 'gone', ms: Date.now() - t0 };
    obs.log('file_skipped', { key, reason: 'no longer in the landing zone (already processed)' });
    return r;
  }
  const landing = parseLanding(key);
  if (!landing) {
    const dest = errUnroutedKey(key, head.lastModified);
    const note = `not under ecommerce-data/{orders,order_items,products}/: the pipeline does not know what this file holds`;
    await bucket.copy(key, dest);
    await bucket.put(`${dest}.note.txt`, note + '\n', { contentType: 'text/plain' });
    await deleteIfUnchanged(bucket, key, head.etag);
    obs.log('file_rejected', { key, to: dest, note });
    return { ...base, status: 'unrouted', note, ms: Date.now() - t0 };
  }
  const dest = archiveKey(landing, head.lastModified);
  // The same bytes again (a replayed event, or a re-upload of an unchanged file): the newest archived
  // version of this key already says exactly this, so archiving another copy would change nothing.
  const newest = (await bucket.list(archivePrefix(landing))).sort((a, b) => (a.key < b.key ? -1 : 1)).at(-1);
  if (newest && newest.etag === head.etag && newest.key <= dest) {
    await deleteIfUnchanged(bucket, key, head.etag);
    obs.log('file_duplicate', { key, archive: newest.key });
    return { ...base, status: 'duplicate', entity: landing.entity, archiveKey: newest.key, uploadedAt: head.lastModified, ms: Date.now() - t0 };
  }
  const rejectedRows: RejectedRow[] = [];
  const tables = new Tables('defer', (r) => rejectedRows.push(r));
  const res = await tables.readFile(landing.entity, key, () => bucket.read(key));
  if (res.status === 'rejected') {
    const errKey = errFileKey(landing, head.lastModified);
    await bucket.copy(key, errKey);
    await bucket.put(`${errKey}.note.txt`, `${res.note}\n`, { contentType: 'text/plain' });
    await deleteIfUnchanged(bucket, key, head.etag);
    obs.log('file_rejected', { key, to: errKey, note: res.note });
    await ctx.obs.alert(`KPI pipeline rejected ${key}`, `${key} was rejected whole: ${res.note}. It is stored at ${errKey}.`);
    obs.metrics({ Stage: 'validate' }, { FilesRejected: 1 });
    return { ...base, status: 'rejected', entity: landing.entity, note: res.note, uploadedAt: head.lastModified, ms: Date.now() - t0 };
  }
  const byReason: Record<string, number> = {};
  for (const r of rejectedRows) byReason[r.reason] = (byReason[r.reason] ?? 0) + 1;
  if (rejectedRows.length) await bucket.put(errRowsKey(landing, head.lastModified), rejectsToCsv(rejectedRows));
  await bucket.copy(key, dest, { 'landing-key': landingKey(landing), 'uploaded-at': new Date(head.lastModified).toISOString() });
  await deleteIfUnchanged(bucket, key, head.etag);
  const result: ValidateResult = {
    key,
    status: 'archived',
    entity: landing.entity,
    archiveKey: dest,
    rows: res.rows,
    accepted: res.accepted,
    rejected: res.rejected,
    rejectedByReason: byReason,
    uploadedAt: head.lastModified,
    ms: Date.now() - t0,
  };
  obs.log('file_validated', { key, entity: landing.entity, archive: dest, rows: res.rows, accepted: res.accepted, rejected: res.rejected, rejected_by_reason: byReason, parser: res.parser, ms: result.ms });
  obs.metrics({ Stage: 'validate' }, { FilesProcessed: 1, RowsAccepted: res.accepted, RowsRejected: res.rejected });
  for (const [reason, n] of Object.entries(byReason)) obs.metrics({ Stage: 'validate', Reason: reason }, { RowsRejectedByReason: n });
  const share = res.rows ? res.rejected / res.rows : 0;
  obs.metrics({ Stage: 'validate' }, { RejectedShare: share * 100 }, { RejectedShare: 'Percent' });
  if (res.rows && share > ctx.rejectAlertShare) {
    await obs.alert(
      `KPI pipeline: ${(share * 100).toFixed(1)}% of ${key} rejected`,
      `${res.rejected} of ${res.rows} rows of ${key} were rejected (${Object.entries(byReason).map(([k, v]) => `${k} ${v}`).join(', ')}); threshold ${(ctx.rejectAlertShare * 100).toFixed(1)}%. Rows: ${errRowsKey(landing, head.lastModified)}`,
    );
  }
  return result;
}

/** Removes the landing object unless a newer upload replaced it meanwhile (that one has its own event). */
async function deleteIfUnchanged(bucket: Bucket, key: string, etag: string): Promise<void> {
  const now = await bucket.head(key);
  if (now && now.etag === etag) await bucket.delete(key);
}
