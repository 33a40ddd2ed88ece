// The transform stage: KPIs recomputed from every accepted version in archive/ and made the table
// contents. Recomputing (not incrementing) is what makes replays, duplicates, overlapping runs and
// crashed runs converge: each run ends by checking that archive/ did not change while it worked,
// and starts over if it did, so the last run to finish always wrote the answer for the last state.
import { computeSources, SourceFailed, type ComputeResult, type SourceFile } from '../core/compute';
import type { RejectedRow } from '../core/join';
import { parseArchive, unmatchedKey, versionOrder, type ArchivedVersion } from './layout';
import { ARCHIVE_PREFIX, ERR_PREFIX, QUALITY_KEY } from '../core/names';
import type { Quality } from '../core/quality';
import type { Reason } from '../core/rules';
import { rejectsToCsv } from '../core/rejects';
import { writeLake } from './lake';
import type { Bucket } from '../aws/s3store';
import type { KpiStore } from '../aws/kpistore';
import type { Observer } from '../aws/observe';
import type { Deadline } from '../aws/deadline';
import type { OrderKpi } from '../core/kpis';
import { createHash } from 'node:crypto';

export interface TransformContext {
  bucket: Bucket;
  store: KpiStore;
  obs: Observer;
  holdSeconds: number;
  deadline: Deadline;
  now?: () => number;
}

export interface TransformResult {
  rounds: number;
  files: number;
  items: number;
  held: number;
  expired: number;
  puts: number;
  deletes: number;
  retries: number;
  changedDates: string[];
  categoryRows: number;
  orderRows: number;
  lakeFilesWritten: number;
  lakeFilesDeleted: number;
  ms: number;
}

export async function listArchive(bucket: Bucket): Promise<ArchivedVersion[]> {
  const out: ArchivedVersion[] = [];
  for (const o of await bucket.list(ARCHIVE_PREFIX)) {
    const p = parseArchive(o.key);
    if (p) out.push({ ...p, key: o.key, etag: o.etag, size: o.size });
  }
  return out.sort(versionOrder);
}

const MAX_ROUNDS = 10;

const fingerprint = (v: ArchivedVersion[]) => v.map((x) => `${x.key}@${x.etag}`).join('\n');

export async function transform(ctx: TransformContext): Promise<TransformResult> {
  const t0 = Date.now();
  const now = ctx.now ?? Date.now;
  const total: TransformResult = {
    rounds: 0,
    files: 0,
    items: 0,
    held: 0,
    expired: 0,
    puts: 0,
    deletes: 0,
    retries: 0,
    changedDates: [],
    categoryRows: 0,
    orderRows: 0,
    lakeFilesWritten: 0,
    lakeFilesDeleted: 0,
    ms: 0,
  };
  const changed = new Set<string>();
  let latest: OrderKpi | undefined;
  let revenueCents = 0;
  let snapshot = await listArchive(ctx.bucket);
  const failedOnce = new Set<string>();
  for (;;) {
    ctx.deadline.check();
    if (++total.rounds > MAX_ROUNDS + 2) throw new Error('transform: too many restarts');
    const sources: SourceFile[] = snapshot.map((v) => ({ entity: v.entity, name: v.key, size: v.size, open: () => ctx.bucket.read(v.key) }));
    let res: ComputeResult;
    try {
      res = await computeSources(sources, { unknownMode: 'hold' });
    } catch (err) {
      if (!(err instanceof SourceFailed) || isTransient(err.cause)) throw err;
      // The same archived file failing the same way twice is not S3 having a bad moment: it would
      // fail every later run too. Quarantine it (with a note and an alert) so everything else proceeds.
      const sig = `${err.source}\n${(err.cause as Error)?.message}`;
      if (failedOnce.has(sig)) await quarantine(ctx, err);
      failedOnce.add(sig);
      snapshot = await listArchive(ctx.bucket);
      continue;
    }
    ctx.deadline.check();
    const stats = await ctx.store.replaceAll(res);
    const lake = await writeLake(ctx.bucket, res.tables);
    total.lakeFilesWritten += lake.written;
    total.lakeFilesDeleted += lake.deleted;
    for (const d of stats.changedDates) changed.add(d);
    Object.assign(total, { files: snapshot.length, items: res.items, held: res.held.length, categoryRows: res.category_kpis.length, orderRows: res.order_kpis.length });
    latest = res.order_kpis.at(-1);
    revenueCents = res.order_kpis.reduce((c, o) => c + Math.round(o.total_revenue * 100), 0);
    total.puts += stats.puts;
    total.deletes += stats.deletes;
    total.retries += stats.retries;
    total.expired = await expireHeld(ctx, res.held, snapshot, now());
    await ctx.bucket.put(QUALITY_KEY, JSON.stringify(qualityOf(res, snapshot.length, now())), { contentType: 'application/json' });
    const after = await listArchive(ctx.bucket);
    if (fingerprint(after) === fingerprint(snapshot)) break;
    if (total.rounds >= MAX_ROUNDS) {
      // Uploads keep coming: each of them triggers its own run, which will finish the job.
      ctx.obs.log('transform_yield', { rounds: total.rounds, reason: 'archive/ keeps changing; later runs will converge' });
      break;
    }
    ctx.obs.log('transform_restart', { reason: 'archive/ changed during the run', files_before: snapshot.length, files_after: after.length });
    snapshot = after;
  }
  total.changedDates = [...changed].sort();
  total.ms = Date.now() - t0;
  for (const date of total.changedDates) ctx.obs.log('date_recomputed', { order_date: date });
  ctx.obs.log('transform_done', { ...total, changedDates: undefined, changed_dates: total.changedDates.length });
  ctx.obs.metrics(
    { Stage: 'transform' },
    { RowsHeld: total.held, RowsExpired: total.expired, DynamoRetries: total.retries, KpiRowsWritten: total.puts + total.deletes, TransformMs: total.ms },
    { TransformMs: 'Milliseconds' },
  );
  // The KPI trend for the dashboard: all-time revenue, and the newest order day's figures.
  if (latest) {
    ctx.obs.metrics(
      { Stage: 'transform' },
      { RevenueAllTime: revenueCents / 100, RevenueLatestDay: latest.total_revenue, OrdersLatestDay: latest.total_orders, ReturnRateLatestDay: latest.return_rate * 100 },
      { RevenueAllTime: 'None', RevenueLatestDay: 'None', ReturnRateLatestDay: 'Percent' },
    );
  }
  return total;
}

/** The data-quality summary of everything archived (state/quality.json, read by the dashboard). */
function qualityOf(res: ComputeResult, files: number, at: number): Quality {
  const rows = res.files.reduce((n, f) => n + f.rows, 0);
  const rejected = Object.values(res.rejected).reduce((n, x) => n + (x ?? 0), 0);
  return {
    updated_at: new Date(at).toISOString(),
    files,
    rows,
    accepted: rows - rejected - res.held.length,
    rejected_by_reason: Object.fromEntries(Object.entries(res.rejected).sort()) as Partial<Record<Reason, number>>,
    held: res.held.length,
    joined_items: res.items,
  };
}

/** Network and service faults (worth a retry), as opposed to a failure the same bytes will repeat. */
function isTransient(err: unknown): boolean {
  const e = err as { $metadata?: unknown; code?: string; name?: string; message?: string };
  if (e?.$metadata) return true;
  if (['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE'].includes(e?.code ?? '')) return true;
  return ['TimeoutError', 'AbortError'].includes(e?.name ?? '') || /aborted|socket hang up|short read/i.test(e?.message ?? '');
}

/** Moves an archived version that cannot be processed to err/files/quarantine/, with a note. */
async function quarantine(ctx: TransformContext, err: SourceFailed): Promise<void> {
  const dest = `${ERR_PREFIX}files/quarantine/${err.source}`;
  const note = `processing this archived file failed twice in the same way, so it was taken out of the KPIs: ${(err.cause as Error)?.stack ?? err.cause}\nTo retry it, copy it back to ${err.source}.`;
  await ctx.bucket.copy(err.source, dest);
  await ctx.bucket.put(`${dest}.note.txt`, note + '\n', { contentType: 'text/plain; charset=utf-8' });
  await ctx.bucket.delete(err.source);
  ctx.obs.error('file_quarantined', { source: err.source, to: dest, error: (err.cause as Error)?.message });
  await ctx.obs.alert(`KPI pipeline quarantined ${err.source}`, `${note}\nStored at ${dest}.`);
}

/**
 * Items still waiting for their order or product: reported to err/unmatched/ once their file is
 * older than the hold time (one object per source version, rewritten only when its content changes).
 * They are not dropped: if the order arrives even later, the next run counts the item.
 */
async function expireHeld(ctx: TransformContext, held: RejectedRow[], versions: ArchivedVersion[], now: number): Promise<number> {
  const byFile = new Map<string, RejectedRow[]>();
  for (const h of held) (byFile.get(h.file) ?? byFile.set(h.file, []).get(h.file)!).push(h);
  const byKey = new Map(versions.map((v) => [v.key, v]));
  let expired = 0;
  for (const [file, rows] of byFile) {
    const v = byKey.get(file);
    if (!v || now - v.millis < ctx.holdSeconds * 1000) continue;
    expired += rows.length;
    const key = unmatchedKey(v, v.millis);
    const body = rejectsToCsv(rows);
    const md5 = `"${createHash('md5').update(body).digest('hex')}"`;
    const cur = await ctx.bucket.head(key);
    if (cur?.etag === md5) continue;
    await ctx.bucket.put(key, body);
    ctx.obs.log('rows_expired', { source: file, to: key, rows: rows.length });
  }
  return expired;
}
