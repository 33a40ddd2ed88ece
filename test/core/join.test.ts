// Upserts across files, the join, and what "returned" means (SPEC.md: Row rules, Joined item).
import test from 'ava';
import { joinedDays } from '../../reference/joined-days';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computeFiles, PRODUCTS, ORDERS } from '../helpers';
import { computeDir } from '../../runtime/core/compute';
import { generate } from '../../runtime/cli/generate';
import type { Tables } from '../../runtime/core/join/join';
import { materialize } from '../../reference/materialize';
import { encodeLakeColumns, encodeLakeFile } from '../../runtime/core/formats/parquet';
import { canonical } from '../../runtime/state/lake';
import { aggregateWasm } from '../../runtime/core/aggregate/kernel';
import { aggregateReference } from '../../reference/aggregate';
import { sortAggregates } from '../../runtime/core/aggregate/aggregates';

test('a later file upserts: its version of an order replaces the earlier one', async (t) => {
  const r = await computeFiles({
    'products/p.csv': PRODUCTS,
    'orders/a.csv': ORDERS,
    'orders/b.csv': 'order_id,user_id,status,created_at\no1,u9,Returned,2025-03-02T10:00:00\n',
    'order_items/i.csv': 'id,order_id,product_id,sale_price\n1,o1,p1,10.00\n2,o2,p2,5.00\n',
  });
  t.deepEqual(
    r.order_kpis.map((o) => [o.order_date, o.total_orders, o.total_revenue, o.unique_customers, o.return_rate]),
    [
      ['2025-03-01', 1, 5, 1, 1],
      ['2025-03-02', 1, 10, 1, 1],
    ],
  );
});

test('a rejected row in a later file changes nothing', async (t) => {
  const r = await computeFiles({
    'products/p.csv': PRODUCTS,
    'products/q.csv': 'id,category\np1,\n', // missing category: p1 stays Jeans
    'orders/a.csv': ORDERS,
    'orders/b.csv': 'order_id,user_id,status,created_at\no1,u1,Complete,2025-02-30T10:00:00\n',
    'order_items/i.csv': 'id,order_id,product_id,sale_price\n1,o1,p1,10.00\n',
    'order_items/j.csv': 'id,order_id,product_id,sale_price\n1,o1,p1,oops\n1,missing,p1,3.00\n',
  });
  t.is(r.category_kpis.length, 1);
  t.like(r.category_kpis[0], { category: 'Jeans', order_date: '2025-03-01', daily_revenue: 10 });
  t.deepEqual(r.rejected, { missing_field: 1, bad_timestamp: 1, bad_price: 1, duplicate_key: 1 });
});

test('the same file delivered twice changes nothing', async (t) => {
  const items = 'id,order_id,product_id,sale_price\n1,o1,p1,10.00\n2,o2,p2,5.00\n';
  const once = await computeFiles({ 'products/p.csv': PRODUCTS, 'orders/a.csv': ORDERS, 'order_items/i.csv': items });
  const twice = await computeFiles({
    'products/p.csv': PRODUCTS,
    'orders/a.csv': ORDERS,
    'orders/a2.csv': ORDERS,
    'order_items/i.csv': items,
    'order_items/i2.csv': items,
  });
  t.deepEqual(twice.category_kpis, once.category_kpis);
  t.deepEqual(twice.order_kpis, once.order_kpis);
  t.deepEqual(twice.rejected, {});
});

test('order_date is the UTC date of the order, not of the item', async (t) => {
  const r = await computeFiles({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': 'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T01:00:00+02:00\n',
    'order_items/i.csv': 'id,order_id,product_id,sale_price,created_at\n1,o1,p1,1.00,2025-03-05T10:00:00\n',
  });
  t.is(r.order_kpis[0].order_date, '2025-02-28');
});

test('returned: the item status wins; with no item status the order status decides', async (t) => {
  const r = await computeFiles({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS, // o1 Complete, o2 Returned
    'order_items/i.csv':
      'id,order_id,product_id,sale_price,status\n1,o1,p1,1.00,returned\n2,o2,p1,1.00,Complete\n3,o2,p1,1.00,\n4,o1,p1,1.00,\n',
  });
  const jeans = r.category_kpis[0];
  t.is(jeans.items, 4);
  t.is(jeans.returned_items, 2); // item 1 (own status) and item 3 (order's)
  t.is(jeans.return_rate, 0.5);
  t.is(r.order_kpis[0].return_rate, 0.5); // per order: o2 of {o1, o2}
});

test('category KPIs: distinct orders per category and revenue per order', async (t) => {
  const r = await computeFiles({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'order_items/i.csv':
      'id,order_id,product_id,sale_price\n1,o1,p1,10.00\n2,o1,p1,20.00\n3,o1,p2,1.00\n4,o2,p1,0.01\n',
  });
  t.deepEqual(
    r.category_kpis.map((c) => [
      c.category,
      c.items,
      c.orders,
      c.daily_revenue,
      c.avg_order_value,
      c.revenue_per_order,
    ]),
    [
      ['Jeans', 3, 2, 30.01, 10, 15.01],
      ['Tops', 1, 1, 1, 1, 1],
    ],
  );
  t.like(r.order_kpis[0], {
    total_orders: 2,
    total_items_sold: 4,
    total_revenue: 31.01,
    unique_customers: 2,
    revenue_per_order: 15.51,
  });
});

test('the join scatters items into windows of any size (orders spanning two or more windows) in (day, order) order', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-windows-'));
  generate(dir, { items: 3000, seed: 5, dirty: 0.02, partRows: 700 });
  const { tables } = await computeDir(dir);
  const whole = materialize(tables.joinSource());
  t.true(whole.n > 2500);
  // (day, order) order: days ascending, an order's items together
  const seen = new Set<number>();
  for (let i = 0; i < whole.n; i++) {
    if (i && whole.day[i]! < whole.day[i - 1]!) return t.fail(`day order broken at ${i}`);
    if (i && whole.order[i] !== whole.order[i - 1]) {
      t.false(seen.has(whole.order[i]!), `order ${whole.order[i]} split`);
      seen.add(whole.order[i - 1]!);
    }
  }
  const expected = sortAggregates(aggregateReference(whole));
  for (const window of [1, 2, 3, 7, 64, 999, 4096])
    t.deepEqual(sortAggregates(aggregateWasm(tables.joinSource(), window)), expected, `window ${window}`);
});

/** Each day's lake file from the typed columns vs from the joined rows (item_id order). */
async function sameLakeFiles(t: import('ava').ExecutionContext, tables: Tables): Promise<number> {
  const rowDays = [...joinedDays(tables)];
  const want = await Promise.all(rowDays.map(async (d) => Buffer.from(await encodeLakeFile(canonical(d.rows)))));
  // scatter windows smaller than a day (a day gathered from several) and larger
  for (const window of [1, 7, 100, 1 << 20]) {
    const colDays = [...tables.joinedDayColumns(window)];
    t.deepEqual(
      colDays.map((d) => d.day),
      rowDays.map((d) => d.day),
    );
    for (let i = 0; i < rowDays.length; i++)
      t.deepEqual(
        Buffer.from(encodeLakeColumns(colDays[i]!.cols, tables.lakeDicts)),
        want[i],
        `day ${rowDays[i]!.day}, window ${window}`,
      );
  }
  return rowDays.length;
}

test("lake columns give each day's file the bytes of its joined rows: generated numeric ids", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-lakecols-'));
  generate(dir, { items: 4000, seed: 9, dirty: 0.02, partRows: 900 });
  const { tables } = await computeDir(dir);
  t.true((await sameLakeFiles(t, tables)) > 30);
});

test('lake columns with text ids, ids of 9 and 10 digits, and a non-ASCII category', async (t) => {
  const res = await computeFiles({
    'products/p.csv': 'id,category\np1,Jeans\n7,Ärmel\n',
    'orders/o.csv':
      'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\n99,,Returned,2025-03-01T11:00:00\n1234567890,u3,Complete,2025-03-02T09:00:00\n',
    'order_items/i.csv':
      'id,order_id,product_id,sale_price,status\n10,o1,p1,10.005,\n9,o1,7,5.50,Returned\nitem-é,99,p1,0.125,\n999999999,99,7,3,\n1000000000,1234567890,7,7.25,\n',
  });
  t.is(await sameLakeFiles(t, res.tables), 2);
});
