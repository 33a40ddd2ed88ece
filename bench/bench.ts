// `npm run bench`: kpi compute against DuckDB (1, 2, 4, ... threads up to the cores) on generated data,
// alternating runs in one invocation; wall time, peak RSS, rows/s, ratios, stages, equality.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { generate, ID_STYLES, type IdStyle } from '../runtime/cli/generate';

const ROOT = path.join(__dirname, '..', '..');
const CACHE = path.join(ROOT, '.bench');

interface Run {
  ms: number;
  rssMiB: number;
  out: string;
}

function once(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, ['--no-warnings', path.join(__dirname, 'run-one.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('close', (code) => {
      const ms = performance.now() - t;
      const errText = Buffer.concat(err).toString();
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}: ${errText.slice(-2000)}`));
      const last = errText.trim().split('\n').pop()!;
      resolve({ ms, rssMiB: JSON.parse(last).rssMiB, out: Buffer.concat(out).toString() });
    });
  });
}

function dataset(items: number, idStyle: IdStyle = 'decimal'): string {
  const dir = path.join(CACHE, `items-${items}${idStyle === 'decimal' ? '' : `-${idStyle}`}`);
  const done = path.join(dir, '.complete');
  if (!existsSync(done)) {
    console.error(`generating ${items.toLocaleString()} items (dirty 1%, ${idStyle} ids) into ${dir} ...`);
    generate(dir, { items, seed: 1, dirty: 0.01, idStyle });
    writeFileSync(done, '');
  }
  return dir;
}

/** 1, 2, 4, ... threads up to the machine's, and the machine's: the speed-up curve's points. */
function threadCurve(cores: number): number[] {
  const points = [];
  for (let n = 1; n < cores; n *= 2) points.push(n);
  return [...points, cores];
}

const plainName = (threads: number) => `duckdb plain, ${threads} thread${threads === 1 ? '' : 's'}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function canonical(json: string): unknown {
  const j = JSON.parse(json);
  return { c: j.category_kpis, o: j.order_kpis, r: Object.fromEntries(Object.entries(j.rejected).sort()) };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const get = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : def;
  };
  const sizes = get('sizes', '1000000,5000000').split(',').map(Number);
  const rounds = Number(get('rounds', '3'));
  const outFile = get('out', path.join(ROOT, 'bench-results.json'));
  // --id-style uuid|prefixed|bigint: the same sets with ids spelled so; kpi compute is timed against
  // itself on decimal ids (the plain query types ids as BIGINT, so it is left out)
  const idStyle = get('id-style', 'decimal') as IdStyle;
  if (!ID_STYLES.includes(idStyle)) throw new Error(`--id-style must be one of ${ID_STYLES.join(', ')}`);
  mkdirSync(CACHE, { recursive: true });
  const results: Record<string, unknown>[] = [];
  for (const items of sizes) {
    const dir = dataset(items, idStyle);
    // The headline peer is the plain typed query a user would write (bench/duckdb-plain.ts); the
    // full-contract SQL (bench/duckdb.ts) is the exactness oracle, slower because it does more.
    const engines: [string, string[]][] = [
      ['kpi compute', ['kpi', dir]],
      ...((idStyle === 'decimal'
        ? threadCurve(os.availableParallelism()).map((n) => [plainName(n), ['duckdb-plain', dir, String(n)]])
        : [['kpi compute, decimal ids', ['kpi', dataset(items)]]]) as [string, string[]][]),
      ...(argv.includes('--skip-contract')
        ? []
        : ([
            ['duckdb contract, 1 thread', ['duckdb', dir, '1']],
            [`duckdb contract, ${os.cpus().length} threads`, ['duckdb', dir]],
            // what the same ids cost a real engine: the contract SQL on the decimal set
            ...(idStyle === 'decimal'
              ? []
              : [['duckdb contract, 1 thread, decimal ids', ['duckdb', dataset(items), '1']]]),
          ] as [string, string[]][])),
    ];
    const runs: Record<string, Run[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const [name, args] of engines) {
        const run = await once(args);
        (runs[name] ??= []).push(run);
        console.error(
          `  ${items.toLocaleString()} items, round ${r + 1}: ${name} ${(run.ms / 1000).toFixed(2)} s, ${run.rssMiB.toFixed(0)} MiB`,
        );
      }
    }
    const stages = JSON.parse((await once(['stages', dir])).out);
    const contract = engines
      .filter(([n]) => n.startsWith('duckdb contract') && !n.endsWith('decimal ids'))
      .map(([n]) => n);
    const equal = contract.length
      ? contract.every((n) => isDeepStrictEqual(canonical(runs['kpi compute']![0]!.out), canonical(runs[n]![0]!.out)))
      : null;
    const ours = JSON.parse(runs['kpi compute']![0]!.out);
    const plain = runs[plainName(1)] ? JSON.parse(runs[plainName(1)]![0]!.out) : null;
    const row: Record<string, unknown> = {
      items,
      rounds,
      equalKpis: equal,
      // the plain query skips upserts and per-file rules: how far its answer is from the contract's
      idStyle,
      rowsKpiVsPlain: plain && {
        kpi: [ours.category_kpis.length, ours.order_kpis.length],
        plain: [plain.categoryRows, plain.orderRows],
      },
      engines: {} as Record<string, unknown>,
      stagesMs: stages.stages,
      kernelVsReference: stages.kernelVsReference,
    };
    const oursMs = median(runs['kpi compute']!.map((x) => x.ms))!;
    for (const [name] of engines) {
      const ms = median(runs[name].map((x) => x.ms));
      (row.engines as Record<string, unknown>)[name] = {
        wallS: +(ms / 1000).toFixed(3),
        peakRssMiB: +runs[name].reduce((m, x) => Math.max(m, x.rssMiB), 0).toFixed(0),
        itemsPerS: Math.round(items / (ms / 1000)),
        oursOverThis: +(oursMs / ms).toFixed(3),
      };
    }
    // How the engine a user would pick scales with threads on this machine (kpi compute has one).
    const plain1 = runs[plainName(1)];
    if (plain1)
      row.duckdbPlainSpeedup = Object.fromEntries(
        threadCurve(os.availableParallelism()).map((n) => [
          n,
          +(median(plain1.map((x) => x.ms))! / median(runs[plainName(n)]!.map((x) => x.ms))!).toFixed(2),
        ]),
      );
    results.push(row);
    print(row);
  }
  writeFileSync(
    outFile,
    JSON.stringify(
      { machine: { cpus: os.cpus().length, node: process.version, date: new Date().toISOString() }, results },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nresults written to ${outFile}`);
}

function print(row: Record<string, unknown>): void {
  const engines = row.engines as Record<
    string,
    { wallS: number; peakRssMiB: number; itemsPerS: number; oursOverThis: number }
  >;
  const eq = row.equalKpis === null ? 'not run (--skip-contract)' : row.equalKpis ? 'yes' : 'NO';
  console.log(
    `\n${(row.items as number).toLocaleString()} order items — KPIs of kpi compute equal the full-contract DuckDB SQL: ${eq}; rows (category, day) kpi vs plain query: ${JSON.stringify(row.rowsKpiVsPlain)}`,
  );
  console.log(`${'engine'.padEnd(40)} wall s   peak RSS MiB   items/s      kpi/engine`);
  for (const [name, e] of Object.entries(engines)) {
    console.log(
      `${name.padEnd(40)} ${e.wallS.toFixed(2).padStart(6)}   ${String(e.peakRssMiB).padStart(12)}   ${String(e.itemsPerS).padStart(9)}   ${e.oursOverThis.toFixed(2).padStart(10)}x`,
    );
  }
  if (row.duckdbPlainSpeedup)
    console.log(
      `duckdb plain speed-up over 1 thread: ${Object.entries(row.duckdbPlainSpeedup as Record<string, number>)
        .map(([n, x]) => `${n} → ${x}x`)
        .join(', ')}; kpi compute runs on 1 thread`,
    );
  const st = row.stagesMs as Record<string, number>;
  console.log(
    `kpi stages (ms): ${Object.entries(st)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ')}`,
  );
  const kv = row.kernelVsReference as { wasmMs: number; referenceMs: number; equal: boolean };
  console.log(
    `kernel: wasm ${kv.wasmMs.toFixed(0)} ms vs TypeScript reference ${kv.referenceMs.toFixed(0)} ms, equal: ${kv.equal ? 'yes' : 'NO'}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
