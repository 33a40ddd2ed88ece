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

export async function runCommand(cmd: string, argv: string[]): Promise<number> {
  switch (cmd) {
    case 'local':
      return local(parseArgs(argv, ['dir', 'port', 'reconcile-seconds', 'dashboard-port'], []));
    case 'start':
      return start(parseArgs(argv, ['dir', 'port', 'data'], []));
    case 'upload':
      return uploadCmd(parseArgs(argv, [], []));
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
  return 0;
}

async function query(p: Parsed): Promise<number> {
  if (p.flags.help) return help('query');
  const [kind, value = ''] = p.positional;
  if (p.positional.length !== 2 || (kind !== 'category' && kind !== 'date')) throw new UsageError('query needs: category NAME | date YYYY-MM-DD');
  if (kind === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new UsageError(`date must be YYYY-MM-DD, got '${value}'`);
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
