// `npm run bench:history -- --items N [--part-rows R] [--engine memory|duckdb] [--task-memory MIB] [--compare DIR]`:
// the history-sized work on the embedded stack, each step a fresh process (bench/history-step.js)
// so its time and peak RSS are its own:
// the first load of N generated items (validate every file, then the bulk transform, each a process), a kpi verify,
// a kpi rebuild. With --compare, the same steps of another checkout (its dist/ built) run on a
// fresh stack right after, in the same invocation. At the end the tables equal kpi compute's KPIs
// and DuckDB over the downloaded lake gives them too.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { computeDir } from '../runtime/core/compute';
import { generate } from '../runtime/cli/generate';
import { planUpload, upload } from '../runtime/cli/upload';
import { KpiStore } from '../runtime/aws/kpistore';
import { Bucket } from '../runtime/aws/s3store';
import { startLocal } from '../runtime/local/stack';
import { inPool } from '../runtime/core/pool';
import { memorySplit } from '../runtime/core/names';

const ROOT = path.join(__dirname, '..', '..');

async function lakeKpis(bucket: Bucket): Promise<{ days: number; items: number; cents: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-bench-lake-'));
  const keys = (await bucket.list('curated/')).map((o) => o.key);
  await inPool(keys, 16, async (k, i) => void (await bucket.download(k, path.join(dir, `${i}.parquet`))));
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const r = (
    await con.runAndReadAll(
      `SELECT count(*) AS items, sum(sale_price_cents) AS cents FROM read_parquet('${dir}/*.parquet')`,
    )
  ).getRowObjectsJS()[0]!;
  con.closeSync();
  db.closeSync();
  rmSync(dir, { recursive: true, force: true });
  return { days: keys.length, items: Number(r.items), cents: Number(r.cents) };
}

async function runSteps(
  root: string,
  dir: string,
  want: Awaited<ReturnType<typeof computeDir>>,
  engine: string,
  taskMiB: number,
) {
  const stack = await startLocal({ dir: mkdtempSync(path.join(os.tmpdir(), 'kpi-bench-history-')), port: 0 });
  try {
    const bucket = new Bucket(stack.clients.s3, stack.bucket);
    await upload(bucket, planUpload(dir));
    const results: Record<string, unknown>[] = [];
    // The first load is a validate task then a transform task, as deployed; each step runs with
    // the heap limit its task would have (memorySplit), the engine with its local default memory.
    for (const step of ['validate', 'transform', 'verify', 'rebuild']) {
      const heap = memorySplit(step === 'validate' ? 'validate' : 'transform', taskMiB).heapMiB;
      const out = execFileSync(process.execPath, [path.join(ROOT, 'bench', 'history-step.js'), root, step], {
        env: {
          ...process.env,
          ...stack.env,
          NODE_NO_WARNINGS: '1',
          KPI_HISTORY_ENGINE: engine,
          NODE_OPTIONS: `--max-old-space-size=${heap}`,
        },
        maxBuffer: 1 << 26,
      }).toString();
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
      results.push(r);
      console.log(`  ${root === ROOT ? 'this checkout' : root}: ${JSON.stringify(r)}`);
    }
    const got = await new KpiStore(stack.clients.ddb, stack.categoryTable, stack.orderTable).readAll();
    const tables =
      isDeepStrictEqual(got.category_kpis, want.category_kpis) && isDeepStrictEqual(got.order_kpis, want.order_kpis);
    const lake = await lakeKpis(bucket);
    const wantItems = want.order_kpis.reduce((n, o) => n + o.total_items_sold, 0);
    const wantCents = Math.round(want.order_kpis.reduce((n, o) => n + o.total_revenue * 100, 0));
    const lakeOk = lake.days === want.order_kpis.length && lake.items === wantItems && lake.cents === wantCents;
    console.log(
      `  tables equal kpi compute: ${tables ? 'yes' : 'NO'}; lake (${lake.days} days, ${lake.items} items) equals it: ${lakeOk ? 'yes' : 'NO'}`,
    );
    if (!tables || !lakeOk) process.exitCode = 1;
    return results;
  } finally {
    await stack.close();
  }
}

async function main(): Promise<void> {
  const at = (name: string) => process.argv[process.argv.indexOf(name) + 1];
  const items = process.argv.includes('--items') ? Number(at('--items')) : 1_000_000;
  const compare = process.argv.includes('--compare') ? path.resolve(at('--compare')!) : null;
  // --part-rows: rows per generated file (default a tenth of the set): keeps file sizes, which bound
  // validate's memory, apart from the history's size
  const fixedParts = process.argv.includes('--part-rows');
  const partRows = fixedParts ? Number(at('--part-rows')) : Math.max(2000, Math.ceil(items / 10));
  const dir = path.join(ROOT, '.bench', `local-${items}${fixedParts ? `-p${partRows}` : ''}`);
  if (!existsSync(path.join(dir, '.complete'))) {
    generate(dir, { items, seed: 3, dirty: 0.01, partRows });
    writeFileSync(path.join(dir, '.complete'), '');
  }
  const want = await computeDir(dir);
  console.log(
    `history: ${items.toLocaleString()} items, ${partRows.toLocaleString()} rows per file (${path.relative(ROOT, dir)})`,
  );
  const engine = process.argv.includes('--engine') ? at('--engine')! : 'memory';
  // --task-memory: the task whose heap limits the steps get (infra's taskMemory; default 3072)
  const taskMiB = process.argv.includes('--task-memory') ? Number(at('--task-memory')) : 3072;
  await runSteps(ROOT, dir, want, engine, taskMiB);
  if (compare) await runSteps(compare, dir, want, engine, taskMiB);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
