// The history SQL (runtime/history/sql.ts) run by DuckDB over validated-zone files gives the KPIs
// kpi compute gives (itself held equal to the independent DuckDB oracle over the CSVs in
// test/core/golden.test.ts): upserts across files, per-file duplicates, holds never resolved,
// dirty rows; and it spills instead of failing when the data exceeds its memory limit.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computeDir } from '../../runtime/core/compute';
import { generate } from '../../runtime/cli/generate';
import { HistoryEngine } from '../../runtime/history/duckdb';
import { HELD_SQL } from '../../runtime/state/bulk';
import { ROOT, writeTree } from '../helpers';
import { zoneOf } from './zone-files';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'kpi-history-'));

async function sqlKpis(dir: string, memoryMiB = 256, threads = 2) {
  const engine = await HistoryEngine.open(await zoneOf(dir, tmp()), { memoryMiB, threads, tempDir: tmp() });
  try {
    return await engine.kpis();
  } finally {
    engine.close();
  }
}

const cases: [string, () => string][] = [
  ['the repository sample (data/)', () => path.join(ROOT, 'data')],
  [
    'upserts and text: an order moved to another day, a product re-categorised, a later item version naming an unknown order',
    () =>
      writeTree({
        // a category and an id starting with U+FEFF stay apart from the same text without it
        'products/1.csv': 'id,category\np1,Jeans\np2,Tops\np3,\uFEFFJeans\n\uFEFFp1,Tops\n',
        'products/2.csv': 'id,category\np2,Shoes\n',
        'orders/1.csv':
          'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00Z\no2,u2,Returned,2025-03-01T11:00:00Z\n',
        'orders/2.csv': 'order_id,user_id,status,created_at\no1,u1,Returned,2025-03-02T10:00:00Z\n',
        'order_items/1.csv':
          'id,order_id,product_id,sale_price,status\ni1,o1,p1,10.005,\ni2,o1,p2,5.50,Complete\ni3,o2,p1,1.25,\ni3,o2,p2,9.99,\ni5,o2,p3,2.00,\ni6,o2,\uFEFFp1,4.00,\n',
        'order_items/2.csv': 'id,order_id,product_id,sale_price,status\ni1,oX,p1,99.00,\ni4,o9,p1,3.00,\n',
      }),
  ],
  ...([0, 0.03, 0.2] as const).map((dirty, i): [string, () => string] => [
    `generated, ${dirty * 100}% dirty rows, ${i === 2 ? 'UUID' : 'decimal'} ids`,
    () => {
      const d = tmp();
      generate(d, { items: 8000, seed: 21 + i, dirty, partRows: 700, idStyle: i === 2 ? 'uuid' : 'decimal' });
      return d;
    },
  ]),
];

for (const [name, dirOf] of cases)
  test(`SQL over the validated zone equals kpi compute: ${name}`, async (t) => {
    const dir = dirOf();
    const want = await computeDir(dir);
    const got = await sqlKpis(dir);
    t.true(want.category_kpis.length > 0);
    t.deepEqual(got.category_kpis, want.category_kpis);
    t.deepEqual(got.order_kpis, want.order_kpis);
  });

test('an engine given far less memory than the joined items spills to its temporary directory and stays exact', async (t) => {
  const dir = tmp();
  generate(dir, { items: 400_000, seed: 5, partRows: 50_000 });
  const want = await computeDir(dir);
  const got = await sqlKpis(dir, 64, 1);
  t.deepEqual(got.order_kpis, want.order_kpis);
  t.deepEqual(got.category_kpis, want.category_kpis);
});

test('regression: the bulk path’s held-rows query spills (it was a mark join that ran out of 100 MiB at 1M items)', async (t) => {
  const dir = tmp();
  generate(dir, { items: 1_000_000, seed: 3, dirty: 0.01, partRows: 100_000 });
  const want = await computeDir(dir, { unknownMode: 'hold' });
  const engine = await HistoryEngine.open(await zoneOf(dir, tmp()), { memoryMiB: 100, threads: 2, tempDir: tmp() });
  try {
    let held = 0;
    for await (const chunk of engine.rows(HELD_SQL)) held += chunk.length;
    t.true(held > 1000);
    t.is(held, want.held.length);
  } finally {
    engine.close();
  }
});
