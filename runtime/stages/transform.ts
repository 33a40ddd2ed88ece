// The transform stage, incremental: newly archived files (their pending markers, written by
// validate) are applied to the state in batches, each batch one atomic commit.
//
// Protocol (README "State and commits"): a run takes the lease on the manifest (a DynamoDB item),
// reads the committed state, writes immutable objects (an index run, the changed days' lake files,
// a commit record of what is left to do), then commits with a conditional write on (lease holder,
// version). Only after the commit are KPI rows written, superseded lake files and markers deleted;
// the commit record lets the next run redo exactly that if this one dies. A batch already applied
// is recognised key by key (f|file records), so a redo never counts twice.
import { randomUUID, createHash } from 'node:crypto';
import { applyBatch, dayRecord, dayRecords, emptyState, heldRows, type Post, type StateBody } from './incremental';
import { parseArchive, unmatchedKey } from './layout';
import { bulkApply, BulkSuperseded } from './bulk';
import { partitionPrefix } from './lake';
import { listArchive, listPending, markAll, PENDING_PREFIX, pendingKey, takeBatch } from './pending';
import { SourceFailed } from '../core/compute';
import { collectGarbage, COMMITS_PREFIX, findGarbage } from './garbage';
import { byCategoryThenDate } from '../core/kpis';
import { inPool } from '../core/pool';
import { CURATED_PREFIX, ERR_PREFIX, LANDING_PREFIX, QUALITY_KEY } from '../core/names';
import type { Quality } from '../core/quality';
import { rejectsToCsv } from '../core/rejects';
import type { RejectedRow } from '../core/join';
import { prefix } from '../core/runfile';
import type { KpiTables, OrderKpi } from '../core/kpis';
import { INDEX_PREFIX, KeyIndex, mergePlan, mergeRuns, writeRun, writeRunFile } from '../aws/keyindex';
import { Coalesced, type StateStore } from '../aws/statestore';
import type { Bucket } from '../aws/s3store';
import type { KpiStore } from '../aws/kpistore';
import type { Observer } from '../aws/observe';
import type { Deadline } from '../aws/deadline';

export { COMMITS_PREFIX };
/** How often a transform looks for unreferenced objects (garbage.ts): a listing of three prefixes. */
export const GC_INTERVAL_MS = 15 * 60_000;

/** Archive bytes applied per commit: bounds a run's memory whatever the backlog. */
export const DEFAULT_BATCH_BYTES = 128 << 20;

/**
 * The bulk path (recompute from archive/) is taken when the pending bytes are at least this share
 * of the applied bytes: per row it is ~5-10x cheaper than key look-ups, so below it a batch costs
 * O(its rows) and above it O(history) ≤ 6x its bytes — either way a file's cost is bounded by its own size.
 */
export const DEFAULT_BULK_FACTOR = 0.2;
const MAX_BULK_RESTARTS = 8;

export interface TransformContext {
  bucket: Bucket;
  store: KpiStore;
  state: StateStore;
  obs: Observer;
  holdSeconds: number;
  deadline: Deadline;
  now?: () => number;
  batchBytes?: number;
  /** bulk path when pending bytes ≥ this × applied bytes (Infinity: always incremental) */
  bulkFactor?: number;
  /**
   * A run that finds the lease held by a live run asks that one to run once more and ends at once
   * (TransformResult.coalesced) instead of waiting: the per-upload hand-off tasks of AWS.
   */
  coalesce?: boolean;
  /** Test hooks: throwing stops the run there (a task killed at that point); awaited. */
  hooks?: { beforeCommit?: () => void | Promise<void>; afterCommit?: () => void | Promise<void>; beforeRelease?: () => void | Promise<void> };
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
  lakeFilesWritten: number;
  lakeFilesDeleted: number;
  lookups: number;
  blocksRead: number;
  merges: number;
  ms: number;
  /** ended at once: a live holder of the lease was asked to run again instead */
  coalesced: boolean;
  /** KPI row writes refused because a newer commit had written the row */
  fenced: number;
  /** unreferenced objects deleted (runs and lake files of killed runs) */
  garbage: number;
}

/**
 * What a commit left to do: the KPI rows of its days (all of them after a bulk commit), the other
 * lake files of those days, superseded objects, its markers. Safe to redo.
 */
async function finishPost(ctx: TransformContext, postKey: string, post: Post, version: number, total: TransformResult, body: StateBody, kpis?: KpiTables): Promise<void> {
  // A run paused past its lease (a long GC pause, a frozen task) must not write or delete anything
  // a later holder's commit now owns: the lease is renewed, and so checked, before each step.
  await ctx.state.assertHeld();
  // Rows are fenced by `version`, the manifest version of this commit (kpistore.ts).
  const stats = post.full ? await ctx.store.replaceAll(kpis ?? (await kpisFromDays(ctx.bucket, body)), version) : await ctx.store.writeDays(post.days, version);
  total.puts += stats.puts;
  total.deletes += stats.deletes;
  total.retries += stats.retries;
  total.fenced += stats.fenced;
  await ctx.state.assertHeld();
  // Exactly the keys the commit record names (a record of an older version names none: its day's
  // other files are listed now, still under the lease).
  const named = await Promise.all(post.days.map(async (d) => d.delete ?? (await ctx.bucket.list(partitionPrefix(d.date))).map((o) => o.key).filter((k) => k !== d.file)));
  const lake = named.flat();
  await deleteAll(ctx.bucket, lake);
  total.lakeFilesDeleted += lake.length;
  const garbage = post.garbage ?? [];
  await deleteAll(ctx.bucket, [...garbage, ...post.markers]);
  total.lakeFilesDeleted += garbage.filter((g) => g.startsWith(CURATED_PREFIX)).length;
  await ctx.bucket.delete(postKey);
}

/** Both KPI tables as the day records hold them (the redo of a bulk commit). */
async function kpisFromDays(bucket: Bucket, body: StateBody): Promise<KpiTables> {
  const out: KpiTables = { category_kpis: [], order_kpis: [] };
  for (const { rec } of await dayRecords(new KeyIndex(bucket, body.runs))) {
    out.order_kpis.push(rec.kpis.order);
    for (const c of rec.kpis.categories) out.category_kpis.push(c);
  }
  out.category_kpis.sort(byCategoryThenDate);
  return out;
}

/** Deletes keys 16 at a time. */
const deleteAll = (bucket: Bucket, keys: string[]) => inPool(keys, 16, (k) => bucket.delete(k));

async function putPost(ctx: TransformContext, version: number, post: Post): Promise<string> {
  const key = `${COMMITS_PREFIX}${String(version + 1).padStart(10, '0')}-${randomUUID()}.json`;
  await ctx.bucket.put(key, JSON.stringify(post), { contentType: 'application/json' });
  return key;
}

async function readPost(bucket: Bucket, key: string): Promise<Post | null> {
  const t = await bucket.readText(key);
  return t === null ? null : (JSON.parse(t) as Post);
}

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
    lakeFilesWritten: 0,
    lakeFilesDeleted: 0,
    lookups: 0,
    blocksRead: 0,
    merges: 0,
    ms: 0,
    coalesced: false,
    fenced: 0,
    garbage: 0,
  };
  const changed = new Set<string>();
  const failedOnce = new Set<string>();
  let restarts = 0;
  let latest: OrderKpi | undefined;
  let waited = false;
  let m: Awaited<ReturnType<typeof ctx.state.acquire<StateBody>>>;
  try {
    m = await ctx.state.acquire<StateBody>(
      () => {
        if (!waited) ctx.obs.log('transform_waiting', { reason: 'another transform holds the state lease' });
        waited = true;
      },
      { coalesce: ctx.coalesce },
    );
  } catch (err) {
    if (!(err instanceof Coalesced)) throw err;
    ctx.obs.log('transform_coalesced', { reason: 'a running transform holds the lease and will apply what is pending' });
    return { ...total, coalesced: true, ms: Date.now() - t0 };
  }
  let version = m.version;
  let body = m.body;
  let released = false;
  try {
    if (!body) {
      // No state yet: every archived file is to be applied (first run, or an archive from before the index).
      const n = await markAll(ctx.bucket);
      ctx.obs.log('state_initialised', { files_marked: n });
      body = emptyState();
      // The KPI rows are fenced by manifest versions: a new manifest (a state table recreated)
      // starts above every version already in the tables, or its writes would all be refused.
      version = await ctx.state.commit(version, body, await ctx.store.maxCommitVersion());
    }
    if (body.post) {
      // The last run committed and stopped before finishing: finish it (idempotent).
      const post = await readPost(ctx.bucket, body.post);
      if (post) await finishPost(ctx, body.post, post, version, total, body);
      for (const d of post?.days ?? []) changed.add(d.date);
      body = { ...body, post: null };
      version = await ctx.state.commit(version, body);
    }
    // One batch's commit: the commit record, the conditional write, then what it left to do.
    const commitBatch = async (next: Omit<StateBody, 'post'>, post: Post, changedDates: string[], kpis?: KpiTables) => {
      const postKey = await putPost(ctx, version, post);
      await ctx.hooks?.beforeCommit?.();
      body = { ...next, post: postKey };
      version = await ctx.state.commit(version, body);
      await ctx.hooks?.afterCommit?.();
      const t = performance.now();
      await finishPost(ctx, postKey, post, version, total, body, kpis);
      for (const d of changedDates) changed.add(d);
      body = { ...body, post: null };
      version = await ctx.state.commit(version, body);
      return Math.round(performance.now() - t);
    };
    const sizes = new Map<string, number>();
    // Until no rerun was asked for when letting go (another task's files may have become pending
    // after this run's last look): the loop below, the expiry check and the summary, again.
    for (; !released;) {
      for (;;) {
        ctx.deadline.check();
        ctx.state.check();
        const pending = await listPending(ctx.bucket, sizes);
        if (!pending.files.length) break;
        total.rounds++;
        const pendingBytes = pending.files.reduce((n, f) => n + f.size, 0);
        let tw = performance.now();
        if (pendingBytes >= (ctx.bulkFactor ?? DEFAULT_BULK_FACTOR) * body.bytes) {
          // Bulk: at least as much new as applied — recompute everything, one commit.
          const versions = await listArchive(ctx.bucket);
          // While a load is still arriving, a recompute that finds more files pending (validated
          // meanwhile) or more uploads waiting in the landing zone (the local dispatcher validates
          // them after this run) starts again with them — at most MAX_BULK_RESTARTS times a run, so
          // a steady stream cannot starve it. Objects stuck in the landing zone do not count: only growth.
          const landing = async () => (await ctx.bucket.list(LANDING_PREFIX)).length;
          const landingAtStart = restarts < MAX_BULK_RESTARTS ? await landing() : 0;
          const superseded =
            restarts < MAX_BULK_RESTARTS ? async () => (await ctx.bucket.list(PENDING_PREFIX)).length > pending.markers || (await landing()) > landingAtStart : undefined;
          let out: Awaited<ReturnType<typeof bulkApply>>;
          try {
            out = await bulkApply(ctx.bucket, versions, superseded);
          } catch (err) {
            if (!(err instanceof BulkSuperseded)) throw err;
            restarts++;
            ctx.obs.log('bulk_restarted', { reason: 'more files became pending', files: versions.length, ms: Math.round(performance.now() - tw) });
            continue;
          }
          const applyMs = Math.round(performance.now() - tw);
          tw = performance.now();
          total.lakeFilesWritten += out.lakeWritten;
          total.files += versions.length - body.files;
          ctx.deadline.check();
          const run = await writeRunFile(ctx.bucket, out.records);
          const post: Post = { days: [], markers: pending.files.map((f) => f.marker), full: true, garbage: [...out.garbage, ...body.runs.map((r) => INDEX_PREFIX + r.name)] };
          const commitMs = Math.round(performance.now() - tw);
          const postMs = await commitBatch({ ...out.body, runs: [run] }, post, out.changedDates, out.res);
          ctx.obs.log('bulk_applied', {
            files: versions.length,
            pending: pending.files.length,
            bytes: pendingBytes,
            records: run.records,
            changed_dates: out.changedDates.length,
            ms: { ...out.times, apply: applyMs, commit: commitMs, post: postMs },
          });
          continue;
        }
        const batch = takeBatch(pending.files, ctx.batchBytes ?? DEFAULT_BATCH_BYTES);
        const ix = new KeyIndex(ctx.bucket, body.runs);
        let out: Awaited<ReturnType<typeof applyBatch>>;
        try {
          out = await applyBatch(ctx.bucket, ix, body, batch);
        } catch (err) {
          if (!(err instanceof SourceFailed) || isTransient(err.cause)) throw err;
          // The same archived file failing the same way twice is not S3 having a bad moment: it would
          // fail every later run too. Quarantine it (with a note and an alert) so everything else proceeds.
          const sig = `${err.source}\n${(err.cause as Error)?.message}`;
          if (failedOnce.has(sig)) await quarantine(ctx, err);
          failedOnce.add(sig);
          continue;
        }
        total.lookups += out.lookups;
        total.blocksRead += ix.blocksRead;
        total.lakeFilesWritten += out.lakeWritten;
        total.files += batch.length - out.skippedFiles;
        ctx.deadline.check();
        tw = performance.now();
        const run = out.recs.length ? await writeRun(ctx.bucket, out.recs) : null;
        out.post.markers = batch.map((f) => f.marker);
        out.times.commit = Math.round(performance.now() - tw);
        out.times.post = await commitBatch({ ...out.body, runs: run ? [run, ...body.runs] : body.runs }, out.post, out.changedDates);
        ctx.obs.log('batch_applied', {
          files: batch.length,
          bytes: batch.reduce((n, f) => n + f.size, 0),
          left: pending.files.length - batch.length,
          records: out.recs.length,
          changed_dates: out.changedDates.length,
          lookups: out.lookups,
          blocks_read: ix.blocksRead,
          ms: out.times,
        });
        // Keep the index a few runs: merge the newest while they are comparable in size.
        const k = mergePlan(body.runs);
        if (k) {
          const merged = await mergeRuns(ctx.bucket, body.runs.slice(0, k), k === body.runs.length);
          const old = body.runs.slice(0, k);
          body = { ...body, runs: [merged, ...body.runs.slice(k)] };
          version = await ctx.state.commit(version, body);
          await deleteAll(
            ctx.bucket,
            old.map((r) => INDEX_PREFIX + r.name),
          );
          total.merges++;
        }
      }
      // Held items are checked against the hold time at most every 15 minutes (as often as the
      // schedule runs, or the hold time if shorter): the scan costs O(held), not worth every file.
      const interval = Math.min(15 * 60_000, ctx.holdSeconds * 1000);
      if (body.held > 0 && now() - (body.expiredAt ?? 0) >= interval) {
        total.expired = await expireHeld(ctx, new KeyIndex(ctx.bucket, body.runs), now());
        body = { ...body, expiredAt: now() };
        version = await ctx.state.commit(version, body);
      }
      if (now() - (body.collectedAt ?? 0) >= GC_INTERVAL_MS) {
        // Older than two leases: no run that could still commit wrote them.
        const keys = await findGarbage(ctx.bucket, body, now(), 2 * ctx.state.leaseMs);
        await ctx.state.assertHeld();
        await collectGarbage(ctx.bucket, keys);
        total.garbage += keys.length;
        if (keys.length) ctx.obs.log('garbage_collected', { objects: keys.length, first: keys[0] });
        body = { ...body, collectedAt: now() };
        version = await ctx.state.commit(version, body);
      }
      await ctx.bucket.put(QUALITY_KEY, JSON.stringify(qualityOf(body, now())), { contentType: 'application/json' });
      if (body.latestDate) {
        latest = (await dayRecord(new KeyIndex(ctx.bucket, body.runs), body.latestDate))?.kpis.order;
      }
      await ctx.hooks?.beforeRelease?.();
      released = await ctx.state.releaseUnlessRerun();
      if (!released) ctx.obs.log('transform_rerun', { reason: 'another transform asked for one more look at the pending files' });
    }
  } finally {
    // Not after releaseUnlessRerun let go: the store's next run (same owner id) may hold it by now.
    if (!released) await ctx.state.release();
  }
  total.items = body.joined;
  total.held = body.held;
  total.changedDates = [...changed].sort();
  total.ms = Date.now() - t0;
  for (const date of total.changedDates) ctx.obs.log('date_recomputed', { order_date: date });
  ctx.obs.log('transform_done', { ...total, changedDates: undefined, changed_dates: total.changedDates.length });
  ctx.obs.metrics(
    { Stage: 'transform' },
    {
      RowsHeld: total.held,
      RowsExpired: total.expired,
      DynamoRetries: total.retries,
      KpiRowsWritten: total.puts + total.deletes,
      TransformMs: total.ms,
      DaysRecomputed: total.changedDates.length,
    },
    { TransformMs: 'Milliseconds' },
  );
  // The KPI trend for the dashboard: all-time revenue, and the newest order day's figures.
  if (latest) {
    ctx.obs.metrics(
      { Stage: 'transform' },
      { RevenueAllTime: body.revenueCents / 100, RevenueLatestDay: latest.total_revenue, OrdersLatestDay: latest.total_orders, ReturnRateLatestDay: latest.return_rate * 100 },
      { RevenueAllTime: 'None', RevenueLatestDay: 'None', ReturnRateLatestDay: 'Percent' },
    );
  }
  return total;
}

/** The data-quality summary of everything applied (state/quality.json, read by the dashboard). */
function qualityOf(body: StateBody, at: number): Quality {
  const rejected = Object.values(body.rejected).reduce((n, x) => n + (x ?? 0), 0);
  return {
    updated_at: new Date(at).toISOString(),
    files: body.files,
    rows: body.rows,
    accepted: body.rows - rejected - body.held,
    rejected_by_reason: Object.fromEntries(Object.entries(body.rejected).sort()) as Quality['rejected_by_reason'],
    held: body.held,
    joined_items: body.joined,
  };
}

/**
 * Items still waiting for their order or product: reported to err/unmatched/ once their file is
 * older than the hold time (one object per source version, rewritten only when its content changes).
 * They are not dropped: if the order arrives even later, that run counts the item.
 */
async function expireHeld(ctx: TransformContext, ix: KeyIndex, now: number): Promise<number> {
  const byFile = new Map<string, RejectedRow[]>();
  for (const h of heldRows(await ix.scan(prefix('hq')))) (byFile.get(h.file) ?? byFile.set(h.file, []).get(h.file)!).push(h);
  let expired = 0;
  for (const [file, rows] of byFile) {
    const v = parseArchive(file);
    if (!v || now - v.millis < ctx.holdSeconds * 1000) continue;
    rows.sort((a, b) => a.line - b.line);
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

/**
 * kpi rebuild: the state, the lake and the tables recomputed from archive/ (recovery, format
 * changes) beside the current ones. Every archived file is marked pending, then the bulk path
 * recomputes them all into a new index run and lake files and switches to them with one manifest
 * commit: readers see the old figures until the commit and the new ones after it, never an empty
 * table or lake; the old objects are deleted after the switch. Killed before the commit, the marks
 * are still there and the next transform (pending ≥ 20% of applied: the bulk path) does the same.
 */
export async function rebuild(ctx: TransformContext): Promise<TransformResult> {
  const marked = await markAll(ctx.bucket);
  ctx.obs.log('rebuild_marked', { files_marked: marked });
  const r = await transform({ ...ctx, bulkFactor: 0 });
  // files: every archived file was recomputed (the bulk path counts only those new to the state)
  return { ...r, files: (await listArchive(ctx.bucket)).length };
}

/** Local stack: a recreated KPI table refilled from the day records (no recompute). */
export async function republish(ctx: TransformContext): Promise<number> {
  const m = await ctx.state.acquire<StateBody>();
  try {
    if (!m.body) return 0;
    const days = (await dayRecords(new KeyIndex(ctx.bucket, m.body.runs))).map(({ date, rec }) => ({ date, file: rec.file, kpis: rec.kpis, hadCategories: [] }));
    await ctx.store.writeDays(days, m.version);
    return days.length;
  } finally {
    await ctx.state.release();
  }
}

/** Network and service faults (worth a retry), as opposed to a failure the same bytes will repeat. */
function isTransient(err: unknown): boolean {
  const e = err as { $metadata?: unknown; code?: string; name?: string; message?: string };
  if (e?.$metadata) return true;
  if (['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE'].includes(e?.code ?? '')) return true;
  return ['TimeoutError', 'AbortError'].includes(e?.name ?? '') || /aborted|socket hang up|short read/i.test(e?.message ?? '');
}

async function quarantine(ctx: TransformContext, err: SourceFailed): Promise<void> {
  await ctx.bucket.delete(pendingKey(err.source));
  const dest = `${ERR_PREFIX}files/quarantine/${err.source}`;
  const note = `processing this archived file failed twice in the same way, so it was taken out of the KPIs: ${(err.cause as Error)?.stack ?? err.cause}\nTo retry it, copy it back to ${err.source}.`;
  await ctx.bucket.copy(err.source, dest);
  await ctx.bucket.put(`${dest}.note.txt`, note + '\n', { contentType: 'text/plain; charset=utf-8' });
  await ctx.bucket.delete(err.source);
  ctx.obs.error('file_quarantined', { source: err.source, to: dest, error: (err.cause as Error)?.message });
  await ctx.obs.alert(`KPI pipeline quarantined ${err.source}`, `${note}\nStored at ${dest}.`);
}
