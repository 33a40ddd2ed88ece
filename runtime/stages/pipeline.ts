// The event-driven pipeline: validate objects, then transform; used by `kpi run` (one event per
// container) and by the local dispatcher (runtime/local/dispatcher.ts).
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { makeClients, type Clients } from '../aws/clients';
import type { Config } from '../aws/config';
import { Deadline } from '../aws/deadline';
import { KpiStore, type KpiStoreOptions } from '../aws/kpistore';
import { EVENT_SOURCE, EVENT_VALIDATED, LANDING_PREFIX } from '../core/names';
import { Observer } from '../aws/observe';
import { Bucket } from '../aws/s3store';
import { rebuild, republish, transform, type TransformContext, type TransformResult } from '../state/transform';
import { StateStore, type StateStoreOptions } from '../state/statestore';
import { restoreValidated, validateObject, type ValidateResult } from './validate';
import { ValidatedObjectError } from '../core/formats/validated';
import { listArchive } from '../state/pending';
import { defaultEngineOptions } from '../history/duckdb';

export interface PipelineOptions {
  clients?: Clients;
  obs?: Observer;
  store?: KpiStoreOptions;
  /** objects validated at once */
  concurrency?: number;
  state?: StateStoreOptions;
  /** archive bytes applied per commit */
  batchBytes?: number;
  /** bulk path when pending bytes ≥ this × applied bytes (default 0.2; Infinity: always incremental) */
  bulkFactor?: number;
  hooks?: TransformContext['hooks'];
}

export interface BatchResult {
  validated: ValidateResult[];
  transform: TransformResult;
}

export class Pipeline {
  readonly bucket: Bucket;
  readonly store: KpiStore;
  readonly state: StateStore;
  readonly obs: Observer;
  readonly clients: Clients;

  constructor(
    readonly cfg: Config,
    private readonly opts: PipelineOptions = {},
  ) {
    this.clients = opts.clients ?? makeClients(cfg);
    this.bucket = new Bucket(this.clients.s3, cfg.bucket);
    this.store = new KpiStore(this.clients.ddb, cfg.categoryTable, cfg.orderTable, opts.store);
    this.state = new StateStore(this.clients.ddb, cfg.stateTable, opts.state);
    this.obs = opts.obs ?? new Observer(cfg);
    this.obs.sns ??= this.clients.sns;
  }

  /** versions: the version id of a key when the event named one (a versioned bucket). */
  async validate(
    keys: string[],
    deadline = Deadline.none(),
    versions: ReadonlyMap<string, string> = new Map(),
  ): Promise<ValidateResult[]> {
    const out: ValidateResult[] = [];
    const queue = [...keys].sort();
    const worker = async () => {
      for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
        deadline.check();
        try {
          out.push(
            await validateObject(
              { bucket: this.bucket, obs: this.obs, rejectAlertShare: this.cfg.rejectAlertShare },
              k,
              versions.get(k),
            ),
          );
        } catch (err) {
          // One object that cannot be processed now must not hold up the others: it stays in the
          // landing zone and is retried by the next run (or EventBridge's retry of this task).
          this.obs.error('file_failed', { key: k, error: (err as Error).message });
          out.push({
            key: k,
            status: 'failed',
            note: (err as Error).message,
            rows: 0,
            accepted: 0,
            rejected: 0,
            rejectedByReason: {},
            ms: 0,
          });
        }
      }
    };
    await Promise.all(Array.from({ length: this.opts.concurrency ?? 4 }, worker));
    return out;
  }

  /** Local stack only: the tables exist (recreated if someone deleted one). */
  async ensureTables(): Promise<void> {
    if (!this.cfg.endpoint) return;
    const created = await KpiStore.ensureTables(this.clients.raw, this.cfg.categoryTable, this.cfg.orderTable);
    if (await StateStore.ensureTable(this.clients.raw, this.cfg.stateTable)) created.push(this.cfg.stateTable);
    for (const table of created) {
      this.obs.error('table_recreated', { table });
      await this.obs.alert(
        `KPI pipeline: DynamoDB table '${table}' was missing`,
        `The table '${table}' did not exist; it was created empty and is being refilled from the pipeline's state.`,
      );
    }
    // A KPI table recreated empty: its rows come back from the day records; the state table
    // recreated empty: the next transform re-applies every archived file.
    if (created.some((t) => t !== this.cfg.stateTable)) await republish(this.transformContext());
  }

  transformContext(deadline = Deadline.none()): TransformContext {
    return {
      bucket: this.bucket,
      store: this.store,
      state: this.state,
      obs: this.obs,
      holdSeconds: this.cfg.holdSeconds,
      deadline,
      batchBytes: this.opts.batchBytes,
      bulkFactor: this.opts.bulkFactor,
      hooks: this.opts.hooks,
      historyEngine: this.cfg.historyEngine === 'athena' ? 'auto' : this.cfg.historyEngine,
      engineOptions: defaultEngineOptions(this.cfg.historyMemoryMiB),
    };
  }

  /** coalesce: end at once when a live run holds the lease, asking it to look again (TransformContext.coalesce). */
  async transform(deadline = Deadline.none(), opts: { coalesce?: boolean } = {}): Promise<TransformResult> {
    const run = () => transform({ ...this.transformContext(deadline), coalesce: opts.coalesce });
    try {
      return await run();
    } catch (err) {
      // A bulk run on the history engine checks every validated object before any SQL runs, so
      // nothing was written. archive/ is the source of truth: write the zone again, try once more.
      if (!(err instanceof ValidatedObjectError)) throw err;
      this.obs.error('validated_object_unreadable', { key: err.key, problem: err.problem });
      const written = await restoreValidated(this.bucket, await listArchive(this.bucket));
      const shown = written.slice(0, 20).join('\n');
      await this.obs.alert(
        'KPI pipeline: a validated-zone object was unreadable',
        `${err.message}\nThe bulk run stopped before writing anything. Written again from archive/ ` +
          `(${written.length}), and the run retried:\n${shown}${written.length > 20 ? '\n…' : ''}`,
      );
      if (written.length === 0) throw err;
      return run();
    }
  }

  /** kpi rebuild: state, lake and tables recomputed from archive/. */
  async rebuild(deadline = Deadline.none()): Promise<TransformResult & { validatedWritten: number }> {
    const validatedWritten = (await restoreValidated(this.bucket, await listArchive(this.bucket))).length;
    this.obs.log('rebuild_validated_zone', { written: validatedWritten });
    return { ...(await rebuild(this.transformContext(deadline))), validatedWritten };
  }

  /** Validates the given objects (or the whole landing zone), then brings the tables up to date. */
  async process(keys?: string[], deadline = Deadline.none()): Promise<BatchResult> {
    const todo = keys ?? (await this.bucket.list(LANDING_PREFIX)).map((o) => o.key);
    const validated = await this.validate(todo, deadline);
    const t = await this.transform(deadline);
    this.latency(validated);
    return { validated, transform: t };
  }

  /** Upload → KPIs written, for the files of this batch (EMF). */
  latency(validated: ValidateResult[]): void {
    this.latencySince(earliestUpload(validated));
  }

  latencySince(uploadedAt: number | undefined): void {
    if (uploadedAt !== undefined)
      this.obs.metrics(
        { Stage: 'transform' },
        { UploadToKpiLatencyMs: Date.now() - uploadedAt },
        { UploadToKpiLatencyMs: 'Milliseconds' },
      );
  }

  /**
   * The validate → transform hand-off in AWS: an EventBridge event the transform rule matches. It
   * carries counts and the earliest upload time, never the file list: the transform finds its work
   * in the pending markers, and an entry is limited to 256 KB (a sweep of ~800 files overflowed it).
   */
  async emitValidated(results: ValidateResult[]): Promise<void> {
    const earliest = earliestUpload(results);
    const byStatus: Record<string, number> = {};
    for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const r = await this.clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: EVENT_SOURCE,
            DetailType: EVENT_VALIDATED,
            EventBusName: this.cfg.eventBus,
            Detail: JSON.stringify({
              bucket: this.cfg.bucket,
              // The earliest upload time as a string: the transform rule's input transformer passes it on.
              uploaded_at: earliest === undefined ? '' : String(earliest),
              files: results.length,
              by_status: byStatus,
            }),
          },
        ],
      }),
    );
    // PutEvents reports a rejected entry in its result, not as an error.
    if (r.FailedEntryCount) {
      const e = r.Entries?.find((x) => x.ErrorCode);
      throw new Error(`EventBridge did not accept the hand-off event (${e?.ErrorCode}: ${e?.ErrorMessage})`);
    }
  }
}

/** The earliest upload time among validated files, if any has one. */
function earliestUpload(results: ValidateResult[]): number | undefined {
  let min: number | undefined;
  for (const r of results)
    if (r.uploadedAt !== undefined && (min === undefined || r.uploadedAt < min)) min = r.uploadedAt;
  return min;
}
