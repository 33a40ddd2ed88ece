// The AWS-facing commands: local, start, upload, query, run.
import path from 'node:path';
import { parseArgs, intFlag, UsageError, type Parsed } from './args';
import { configFromEnv } from '../aws/config';
import { DeadlineExceeded, Deadline } from '../aws/deadline';
import { CATEGORY_COLUMNS, ORDER_COLUMNS, pretty, table } from './format';
import { startLocal, type LocalStack } from '../local/stack';
import { ENV, LANDING_PREFIX } from '../core/names';
import { Observer } from '../aws/observe';
import { Dispatcher, Pipeline, type BatchResult } from '../stages/pipeline';
import type { ValidateResult } from '../stages/validate';
import { progressBar } from './progress';
import { planUpload, skippedMessage, upload } from './upload';
import { Bucket } from '../aws/s3store';
import { makeClients } from '../aws/clients';
import { KpiStore } from '../aws/kpistore';

export const HELP: Record<string, string> = {
  local: `Usage: kpi local [--dir DIR] [--port PORT]

Starts the embedded stack in the foreground: one endpoint on 127.0.0.1 serving an S3-compatible
API (s3rver) and a DynamoDB-compatible API (dynalite), the bucket and both KPI tables, and the
pipeline: every object created under ecommerce-data/ is validated and the KPIs recomputed.
Prints the variables to export so that the AWS CLI, kpi upload and kpi query reach it.
State persists in DIR between starts. Ctrl-C stops it. The KPI tables are reconciled at start
and every --reconcile-seconds (as the schedule rule does on AWS): held items expire, a run killed
half-way or a deleted table is repaired.
  --dir DIR           state folder (default .kpi-local in the current folder)
  --port PORT         port of the endpoint, 0-65535 (default 4566)
  --reconcile-seconds S  interval of the reconciling transform (default $KPI_RECONCILE_SECONDS or 900; 0: only at start)`,
  start: `Usage: kpi start [--dir DIR] [--port PORT] [--data DIR]

The whole job in one command (what 'npm start' runs): starts the embedded stack, uploads the
data folder with the same code as 'kpi upload', waits until the pipeline is idle, prints both KPI
tables from the local DynamoDB and where to look next, then stops. State stays for kpi local.
  --data DIR          folder to upload (default data)
  --dir DIR           state folder (default .kpi-local)
  --port PORT         port (default 0: any free port)`,
  upload: `Usage: kpi upload DIR

Uploads DIR/{orders,order_items,products}/* to s3://$KPI_BUCKET/ecommerce-data/<entity>/<file>,
on AWS or on the local stack (AWS_ENDPOINT_URL). Progress on stderr.`,
  query: `Usage: kpi query category NAME [--json]
       kpi query date YYYY-MM-DD [--json]

The seed's two queries: all days of one category from $KPI_CATEGORY_TABLE, or one day from
$KPI_ORDER_TABLE.`,
  run: `Usage: kpi run

The container entry point. Reads the environment:
  KPI_STAGE           validate | transform (default: validate, then transform in the same task
                      unless KPI_EVENT_BUS is set, in which case an event hands over to transform)
  KPI_S3_KEY          the object to validate (set by the EventBridge rule's input transformer);
                      without it the whole landing zone is processed
  KPI_DEADLINE_SECONDS  stop cleanly and exit 3 after this long (default 900)
  KPI_HOLD_SECONDS    how long items wait for their order/product before err/unmatched/ (3600)
  KPI_REJECT_ALERT_SHARE  alert when a file's rejected share passes this (0.05)
  KPI_ALERT_TOPIC_ARN SNS topic for alerts (printed to stderr when unset)
Exit codes: 0 done, 1 failed, 3 deadline reached (a rerun finishes the work).`,
};

export async function runCommand(cmd: string, argv: string[]): Promise<number> {
  switch (cmd) {
    case 'local':
      return local(parseArgs(argv, ['dir', 'port', 'reconcile-seconds'], []));
    case 'start':
      return start(parseArgs(argv, ['dir', 'port', 'data'], []));
    case 'upload':
      return uploadCmd(parseArgs(argv, [], []));
    case 'query':
      return query(parseArgs(argv, [], ['json']));
    case 'run':
      return run(parseArgs(argv, [], []));
  }
  throw new UsageError(`unknown command ${cmd}`);
}

function help(cmd: string): number {
  console.log(HELP[cmd]);
  return 0;
}

function exportsOf(stack: LocalStack): string {
  return Object.entries(stack.env)
    .map(([k, v]) => `export ${k}=${v}`)
    .join('\n');
}

/** Pipeline bound to a local stack; JSON logs go to DIR/pipeline.log, a short line to the terminal. */
async function localPipeline(stack: LocalStack, dir: string, reconcileSeconds: number, onBatch?: (b: BatchResult) => void) {
  const { appendFileSync } = await import('node:fs');
  const logFile = path.join(dir, 'pipeline.log');
  const cfg = configFromEnv({ bucket: stack.bucket, categoryTable: stack.categoryTable, orderTable: stack.orderTable, region: stack.region, endpoint: stack.endpoint, alertTopicArn: undefined, eventBus: undefined });
  const obs = new Observer(cfg, (line) => appendFileSync(logFile, line + '\n'));
  const pipeline = new Pipeline(cfg, { clients: stack.clients, obs });
  const dispatcher = new Dispatcher(pipeline, 150, onBatch);
  stack.onObjectCreated((k) => dispatcher.enqueue(k));
  // Anything left in the landing zone (uploaded while stopped, or a crash) is processed now, and
  // the tables are reconciled at start and then on the same schedule as on AWS.
  for (const o of await pipeline.bucket.list('ecommerce-data/')) dispatcher.enqueue(o.key);
  dispatcher.schedule(reconcileSeconds);
  return { pipeline, dispatcher, logFile };
}

function summary(b: BatchResult): string {
  const files = b.validated.length;
  const rej = b.validated.reduce((s, v) => s + v.rejected, 0);
  const bad = b.validated.filter((v) => v.status === 'rejected' || v.status === 'unrouted').length;
  const t = b.transform;
  return `processed ${files} file(s)${bad ? ` (${bad} rejected whole)` : ''}, ${rej} row(s) rejected; ${t.items} items joined, ${t.held} held; ${t.puts} KPI row(s) written, ${t.deletes} deleted in ${t.ms} ms`;
}

async function local(p: Parsed): Promise<number> {
  if (p.flags.help) return help('local');
  const dir = path.resolve((p.flags.dir as string) ?? '.kpi-local');
  const stack = await startLocal({ dir, port: intFlag(p, 'port', 4566, 0, 65535) });
  const reconcile = intFlag(p, 'reconcile-seconds', configFromEnv({ bucket: '-' }).reconcileSeconds);
  const { logFile, dispatcher } = await localPipeline(stack, dir, reconcile, (b) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${summary(b)}`));
  console.log(`Local stack on ${stack.endpoint} (S3 + DynamoDB), state in ${dir}\n`);
  console.log(`Paste into another shell:\n\n${exportsOf(stack)}\n`);
  console.log(`Then: kpi upload data   ·   kpi query date 2025-03-25   ·   aws s3 ls s3://${stack.bucket}/ --recursive`);
  console.log(`Pipeline log (JSON lines): ${logFile}\nCtrl-C to stop.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('\nstopping...');
  dispatcher.stop();
  await dispatcher.idle();
  await stack.close();
  return 0;
}

async function start(p: Parsed): Promise<number> {
  if (p.flags.help) return help('start');
  const dir = path.resolve((p.flags.dir as string) ?? '.kpi-local');
  const data = path.resolve((p.flags.data as string) ?? 'data');
  const t0 = Date.now();
  const skipped: string[] = [];
  const items = planUpload(data, skipped);
  if (skipped.length) console.error(skippedMessage(skipped));
  const stack = await startLocal({ dir, port: intFlag(p, 'port', 0, 0, 65535) });
  try {
    const { dispatcher, logFile } = await localPipeline(stack, dir, 0);
    console.log(`local stack up on ${stack.endpoint}; uploading ${items.length} files from ${path.relative(process.cwd(), data) || '.'}/ ...`);
    await upload(new Bucket(stack.clients.s3, stack.bucket), items, progressBar('uploading', 0));
    await dispatcher.idle();
    if (dispatcher.errors.length) {
      console.error(`kpi: the pipeline failed: ${dispatcher.errors.at(-1)!.message} (details in ${path.relative(process.cwd(), logFile)}); unprocessed files stay in the landing zone for the next start`);
      return 1;
    }
    const kpis = await new KpiStore(stack.clients.ddb, stack.categoryTable, stack.orderTable).readAll();
    const last = dispatcher.batches.at(-1);
    console.log(`\ncategory_kpi_table (first 15 of ${kpis.category_kpis.length} rows)\n`);
    console.log(table(pretty(kpis.category_kpis.slice(0, 15)), CATEGORY_COLUMNS));
    console.log(`\norder_kpi_table (first 15 of ${kpis.order_kpis.length} rows)\n`);
    console.log(table(pretty(kpis.order_kpis.slice(0, 15)), ORDER_COLUMNS));
    const validated = dispatcher.batches.flatMap((b) => b.validated);
    const rejected = validated.reduce((s, v) => s + v.rejected, 0);
    const unchanged = validated.filter((v) => v.status === 'duplicate').length;
    const whole = validated.filter((v) => v.status === 'rejected' || v.status === 'unrouted').length;
    console.log(
      `\n${items.length} files uploaded and processed in ${((Date.now() - t0) / 1000).toFixed(1)} s` +
        (unchanged ? ` (${unchanged} unchanged since an earlier upload: nothing to redo)` : '') +
        `; ${rejected} rows rejected${whole ? `, ${whole} files rejected whole` : ''} (see err/); ` +
        `${last?.transform.held ?? 0} items held, waiting for their order or product.`,
    );
    console.log(`\nNext:\n  npm run -s kpi -- local                 keep the stack running (state in ${path.relative(process.cwd(), dir)})`);
    console.log(`  npm run -s kpi -- query date ${kpis.order_kpis[0]?.order_date ?? 'YYYY-MM-DD'}   (with the exports kpi local prints)`);
    console.log(`  npm run -s kpi -- compute data           the same KPIs with no servers at all`);
    console.log(`  pipeline log: ${path.relative(process.cwd(), logFile)}`);
    return 0;
  } finally {
    await stack.close();
  }
}

async function uploadCmd(p: Parsed): Promise<number> {
  if (p.flags.help) return help('upload');
  if (p.positional.length !== 1) throw new UsageError('upload needs exactly one DIR');
  const cfg = configFromEnv();
  const skipped: string[] = [];
  const items = planUpload(p.positional[0], skipped);
  if (skipped.length) console.error(skippedMessage(skipped));
  const bucket = new Bucket(makeClients(cfg).s3, cfg.bucket);
  await upload(bucket, items, progressBar(`uploading to s3://${cfg.bucket}`, 0));
  console.log(`uploaded ${items.length} files to s3://${cfg.bucket}/ecommerce-data/`);
  return 0;
}

async function query(p: Parsed): Promise<number> {
  if (p.flags.help) return help('query');
  const [kind, value] = p.positional;
  if (p.positional.length !== 2 || (kind !== 'category' && kind !== 'date')) throw new UsageError('query needs: category NAME | date YYYY-MM-DD');
  if (kind === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new UsageError(`date must be YYYY-MM-DD, got '${value}'`);
  const cfg = configFromEnv({ bucket: process.env[ENV.bucket] ?? '-' });
  const store = new KpiStore(makeClients(cfg).ddb, cfg.categoryTable, cfg.orderTable);
  if (kind === 'category') {
    const rows = await store.queryCategory(value);
    if (p.flags.json) console.log(JSON.stringify(rows));
    else if (!rows.length) console.log(`no KPIs for category '${value}' in ${cfg.categoryTable}`);
    else console.log(table(pretty(rows), CATEGORY_COLUMNS));
    return rows.length ? 0 : 4;
  }
  const row = await store.getDate(value);
  if (p.flags.json) console.log(JSON.stringify(row));
  else if (!row) console.log(`no KPIs for ${value} in ${cfg.orderTable}`);
  else console.log(table(pretty([row]), ORDER_COLUMNS));
  return row ? 0 : 4;
}

async function run(p: Parsed): Promise<number> {
  if (p.flags.help) return help('run');
  const cfg = configFromEnv();
  const pipeline = new Pipeline(cfg);
  const deadline = new Deadline(cfg.deadlineSeconds);
  const stage = process.env[ENV.stage] || '';
  const event = parseEvent(process.env[ENV.event]);
  const key = process.env[ENV.objectKey] || event.key;
  const versionId = process.env[ENV.objectVersion] || event.versionId;
  let failed: ValidateResult[] = [];
  try {
    if (stage && stage !== 'validate' && stage !== 'transform') throw new UsageError(`${ENV.stage} must be validate or transform, got '${stage}'`);
    if (stage === 'transform') {
      await pipeline.transform(deadline);
      // The hand-off event carries the upload times of its files: upload → KPIs written, on AWS too.
      const handedOver = Number(process.env[ENV.uploadedAt]);
      pipeline.latencySince(Number.isFinite(handedOver) && handedOver > 0 ? handedOver : event.uploadedAt);
    } else if (key) {
      const v = await validateEventKey(pipeline, key, versionId, deadline);
      if (cfg.eventBus) await pipeline.emitValidated(v);
      else if (stage !== 'validate') {
        await pipeline.transform(deadline);
        pipeline.latency(v);
      }
      failed = v.filter((x) => x.status === 'failed');
    } else if (stage === 'validate') {
      // The scheduled sweep: validate whatever is still in the landing zone (a failed validation
      // heals itself); the transform is left to the hand-off, so this needs no DynamoDB access.
      const v = await pipeline.validate((await pipeline.bucket.list(LANDING_PREFIX)).map((o) => o.key), deadline);
      if (cfg.eventBus && v.length) await pipeline.emitValidated(v);
      failed = v.filter((x) => x.status === 'failed');
    } else {
      const b = await pipeline.process(undefined, deadline);
      if (cfg.eventBus && b.validated.length) await pipeline.emitValidated(b.validated);
      failed = b.validated.filter((x) => x.status === 'failed');
    }
    if (failed.length) {
      await pipeline.obs.alert('KPI pipeline could not process files', failed.map((f) => `${f.key}: ${f.note}`).join('\n'));
      return 1; // non-zero: the rule's retry (or the next run) picks the files up again
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const timedOut = err instanceof DeadlineExceeded;
    pipeline.obs.error(timedOut ? 'deadline_reached' : 'run_failed', { stage: stage || 'validate+transform', key, error: (err as Error).message });
    await pipeline.obs.alert(`KPI pipeline ${timedOut ? 'deadline reached' : 'run failed'}`, `${stage || 'run'} ${key ?? '(landing zone)'}: ${(err as Error).stack ?? err}`);
    return timedOut ? 3 : 1;
  }
}

/**
 * Object keys in S3 event notifications are URL-encoded, a space as '+' (AWS Lambda Powertools
 * decodes detail.object.key with unquote_plus). Tries the decoded key, then the key as given
 * (a producer that did not encode it, or a literal '+' in a name).
 */
async function validateEventKey(pipeline: Pipeline, key: string, versionId: string | undefined, deadline: Deadline): Promise<ValidateResult[]> {
  const decoded = decodeEventKey(key);
  if (decoded !== key) {
    const v = await pipeline.validate([decoded], deadline, versionId ? new Map([[decoded, versionId]]) : undefined);
    if (v[0]?.status !== 'gone') return v;
  }
  return pipeline.validate([key], deadline, versionId ? new Map([[key, versionId]]) : undefined);
}

/** unquote_plus: '+' is a space, %XX a byte of UTF-8; the raw key when it is not valid encoding. */
export function decodeEventKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

export interface EventFields {
  key?: string;
  versionId?: string;
  /** earliest upload time of the files a hand-off event names (ms) */
  uploadedAt?: number;
}

/** What the pipeline needs from an event passed whole as KPI_EVENT (S3 notification, EventBridge, or our hand-off). */
export function parseEvent(json: string | undefined): EventFields {
  if (!json) return {};
  let ev;
  try {
    ev = JSON.parse(json);
  } catch {
    throw new UsageError(`${ENV.event} is not valid JSON`);
  }
  const obj = ev?.detail?.object ?? ev?.Records?.[0]?.s3?.object;
  const times = ((ev?.detail?.files ?? []) as { uploaded_at?: number }[]).map((f) => f.uploaded_at).filter((x): x is number => typeof x === 'number');
  return {
    key: obj?.key,
    versionId: obj?.['version-id'] ?? obj?.versionId,
    uploadedAt: times.length ? times.reduce((a, b) => Math.min(a, b)) : undefined,
  };
}

/** The object key of an EventBridge "Object Created" event passed whole as KPI_EVENT. */
export function keyFromEvent(json: string | undefined): string | undefined {
  return parseEvent(json).key;
}
