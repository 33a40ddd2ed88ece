// The `kpi` command line (SPEC.md, "Command line"). Each command lives in its own module.
import { parseArgs, intFlag, numFlag, UsageError, type Parsed } from './args';
import { computeDir } from '../core/compute';
import { CATEGORY_COLUMNS, ORDER_COLUMNS, pretty, table } from './format';
import { generate } from './generate';
import { progressBar } from './progress';

const USAGE = `kpi — exact e-commerce KPIs from CSV drops (S3 + DynamoDB, or local)

Usage: kpi <command> [options]

Commands:
  compute DIR [--json]        KPIs of DIR/{orders,order_items,products}/*.csv, no AWS
  generate DIR --items N      write deterministic TheLook-shaped CSVs (--seed S, --dirty RATE)
  local                       run the embedded S3 + DynamoDB stack and the event-driven pipeline
  start                       local stack + upload data/ + print KPIs, then stop (what npm start runs)
  upload DIR                  upload a folder into the landing zone of the configured bucket
  query category NAME         KPIs of one category, from the configured table
  query date YYYY-MM-DD       KPIs of one day, from both tables
  run                         container entry point: process the triggering event (or the landing zone)

Run 'kpi <command> --help' for a command's options.
Configuration comes from the environment: AWS_ENDPOINT_URL, AWS_REGION, KPI_BUCKET,
KPI_CATEGORY_TABLE (default category_kpi_table), KPI_ORDER_TABLE (default order_kpi_table).`;

const HELP: Record<string, string> = {
  compute: `Usage: kpi compute DIR [--json] [--engine wasm|reference] [--rejected FILE]

Reads DIR/products/*.csv, DIR/orders/*.csv and DIR/order_items/*.csv (each in file name order,
later files upserting earlier ones), applies every row rule, joins, and prints both KPI tables.
  --json              one JSON object {category_kpis, order_kpis, rejected}
  --engine NAME       wasm (default) or reference (the plain TypeScript aggregation)
  --rejected FILE     also write every rejected row (original columns + reason, file, line) as CSV`,
  generate: `Usage: kpi generate DIR --items N [--seed S] [--dirty RATE] [--part-rows R]

Writes DIR/{products,orders,order_items}/*.csv: deterministic for a given seed, TheLook-shaped,
items referring to orders in other part files, a late corrections file that upserts some orders.
  --items N           number of order items (required)
  --seed S            random seed (default 1)
  --dirty RATE        share of rows given a defect of some SPEC reason, 0..1 (default 0)
  --part-rows R       rows per order/item part file (default items/8)`,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return cmd === undefined ? 2 : 0;
      case 'compute':
        return await compute(parseArgs(rest, ['engine', 'rejected'], ['json']));
      case 'generate':
        return gen(parseArgs(rest, ['items', 'seed', 'dirty', 'part-rows'], []));
      case 'local':
      case 'start':
      case 'upload':
      case 'query':
      case 'run':
        // Loaded only here: kpi compute and generate never load the AWS SDK.
        return await (await import('./commands')).runCommand(cmd, rest);
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`kpi: ${err.message}\nRun 'kpi ${cmd && HELP[cmd] ? `${cmd} ` : ''}--help' for usage.`);
      return 2;
    }
    throw err;
  }
}

async function compute(p: Parsed): Promise<number> {
  if (p.flags.help) return help('compute');
  if (p.positional.length !== 1) throw new UsageError('compute needs exactly one DIR');
  const engine = (p.flags.engine ?? 'wasm') as string;
  if (engine !== 'wasm' && engine !== 'reference') throw new UsageError(`--engine must be wasm or reference`);
  const rejectedFile = p.flags.rejected as string | undefined;
  const sink = rejectedFile ? (await import('../core/rejects')).rejectsCsvFile(rejectedFile) : undefined;
  const res = await computeDir(p.positional[0], {
    engine,
    onReject: sink?.write,
    onProgress: progressBar('reading'),
  });
  sink?.close();
  for (const f of res.files) if (f.status === 'rejected') console.error(`kpi: rejected file ${f.file}: ${f.note}`);
  if (p.flags.json) {
    process.stdout.write(JSON.stringify({ category_kpis: res.category_kpis, order_kpis: res.order_kpis, rejected: res.rejected }) + '\n');
    return 0;
  }
  console.log(`category_kpi_table (${res.category_kpis.length} rows)\n`);
  console.log(table(pretty(res.category_kpis), CATEGORY_COLUMNS));
  console.log(`\norder_kpi_table (${res.order_kpis.length} rows)\n`);
  console.log(table(pretty(res.order_kpis), ORDER_COLUMNS));
  const rejected = Object.entries(res.rejected);
  const total = res.files.reduce((s, f) => s + f.rows, 0);
  console.log(`\n${res.files.length} files, ${total} rows, ${res.items} joined items; rejected: ${rejected.length ? rejected.map(([r, n]) => `${r} ${n}`).join(', ') : 'none'}`);
  return 0;
}

function gen(p: Parsed): number {
  if (p.flags.help) return help('generate');
  if (p.positional.length !== 1) throw new UsageError('generate needs exactly one DIR');
  if (p.flags.items === undefined) throw new UsageError('generate needs --items N');
  const items = intFlag(p, 'items', 0, 1);
  const summary = generate(p.positional[0], {
    items,
    seed: intFlag(p, 'seed', 1),
    dirty: numFlag(p, 'dirty', 0, 0, 1),
    partRows: p.flags['part-rows'] ? intFlag(p, 'part-rows', 0, 1) : undefined,
    onProgress: progressBar('generating', 0),
  });
  console.log(`wrote ${summary.files.length} files to ${p.positional[0]}: ${summary.products} products, ${summary.orders} orders, ${summary.items} items`);
  const d = Object.entries(summary.defects);
  if (d.length) console.log(`defects injected: ${d.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  return 0;
}

export function help(cmd: string): number {
  console.log(HELP[cmd]);
  return 0;
}

export { HELP };
