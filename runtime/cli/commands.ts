// The AWS-facing commands' dispatch, and the two small ones (upload, query); local and start are in
// local-commands.ts, run in run.ts.
import { onePositional, parseArgs, UsageError, type Parsed } from './args';
import { configFromEnv } from '../aws/config';
import { CATEGORY_COLUMNS, ORDER_COLUMNS, pretty, table } from './format';
import { help } from './help';
import { local, start } from './local-commands';
import { run } from './run';
import { dashboard, report } from './dashboard-commands';
import { rebuild, verifyCmd } from './verify-commands';
import { planUpload, skippedMessage, upload } from './upload';
import { progressBar } from './progress';
import { Bucket } from '../aws/s3store';
import { makeClients } from '../aws/clients';
import { KpiStore } from '../aws/kpistore';
import { LANDING_PREFIX } from '../core/names';
import { PENDING_PREFIX } from '../state/pending';

export async function runCommand(cmd: string, argv: string[]): Promise<number> {
  switch (cmd) {
    case 'local':
      return local(parseArgs(argv, ['dir', 'port', 'reconcile-seconds', 'dashboard-port'], []));
    case 'start':
      return start(parseArgs(argv, ['dir', 'port', 'data'], []));
    case 'upload':
      return uploadCmd(parseArgs(argv, ['wait-seconds'], ['wait']));
    case 'query':
      return query(parseArgs(argv, [], ['json']));
    case 'run':
      return run(parseArgs(argv, [], []));
    case 'verify':
      return verifyCmd(parseArgs(argv, [], []));
    case 'rebuild':
      return rebuild(parseArgs(argv, [], []));
    case 'dashboard':
      return dashboard(parseArgs(argv, ['port', 'refresh-seconds'], []));
    case 'report':
      return report(parseArgs(argv, ['out'], []));
  }
  throw new UsageError(`unknown command ${cmd}`);
}

async function uploadCmd(p: Parsed): Promise<number> {
  if (p.flags.help) return help('upload');
  const dir = onePositional(p, 'upload needs exactly one DIR');
  const cfg = configFromEnv();
  const skipped: string[] = [];
  const items = planUpload(dir, skipped);
  if (skipped.length) console.error(skippedMessage(skipped));
  const bucket = new Bucket(makeClients(cfg).s3, cfg.bucket);
  await upload(bucket, items, progressBar(`uploading to s3://${cfg.bucket}`, 0));
  console.log(`uploaded ${items.length} files to s3://${cfg.bucket}/ecommerce-data/`);
  if (!p.flags.wait) return 0;
  const seconds = p.flags['wait-seconds'] === undefined ? 600 : Number(p.flags['wait-seconds']);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`--wait-seconds must be a positive number, got '${p.flags['wait-seconds']}'`);
  return waitApplied(bucket, seconds);
}

/**
 * Waits until the pipeline has taken every upload out of the landing zone and applied every
 * archived file (no pending marker left): the KPIs of the upload are then in the tables.
 */
async function waitApplied(bucket: Bucket, seconds: number): Promise<number> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const [landing, pending] = await Promise.all([bucket.list(LANDING_PREFIX), bucket.list(PENDING_PREFIX)]);
    if (!landing.length && !pending.length) {
      console.log('applied: every uploaded file is validated and its KPIs are written');
      return 0;
    }
    if (Date.now() > end) {
      console.error(
        `kpi upload: after ${seconds} s, ${landing.length} file(s) are still in the landing zone and ${pending.length} archived file(s) not yet applied: is the pipeline running (kpi local, or the deployed stack)?`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function query(p: Parsed): Promise<number> {
  if (p.flags.help) return help('query');
  const [kind, value = ''] = p.positional;
  if (p.positional.length !== 2 || (kind !== 'category' && kind !== 'date'))
    throw new UsageError('query needs: category NAME | date YYYY-MM-DD');
  if (kind === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value))
    throw new UsageError(`date must be YYYY-MM-DD, got '${value}'`);
  const cfg = configFromEnv({}, { requireBucket: false });
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
