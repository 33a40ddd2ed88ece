// The `kpi` command line (SPEC.md, "Command line"). Each command lives in its own module.
import { parseArgs, intFlag, numFlag, onePositional, UsageError, type Parsed } from './args';
import { computeDir } from '../core/compute';
import { CATEGORY_COLUMNS, ORDER_COLUMNS, pretty, table } from './format';
import { generate, ID_STYLES, type IdStyle } from './generate';
import { progressBar } from './progress';
import { HELP, help, USAGE } from './help';

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
        return await compute(parseArgs(rest, ['rejected'], ['json']));
      case 'generate':
        return gen(parseArgs(rest, ['items', 'seed', 'dirty', 'part-rows', 'id-style'], []));
      case 'local':
      case 'start':
      case 'upload':
      case 'query':
      case 'run':
      case 'dashboard':
      case 'report':
      case 'verify':
      case 'rebuild':
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
  const dir = onePositional(p, 'compute needs exactly one DIR');
  const rejectedFile = p.flags.rejected as string | undefined;
  const sink = rejectedFile ? (await import('./rejects-file')).rejectsCsvFile(rejectedFile) : undefined;
  const res = await computeDir(dir, {
    onReject: sink?.write,
    onProgress: progressBar('reading'),
  });
  sink?.close();
  for (const f of res.files) if (f.status === 'rejected') console.error(`kpi: rejected file ${f.file}: ${f.note}`);
  if (p.flags.json) {
    process.stdout.write(
      JSON.stringify({ category_kpis: res.category_kpis, order_kpis: res.order_kpis, rejected: res.rejected }) + '\n',
    );
    return 0;
  }
  console.log(`category_kpi_table (${res.category_kpis.length} rows)\n`);
  console.log(table(pretty(res.category_kpis), CATEGORY_COLUMNS));
  console.log(`\norder_kpi_table (${res.order_kpis.length} rows)\n`);
  console.log(table(pretty(res.order_kpis), ORDER_COLUMNS));
  const rejected = Object.entries(res.rejected);
  const total = res.files.reduce((s, f) => s + f.rows, 0);
  console.log(
    `\n${res.files.length} files, ${total} rows, ${res.items} joined items; rejected: ${rejected.length ? rejected.map(([r, n]) => `${r} ${n}`).join(', ') : 'none'}`,
  );
  return 0;
}

function idStyleFlag(p: Parsed): IdStyle {
  const v = p.flags['id-style'] ?? 'decimal';
  if (!(ID_STYLES as readonly unknown[]).includes(v))
    throw new UsageError(`--id-style must be one of ${ID_STYLES.join(', ')}, got '${v}'`);
  return v as IdStyle;
}

function gen(p: Parsed): number {
  if (p.flags.help) return help('generate');
  const dir = onePositional(p, 'generate needs exactly one DIR');
  if (p.flags.items === undefined) throw new UsageError('generate needs --items N');
  const items = intFlag(p, 'items', 0, 1);
  const summary = generate(dir, {
    items,
    seed: intFlag(p, 'seed', 1),
    dirty: numFlag(p, 'dirty', 0, 0, 1),
    partRows: p.flags['part-rows'] ? intFlag(p, 'part-rows', 0, 1) : undefined,
    idStyle: idStyleFlag(p),
    onProgress: progressBar('generating', 0),
  });
  console.log(
    `wrote ${summary.files.length} files to ${dir}: ${summary.products} products, ${summary.orders} orders, ${summary.items} items`,
  );
  const d = Object.entries(summary.defects);
  if (d.length) console.log(`defects injected: ${d.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  return 0;
}
