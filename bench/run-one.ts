// One timed run in a fresh process, so each engine's peak RSS is its own.
// argv: kpi DIR | duckdb DIR THREADS | stages DIR. KPI JSON on stdout, {"rssMiB"} as the last stderr line.
import { main } from '../runtime/cli/cli';
import { listLocalSources, loadTables } from '../runtime/core/compute';
import { toKpis } from '../runtime/core/aggregate/kpis';
import { fieldsOf } from '../runtime/core/parse/csv';
import { scanRows } from '../runtime/core/parse/rowscan';
import { mapHeader, RowRules, SCHEMAS } from '../runtime/core/parse/rules';
import { aggregateWasm } from '../runtime/core/aggregate/kernel';
import { aggregateReference } from '../reference/aggregate';
import { sortAggregates } from '../runtime/core/aggregate/aggregates';
import { isDeepStrictEqual } from 'node:util';
import { verdictSlots } from '../runtime/core/join/join';
import { materialize } from '../reference/materialize';
import { duckCompute } from './duckdb';
import { duckPlain } from './duckdb-plain';

async function stages(dir: string): Promise<Record<string, unknown>> {
  const sources = listLocalSources(dir);
  // One untimed pass so that every stage below reads from the page cache alike.
  for (const s of sources) for await (const c of s.open(true)) void c;
  let t = performance.now();
  let bytes = 0;
  for (const s of sources) for await (const c of s.open(true)) bytes += c.length;
  const io = performance.now() - t;
  // Tokenizing and the row rules alone: the WebAssembly scanner with handlers that only count.
  t = performance.now();
  let records = 0;
  for (const s of sources) {
    const schema = SCHEMAS[s.entity];
    await scanRows(s.open, {
      header: (rec) => {
        const rules = new RowRules(schema, mapHeader(schema, fieldsOf(rec)));
        return { rules, slots: verdictSlots(s.entity, rules) };
      },
      row: () => records++,
      batch: (_c, n) => (records += n),
    });
  }
  const tokenize = performance.now() - t;
  t = performance.now();
  const { tables } = await loadTables(sources);
  const load = performance.now() - t;
  t = performance.now();
  const source = tables.joinSource();
  const join = performance.now() - t;
  t = performance.now();
  const agg = aggregateWasm(source);
  const kernel = performance.now() - t;
  t = performance.now();
  toKpis(agg, tables.categories);
  const output = performance.now() - t;
  // the kernel alone against the reference, on the same joined items as whole arrays
  const joined = materialize(source);
  t = performance.now();
  const w = aggregateWasm(joined);
  const wasmMs = performance.now() - t;
  t = performance.now();
  const r = aggregateReference(joined);
  const refMs = performance.now() - t;
  return {
    bytes,
    records,
    items: joined.n,
    stages: { io, 'tokenize + rules (wasm)': tokenize - io, 'keys + columns': load - tokenize, join, kernel, output },
    kernelVsReference: { wasmMs, referenceMs: refMs, equal: isDeepStrictEqual(sortAggregates(w), sortAggregates(r)) },
  };
}

async function run(): Promise<void> {
  const [engine, dir, threads] = process.argv.slice(2);
  if (engine === 'kpi') {
    const code = await main(['compute', dir, '--json']);
    if (code !== 0) process.exit(code);
  } else if (engine === 'duckdb') {
    const r = await duckCompute(dir, threads ? Number(threads) : undefined);
    process.stdout.write(
      JSON.stringify({ category_kpis: r.category_kpis, order_kpis: r.order_kpis, rejected: r.rejected }) + '\n',
    );
  } else if (engine === 'duckdb-plain') {
    process.stdout.write(JSON.stringify(await duckPlain(dir, threads ? Number(threads) : undefined)) + '\n');
  } else if (engine === 'stages') {
    process.stdout.write(JSON.stringify(await stages(dir)) + '\n');
  } else throw new Error(`unknown engine ${engine}`);
  process.stderr.write(`\n${JSON.stringify({ rssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

run().catch((e) => {
  console.error(e);
  process.exit(1);
});
