// `npm run bench:local -- --items N`: upload a generated set to the embedded stack and time it
// until every KPI is queryable (tables equal to kpi compute of the same folder).
// `npm run bench:local -- --history N [--runs R] [--id-style uuid|prefixed|bigint]`: the same initial
// load of N items, then R new days (1,000 orders, 1,500 items each) uploaded one after another, each
// timed from its upload to its day's KPIs in the table; prints the median, and checks the tables
// against kpi compute. --id-style spells the ids of the history and the new days that way.
// `--recategorize` (with --history): then one products file (~150 bytes) gives products 1-10 a new
// category, and its time to the tables and the pipeline thread's peak heap meanwhile are printed.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { computeDir } from '../runtime/core/compute';
import { generate, idOf, ID_STYLES, type IdStyle } from '../runtime/cli/generate';
import { KpiStore } from '../runtime/aws/kpistore';
import { benchStack } from './stack';
import { winningProducts } from '../reference/winners';
import { Dispatcher } from '../runtime/local/dispatcher';
import { Bucket } from '../runtime/aws/s3store';
import { planUpload, upload } from '../runtime/cli/upload';
import { mkdirSync, cpSync } from 'node:fs';

/** One new day: orders with ids after every history id, items of existing products. */
function newDay(dir: string, r: number, date: string, products: number, valid: Set<string>, style: IdStyle): number {
  const id = (k: 'o' | 'i' | 'p' | 'u', n: number) => idOf(style, k, n);
  const base = 900_000_000 + r * 10_000;
  let o = 'order_id,user_id,status,created_at\n';
  let i = 'id,order_id,product_id,sale_price,status\n';
  let item = 0;
  let joined = 0;
  for (let k = 0; k < 1000; k++) {
    o += `${id('o', base + k)},${id('u', 1 + ((k * 7919) % 50_000))},${k % 9 === 0 ? 'Returned' : 'Complete'},${date}T${String(k % 24).padStart(2, '0')}:15:00Z\n`;
    for (let j = 0; j < (k % 2 === 0 ? 2 : 1); j++) {
      const product = id('p', 1 + ((k * 31 + j * 17) % products));
      if (valid.has(product)) joined++; // the history's dirty rows left a few product ids invalid
      i += `${id('i', base + item++)},${id('o', base + k)},${product},${((k % 97) + 1).toFixed(2)},${k % 13 === 0 ? 'Returned' : 'Complete'}\n`;
    }
  }
  mkdirSync(path.join(dir, 'orders'), { recursive: true });
  mkdirSync(path.join(dir, 'order_items'), { recursive: true });
  writeFileSync(path.join(dir, 'orders', `new_${r}.csv`), o);
  writeFileSync(path.join(dir, 'order_items', `new_${r}.csv`), i);
  return joined;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const arg = (name: string) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? Number(process.argv[at + 1]) : undefined;
  };
  const history = arg('--history');
  const at = process.argv.indexOf('--id-style');
  const style = (at > 0 ? process.argv[at + 1] : 'decimal') as IdStyle;
  if (!ID_STYLES.includes(style)) throw new Error(`--id-style must be one of ${ID_STYLES.join(', ')}`);
  const runs = arg('--runs') ?? 5;
  const items = history ?? arg('--items') ?? 27000;
  const dir = path.join(
    __dirname,
    '..',
    '..',
    '.bench',
    style === 'decimal' ? `local-${items}` : `local-${items}-${style}`,
  );
  if (!existsSync(path.join(dir, '.complete'))) {
    generate(dir, { items, seed: 3, dirty: 0.01, partRows: Math.max(2000, Math.ceil(items / 10)), idStyle: style });
    writeFileSync(path.join(dir, '.complete'), '');
  }
  const plan = planUpload(dir);
  const { stack, pipeline } = await benchStack(
    (l) => void (process.env.BENCH_LOG && /batch_applied|bulk_applied|transform_done/.test(l) && console.log(l)),
  );
  const d = new Dispatcher(pipeline, 100);
  stack.onObjectCreated((k) => d.enqueue(k));
  const t0 = performance.now();
  await upload(new Bucket(stack.clients.s3, stack.bucket), plan);
  const tUp = performance.now();
  await d.idle();
  const t1 = performance.now();
  const store = new KpiStore(stack.clients.ddb, stack.categoryTable, stack.orderTable);
  let want = await computeDir(dir);
  const latencies: number[] = [];
  let expectDir = dir;
  if (history !== undefined) {
    const mb0 = plan.reduce((s, p) => s + p.size, 0) / 1e6;
    console.log(
      `history: ${items.toLocaleString()} items (${mb0.toFixed(1)} MB) loaded in ${((t1 - t0) / 1000).toFixed(2)} s`,
    );
    // kpi compute must see the history and every new day, in upload order (new_* names sort after part files).
    expectDir = mkdtempSync(path.join(os.tmpdir(), 'kpi-bench-expected-'));
    cpSync(dir, expectDir, { recursive: true });
    const products = Math.max(50, Math.min(30000, Math.ceil(items / 4)));
    const last = want.order_kpis.at(-1)!.order_date;
    const valid = new Set([...winningProducts(want.tables)].map((p) => p.id));
    for (let r = 1; r <= runs; r++) {
      const date = new Date(Date.parse(last) + r * 86400_000).toISOString().slice(0, 10);
      const day = mkdtempSync(path.join(os.tmpdir(), 'kpi-bench-day-'));
      const joined = newDay(day, r, date, products, valid, style);
      newDay(expectDir, r, date, products, valid, style);
      const ta = performance.now();
      await upload(new Bucket(stack.clients.s3, stack.bucket), planUpload(day));
      for (let n = 0; ; n++) {
        const row = await store.getDate(date);
        if (row && row.total_items_sold === joined) break;
        if (n === 3000) throw new Error(`no KPIs for ${date} after 30 s: ${JSON.stringify(row)}`);
        await new Promise((res) => setTimeout(res, 10));
      }
      const ms = performance.now() - ta;
      latencies.push(ms);
      await d.idle();
      console.log(`new day ${r} (${date}, 1,000 orders, 1,500 items): upload → KPIs ${(ms / 1000).toFixed(2)} s`);
    }
    if (process.argv.includes('--recategorize')) {
      const one = mkdtempSync(path.join(os.tmpdir(), 'kpi-bench-recat-'));
      for (const d of [one, expectDir]) {
        mkdirSync(path.join(d, 'products'), { recursive: true });
        const lines = Array.from({ length: 10 }, (_, k) => `${k + 1},Recategorised\n`).join('');
        writeFileSync(path.join(d, 'products', 'zz_recategorize.csv'), `id,category\n${lines}`);
      }
      let peak = 0;
      const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 10);
      const ta = performance.now();
      await upload(new Bucket(stack.clients.s3, stack.bucket), planUpload(one));
      await d.idle();
      const ms = performance.now() - ta;
      clearInterval(sample);
      const days = (await store.readAll()).category_kpis.filter((c) => c.category === 'Recategorised').length;
      console.log(
        `recategorize product 1 (${days} days): upload → tables ${(ms / 1000).toFixed(2)} s, peak heap of the pipeline thread ${(peak / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    want = await computeDir(expectDir);
  }
  const got = await store.readAll();
  const lake = await new Bucket(stack.clients.s3, stack.bucket).list('curated/');
  const lakeBytes = lake.reduce((n, o) => n + o.size, 0);
  const joined = got.order_kpis.reduce((n, o) => n + o.total_items_sold, 0);
  console.log(
    `lake: ${lake.length} files, ${(lakeBytes / 1e6).toFixed(1)} MB, ${(lakeBytes / joined).toFixed(1)} bytes per joined item`,
  );
  const equal =
    isDeepStrictEqual(got.category_kpis, want.category_kpis) && isDeepStrictEqual(got.order_kpis, want.order_kpis);
  await stack.close();
  const mb = plan.reduce((s, p) => s + p.size, 0) / 1e6;
  console.log(
    `${items.toLocaleString()} items, ${plan.length} files, ${mb.toFixed(1)} MB: upload ${((tUp - t0) / 1000).toFixed(2)} s, all KPIs queryable after ${((t1 - t0) / 1000).toFixed(2)} s (${d.batches.length} batches), tables equal kpi compute: ${equal ? 'yes' : 'NO'}`,
  );
  if (latencies.length)
    console.log(
      `history ${items.toLocaleString()} items: median upload → KPI latency of a new day ${(median(latencies) / 1000).toFixed(2)} s over ${latencies.length} days; tables equal kpi compute: ${equal ? 'yes' : 'NO'}`,
    );
  if (!equal || d.errors.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
