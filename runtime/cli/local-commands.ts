// kpi local and kpi start: the embedded stack with the pipeline wired to its object-created events.
import path from 'node:path';
import { intFlag, type Parsed } from './args';
import { configFromEnv } from '../aws/config';
import { CATEGORY_COLUMNS, ORDER_COLUMNS, pretty, table } from './format';
import { help } from './help';
import { configForStack, startLocal, type LocalStack } from '../local/stack';
import { Dispatcher } from '../local/dispatcher';
import { Observer } from '../aws/observe';
import { Pipeline, type BatchResult } from '../stages/pipeline';
import { progressBar } from './progress';
import { planUpload, skippedMessage, upload } from './upload';
import { Bucket } from '../aws/s3store';
import { KpiStore } from '../aws/kpistore';
import { startDashboard, type DashboardSource } from '../dashboard/server';
import { LocalStartError } from '../local/stack';
import { writeReport } from './dashboard-commands';

function exportsOf(stack: LocalStack): string {
  return Object.entries(stack.env)
    .map(([k, v]) => `export ${k}=${v}`)
    .join('\n');
}

/** Pipeline bound to a local stack; JSON logs go to DIR/pipeline.log, a short line to the terminal. */
async function localPipeline(
  stack: LocalStack,
  dir: string,
  reconcileSeconds: number,
  onBatch?: (b: BatchResult) => void,
) {
  const { appendFileSync } = await import('node:fs');
  const logFile = path.join(dir, 'pipeline.log');
  const cfg = configForStack(stack);
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

export async function local(p: Parsed): Promise<number> {
  if (p.flags.help) return help('local');
  const dir = path.resolve((p.flags.dir as string) ?? '.kpi-local');
  const port = intFlag(p, 'port', 4566, 0, 65535);
  // The dashboard next to the endpoint (4567 by default; any free port when --port 0).
  const dashboardPort = intFlag(p, 'dashboard-port', port ? port + 1 : 0, 0, 65535);
  const reconcile = intFlag(p, 'reconcile-seconds', configFromEnv({}, { requireBucket: false }).reconcileSeconds);
  const stack = await startLocal({ dir, port });
  let board;
  try {
    board = await startDashboard(localSource(stack), { port: dashboardPort });
  } catch (err) {
    await stack.close();
    throw new LocalStartError((err as Error).message);
  }
  const { logFile, dispatcher } = await localPipeline(stack, dir, reconcile, (b) =>
    console.log(`[${new Date().toISOString().slice(11, 19)}] ${summary(b)}`),
  );
  console.log(`Local stack on ${stack.endpoint} (S3 + DynamoDB), state in ${dir}\n`);
  console.log(`Paste into another shell:\n\n${exportsOf(stack)}\n`);
  console.log(
    `Then: kpi upload data   ·   kpi query date 2025-03-25   ·   aws s3 ls s3://${stack.bucket}/ --recursive`,
  );
  console.log(`KPI dashboard: ${board.url}`);
  console.log(`Pipeline log (JSON lines): ${logFile}\nCtrl-C to stop.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('\nstopping...');
  dispatcher.stop();
  await dispatcher.idle();
  await board.close();
  await stack.close();
  return 0;
}

/** The local stack's tables and bucket, for the dashboard. */
function localSource(stack: LocalStack): DashboardSource {
  return {
    store: new KpiStore(stack.clients.ddb, stack.categoryTable, stack.orderTable),
    bucket: new Bucket(stack.clients.s3, stack.bucket),
  };
}

export async function start(p: Parsed): Promise<number> {
  if (p.flags.help) return help('start');
  const dir = path.resolve((p.flags.dir as string) ?? '.kpi-local');
  const data = path.resolve((p.flags.data as string) ?? 'data');
  const t0 = Date.now();
  const skipped: string[] = [];
  const items = planUpload(data, skipped);
  if (skipped.length) console.error(skippedMessage(skipped));
  const stack = await startLocal({ dir, port: intFlag(p, 'port', 0, 0, 65535) });
  const board = await startDashboard(localSource(stack), { port: 0 });
  try {
    const { dispatcher, logFile } = await localPipeline(stack, dir, 0);
    console.log(`KPI dashboard (while this runs): ${board.url}`);
    console.log(
      `local stack up on ${stack.endpoint}; uploading ${items.length} files from ${path.relative(process.cwd(), data) || '.'}/ ...`,
    );
    await upload(new Bucket(stack.clients.s3, stack.bucket), items, progressBar('uploading', 0));
    await dispatcher.idle();
    if (dispatcher.errors.length) {
      console.error(
        `kpi: the pipeline failed: ${dispatcher.errors.at(-1)!.message} (details in ${path.relative(process.cwd(), logFile)}); unprocessed files stay in the landing zone for the next start`,
      );
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
    const reportFile = await writeReport(localSource(stack), path.join(dir, 'report.html'));
    console.log(
      `\nThe dashboard as one self-contained page: ${path.relative(process.cwd(), reportFile)} (open it in a browser; no network needed)`,
    );
    console.log(
      `\nNext:\n  npm run -s kpi -- local                 keep the stack running, with the live dashboard (state in ${path.relative(process.cwd(), dir)})`,
    );
    console.log(
      `  npm run -s kpi -- query date ${kpis.order_kpis[0]?.order_date ?? 'YYYY-MM-DD'}   (with the exports kpi local prints)`,
    );
    console.log(`  npm run -s kpi -- compute data           the same KPIs with no servers at all`);
    console.log(`  pipeline log: ${path.relative(process.cwd(), logFile)}`);
    return 0;
  } finally {
    await board.close();
    await stack.close();
  }
}
