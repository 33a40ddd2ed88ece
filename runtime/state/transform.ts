// The transform stage, incremental: newly archived files (their pending markers, written by
// validate) are applied to the state in batches, each batch one atomic commit.
//
// Protocol (docs/state-and-commits.md, and this folder's README.md): a run takes the lease on the
// manifest (a DynamoDB item), reads the committed state, writes immutable objects (an index run,
// the changed days' lake files, a commit record of what is left to do), then commits with a
// conditional write on (lease holder, version). Only after the commit are the KPI rows written
// (fenced) and the named lake files and markers deleted (under the lease); the commit record lets
// the next run redo exactly that if this one dies. A batch already applied is recognised key by key
// (f|file records), so a redo never counts twice.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import v8 from 'node:v8';
import { applyBatch, dayRecord, dayRecords, emptyState, type Post, type StateBody } from './incremental';
import { expireHeld } from './expire';
import { bulkOnEngine, BulkSuperseded, type BulkOutcome } from './bulk';
import { bulkInMemory } from './bulk-memory';
import { defaultEngineOptions, type EngineOptions } from '../history/duckdb';
import type { ArchivedVersion } from '../core/layout';
import { otherDayFiles } from './lake';
import { listArchive, listPending, markAll, PENDING_PREFIX, pendingKey, takeBatch } from './pending';
import { SourceFailed } from '../core/compute';
import { collectGarbage, COMMITS_PREFIX, findGarbage } from './garbage';
import { byCategoryThenDate } from '../core/aggregate/kpis';
import { inPool } from '../core/pool';
import { CURATED_PREFIX, ERR_PREFIX, LANDING_PREFIX, QUALITY_KEY } from '../core/names';
import type { Quality } from '../core/aggregate/quality';
import type { KpiTables, OrderKpi } from '../core/aggregate/kpis';
import { INDEX_PREFIX, KeyIndex, mergePlan, mergeRuns, writeRun, writeRunFile } from './keyindex';
import { Coalesced, type StateStore } from './statestore';
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
  /** kpi rebuild: every lake file is put again, even one whose name is current (its bytes may not be) */
  rewriteLake?: boolean;
  /** the bulk path's engine (KPI_HISTORY_ENGINE) and the history engine's limits */
  historyEngine?: HistoryEngineChoice;
  engineOptions?: EngineOptions;
  /**
   * A run that finds the lease held by a live run asks that one to run once more and ends at once
   * (TransformResult.coalesced) instead of waiting: the per-upload hand-off tasks of AWS.
   */
  coalesce?: boolean;
  /** Test hooks: throwing stops the run there (a task killed at that point); awaited. */
  hooks?: {
    beforeCommit?: () => void | Promise<void>;
    afterCommit?: () => void | Promise<void>;
    beforeRelease?: () => void | Promise<void>;
  };
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
async function finishPost(
  ctx: TransformContext,
  postKey: string,
  post: Post,
  version: number,
  total: TransformResult,
  body: StateBody,
  kpis?: KpiTables,
): Promise<void> {
  // A run paused past its lease (a long GC pause, a frozen task) must not write or delete anything
  // a later holder's commit now owns: the lease is renewed, and so checked, before each step.
  await ctx.state.assertHeld();
  // Rows are fenced by `version`, the manifest version of this commit (kpistore.ts).
  const stats = post.full
    ? await ctx.store.replaceAll(kpis ?? (await kpisFromDays(ctx.bucket, body)), version)
    : await ctx.store.writeDays(post.days, version);
  total.puts += stats.puts;
  total.deletes += stats.deletes;
  total.retries += stats.retries;
  total.fenced += stats.fenced;
  await ctx.state.assertHeld();
  // Exactly the keys the commit record names (a record of an older version names none: its day's
  // other files are listed now, still under the lease).
  const named = await Promise.all(
    post.days.map(async (d) => d.delete ?? (await otherDayFiles(ctx.bucket, d.date, d.file))),
  );
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

const emptyResult = (): TransformResult => ({
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
});

/**
 * One transform run, as named steps: open the state (lease, first state, a redo), then rounds of
 * pending files (bulk or incremental, each one commit), merges, held-item expiry, garbage, the
 * quality summary, and letting go — again if another run asked for a rerun meanwhile.
 */
class TransformRun {
  readonly total = emptyResult();
  readonly changed = new Set<string>();
  private readonly failedOnce = new Set<string>();
  private readonly sizes = new Map<string, number>();
  private restarts = 0;
  private version = 0;
  body: StateBody = emptyState();
  latest: OrderKpi | undefined;
  private readonly now: () => number;

  constructor(private readonly ctx: TransformContext) {
    this.now = ctx.now ?? Date.now;
  }

  private found: StateBody | null = null;

  /** Takes the lease and reads the committed state; false when coalesced into a live holder's run. */
  async open(): Promise<boolean> {
    const ctx = this.ctx;
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
      ctx.obs.log('transform_coalesced', {
        reason: 'a running transform holds the lease and will apply what is pending',
      });
      return false;
    }
    this.version = m.version;
    this.found = m.body;
    return true;
  }

  /** The committed state made ready: created if there is none, the last commit's work finished. */
  async prepare(): Promise<void> {
    if (this.found) this.body = this.found;
    else await this.initialise();
    if (this.body.post) await this.redo(this.body.post);
  }

  /** No state yet: every archived file is to be applied (first run, or an archive from before the index). */
  private async initialise(): Promise<void> {
    const { marked } = await markAll(this.ctx.bucket);
    this.ctx.obs.log('state_initialised', { files_marked: marked });
    this.body = emptyState();
    // The KPI rows are fenced by manifest versions: a new manifest (a state table recreated)
    // starts above every version already in the tables, or its writes would all be refused.
    this.version = await this.ctx.state.commit(this.version, this.body, await this.ctx.store.maxCommitVersion());
  }

  /** The last run committed and stopped before finishing: finish it (idempotent). */
  private async redo(postKey: string): Promise<void> {
    const post = await readPost(this.ctx.bucket, postKey);
    if (post) await finishPost(this.ctx, postKey, post, this.version, this.total, this.body);
    for (const d of post?.days ?? []) this.changed.add(d.date);
    await this.commit({ ...this.body, post: null });
  }

  private async commit(body: StateBody): Promise<void> {
    this.body = body;
    this.version = await this.ctx.state.commit(this.version, body);
  }

  /** One batch's commit: the commit record, the conditional write, then what it left to do (ms). */
  private async commitBatch(
    next: Omit<StateBody, 'post'>,
    post: Post,
    changedDates: string[],
    kpis?: KpiTables,
  ): Promise<number> {
    const ctx = this.ctx;
    const postKey = await putPost(ctx, this.version, post);
    await ctx.hooks?.beforeCommit?.();
    await this.commit({ ...next, post: postKey });
    await ctx.hooks?.afterCommit?.();
    const t = performance.now();
    await finishPost(ctx, postKey, post, this.version, this.total, this.body, kpis);
    for (const d of changedDates) this.changed.add(d);
    await this.commit({ ...this.body, post: null });
    return Math.round(performance.now() - t);
  }

  /** Rounds until nothing is pending: each applies a batch (or everything, in bulk) in one commit. */
  async applyPending(): Promise<void> {
    const ctx = this.ctx;
    for (;;) {
      ctx.deadline.check();
      ctx.state.check();
      const pending = await listPending(ctx.bucket, this.sizes);
      if (!pending.files.length) return;
      this.total.rounds++;
      const pendingBytes = pending.files.reduce((n, f) => n + f.size, 0);
      if (pendingBytes >= (ctx.bulkFactor ?? DEFAULT_BULK_FACTOR) * this.body.bytes)
        await this.bulkRound(pending, pendingBytes);
      else if (await this.incrementalRound(pending)) await this.mergeIfDue();
    }
  }

  /** Bulk: at least as much new as applied — recompute everything, one commit. */
  private async bulkRound(pending: Awaited<ReturnType<typeof listPending>>, pendingBytes: number): Promise<void> {
    const ctx = this.ctx;
    let tw = performance.now();
    const versions = await listArchive(ctx.bucket);
    // While a load is still arriving, a recompute that finds more files pending (validated
    // meanwhile) or more uploads waiting in the landing zone (the local dispatcher validates them
    // after this run) starts again with them — at most MAX_BULK_RESTARTS times a run, so a steady
    // stream cannot starve it. Objects stuck in the landing zone do not count: only growth.
    const landing = async () => (await ctx.bucket.list(LANDING_PREFIX)).length;
    const canRestart = this.restarts < MAX_BULK_RESTARTS;
    const landingAtStart = canRestart ? await landing() : 0;
    const superseded = canRestart
      ? async () =>
          (await ctx.bucket.list(PENDING_PREFIX)).length > pending.markers || (await landing()) > landingAtStart
      : undefined;
    const { engine, estimate } = chooseEngine(ctx.historyEngine ?? 'auto', sumSizes(versions));
    ctx.obs.log('bulk_engine', {
      engine,
      chosen_by: ctx.historyEngine ?? 'auto',
      memory_path_estimate_mib: mib(estimate),
    });
    let out: Awaited<ReturnType<typeof bulkApply>>;
    try {
      out = await bulkApply(ctx.bucket, versions, superseded, ctx.rewriteLake, engine, ctx.engineOptions);
    } catch (err) {
      if (!(err instanceof BulkSuperseded)) throw err;
      this.restarts++;
      ctx.obs.log('bulk_restarted', {
        reason: 'more files became pending',
        files: versions.length,
        ms: Math.round(performance.now() - tw),
      });
      return;
    }
    const applyMs = Math.round(performance.now() - tw);
    tw = performance.now();
    this.total.lakeFilesWritten += out.lakeWritten;
    this.total.files += versions.length - this.body.files;
    ctx.deadline.check();
    let run: Awaited<ReturnType<typeof writeRunFile>>;
    try {
      run = await writeRunFile(ctx.bucket, out.records, out.expectedKeys);
    } finally {
      out.close();
    }
    const garbage = [...out.garbage, ...this.body.runs.map((r) => INDEX_PREFIX + r.name)];
    const post: Post = { days: [], markers: pending.files.map((f) => f.marker), full: true, garbage };
    const commitMs = Math.round(performance.now() - tw);
    const postMs = await this.commitBatch({ ...out.body, runs: [run] }, post, out.changedDates, out.res);
    ctx.obs.log('bulk_applied', {
      files: versions.length,
      pending: pending.files.length,
      bytes: pendingBytes,
      records: run.records,
      changed_dates: out.changedDates.length,
      ms: { ...out.times, apply: applyMs, commit: commitMs, post: postMs },
    });
  }

  /** Incremental: a batch of pending files by key look-ups. False when a file was set aside. */
  private async incrementalRound(pending: Awaited<ReturnType<typeof listPending>>): Promise<boolean> {
    const ctx = this.ctx;
    const batch = takeBatch(pending.files, ctx.batchBytes ?? DEFAULT_BATCH_BYTES);
    const ix = new KeyIndex(ctx.bucket, this.body.runs);
    let out: Awaited<ReturnType<typeof applyBatch>>;
    try {
      out = await applyBatch(ctx.bucket, ix, this.body, batch);
    } catch (err) {
      if (!(err instanceof SourceFailed) || isTransient(err.cause)) throw err;
      // The same archived file failing the same way twice is not S3 having a bad moment: it would
      // fail every later run too. Quarantine it (with a note and an alert) so everything else proceeds.
      const sig = `${err.source}\n${(err.cause as Error)?.message}`;
      if (this.failedOnce.has(sig)) await quarantine(ctx, err);
      this.failedOnce.add(sig);
      return false;
    }
    this.total.lookups += out.lookups;
    this.total.blocksRead += ix.blocksRead;
    this.total.lakeFilesWritten += out.lakeWritten;
    this.total.files += batch.length - out.skippedFiles;
    ctx.deadline.check();
    const tw = performance.now();
    const run = out.recs.length ? await writeRun(ctx.bucket, out.recs) : null;
    out.post.markers = batch.map((f) => f.marker);
    out.times.commit = Math.round(performance.now() - tw);
    out.times.post = await this.commitBatch(
      { ...out.body, runs: run ? [run, ...this.body.runs] : this.body.runs },
      out.post,
      out.changedDates,
    );
    ctx.obs.log('batch_applied', {
      files: batch.length,
      bytes: batch.reduce((n, f) => n + f.size, 0),
      left: pending.files.length - batch.length,
      records: out.recs.length,
      changed_dates: out.changedDates.length,
      lookups: out.lookups,
      blocks_read: ix.blocksRead,
      bloom_skips: ix.bloomSkips,
      ms: out.times,
    });
    return true;
  }

  /** Keeps the index a few runs: merges the newest while they are comparable in size. */
  private async mergeIfDue(): Promise<void> {
    const runs = this.body.runs;
    const k = mergePlan(runs);
    if (!k) return;
    const merged = await mergeRuns(this.ctx.bucket, runs.slice(0, k), k === runs.length);
    await this.commit({ ...this.body, runs: [merged, ...runs.slice(k)] });
    await deleteAll(
      this.ctx.bucket,
      runs.slice(0, k).map((r) => INDEX_PREFIX + r.name),
    );
    this.total.merges++;
  }

  /**
   * Held items are checked against the hold time at most every 15 minutes (as often as the
   * schedule runs, or the hold time if shorter): the scan costs O(held), not worth every file.
   */
  async expireIfDue(): Promise<void> {
    const interval = Math.min(15 * 60_000, this.ctx.holdSeconds * 1000);
    if (this.body.held <= 0 || this.now() - (this.body.expiredAt ?? 0) < interval) return;
    this.total.expired = await expireHeld(this.ctx, new KeyIndex(this.ctx.bucket, this.body.runs), this.now());
    await this.commit({ ...this.body, expiredAt: this.now() });
  }

  /** Unreferenced objects older than two leases: no run that could still commit wrote them. */
  async collectIfDue(): Promise<void> {
    const ctx = this.ctx;
    if (this.now() - (this.body.collectedAt ?? 0) < GC_INTERVAL_MS) return;
    const keys = await findGarbage(ctx.bucket, this.body, this.now(), 2 * ctx.state.leaseMs);
    await ctx.state.assertHeld();
    await collectGarbage(ctx.bucket, keys);
    this.total.garbage += keys.length;
    if (keys.length) ctx.obs.log('garbage_collected', { objects: keys.length, first: keys[0] });
    await this.commit({ ...this.body, collectedAt: this.now() });
  }

  /** state/quality.json, and the newest day's figures for the metrics. */
  async summarise(): Promise<void> {
    await this.ctx.bucket.put(QUALITY_KEY, JSON.stringify(qualityOf(this.body, this.now())), {
      contentType: 'application/json',
    });
    if (this.body.latestDate)
      this.latest = (await dayRecord(new KeyIndex(this.ctx.bucket, this.body.runs), this.body.latestDate))?.kpis.order;
  }

  /** Logs and metrics of the run. */
  report(t0: number): TransformResult {
    const { total, ctx, body, latest } = this;
    total.items = body.joined;
    total.held = body.held;
    total.changedDates = [...this.changed].sort();
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
        {
          RevenueAllTime: body.revenueCents / 100,
          RevenueLatestDay: latest.total_revenue,
          OrdersLatestDay: latest.total_orders,
          ReturnRateLatestDay: latest.return_rate * 100,
        },
        { RevenueAllTime: 'None', RevenueLatestDay: 'None', ReturnRateLatestDay: 'Percent' },
      );
    }
    return total;
  }
}

export async function transform(ctx: TransformContext): Promise<TransformResult> {
  const t0 = Date.now();
  const run = new TransformRun(ctx);
  if (!(await run.open())) return { ...run.total, coalesced: true, ms: Date.now() - t0 };
  let released = false;
  try {
    await run.prepare();
    // Until no rerun was asked for when letting go (another task's files may have become pending
    // after this run's last look): the rounds, the expiry check and the summary, again.
    while (!released) {
      await run.applyPending();
      await run.expireIfDue();
      await run.collectIfDue();
      await run.summarise();
      await ctx.hooks?.beforeRelease?.();
      released = await ctx.state.releaseUnlessRerun();
      if (!released)
        ctx.obs.log('transform_rerun', { reason: 'another transform asked for one more look at the pending files' });
    }
  } finally {
    // Not after releaseUnlessRerun let go: the store's next run (same owner id) may hold it by now.
    if (!released) await ctx.state.release();
  }
  return run.report(t0);
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

export type BulkEngine = 'memory' | 'duckdb';
export type HistoryEngineChoice = 'auto' | BulkEngine;

const sumSizes = (versions: readonly ArchivedVersion[]) => versions.reduce((n, v) => n + v.size, 0);
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * Peak RSS of the in-memory bulk path per byte of archived CSV: 884 MiB for 823 MB at 5M items
 * (docs/performance.md), rounded up.
 */
export const MEMORY_PATH_BYTES_PER_CSV_BYTE = 1.2;

/** The memory this process may use: its cgroup's limit (a container, a Fargate task) or the machine's. */
export function availableMemory(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  return limit > 0 && limit < os.totalmem() ? limit : os.totalmem();
}

/**
 * auto: the in-memory path while its estimated peak (the archive's size × 1.2) fits in half the
 * memory available and in three quarters of V8's heap limit (the deployed transform caps its heap
 * at a quarter of the task: names.ts memorySplit), else the history engine, which spills to disk
 * instead. The in-memory path is faster (5M items: a first load of 49 s against 107 s).
 */
export function chooseEngine(
  choice: HistoryEngineChoice,
  archiveBytes: number,
  memory = availableMemory(),
  heapLimit = v8.getHeapStatistics().heap_size_limit,
): { engine: BulkEngine; estimate: number } {
  const estimate = Math.round(archiveBytes * MEMORY_PATH_BYTES_PER_CSV_BYTE);
  if (choice !== 'auto') return { engine: choice, estimate };
  return { engine: estimate <= Math.min(memory / 2, heapLimit * 0.75) ? 'memory' : 'duckdb', estimate };
}

/**
 * The bulk path: in memory, or on the history engine (KPI_HISTORY_ENGINE, by default chosen by
 * the history's size: chooseEngine). Both write the same state byte for byte.
 */
export async function bulkApply(
  bucket: Bucket,
  versions: ArchivedVersion[],
  superseded?: () => Promise<boolean>,
  rewriteLake = false,
  engine: BulkEngine = 'memory',
  engineOpts: EngineOptions = defaultEngineOptions(),
): Promise<BulkOutcome> {
  if (engine === 'memory') return bulkInMemory(bucket, versions, superseded, rewriteLake);
  return bulkOnEngine(bucket, versions, superseded, rewriteLake, engineOpts);
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
  const { marked, archived } = await markAll(ctx.bucket);
  ctx.obs.log('rebuild_marked', { files_marked: marked });
  const r = await transform({ ...ctx, bulkFactor: 0, rewriteLake: true });
  // files: every archived file was recomputed (the bulk path counts only those new to the state)
  return { ...r, files: archived };
}

/** Local stack: a recreated KPI table refilled from the day records (no recompute). */
export async function republish(ctx: TransformContext): Promise<number> {
  const m = await ctx.state.acquire<StateBody>();
  try {
    if (!m.body) return 0;
    const days = (await dayRecords(new KeyIndex(ctx.bucket, m.body.runs))).map(({ date, rec }) => ({
      date,
      file: rec.file,
      kpis: rec.kpis,
      hadCategories: [],
    }));
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
  if (
    ['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE'].includes(
      e?.code ?? '',
    )
  )
    return true;
  return (
    ['TimeoutError', 'AbortError'].includes(e?.name ?? '') ||
    /aborted|socket hang up|short read/i.test(e?.message ?? '')
  );
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
