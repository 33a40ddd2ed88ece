// The dashboard's data model: day-aligned columns in exact cents, categories by revenue.
import test from 'ava';
import { dashboardData, toCents } from '../../runtime/dashboard/data';
import type { KpiTables } from '../../runtime/core/aggregate/kpis';

const cat = (
  category: string,
  order_date: string,
  daily_revenue: number,
  items: number,
  orders: number,
  returned_items: number,
) => ({
  category,
  order_date,
  daily_revenue,
  avg_order_value: 0,
  return_rate: 0,
  revenue_per_order: 0,
  items,
  orders,
  returned_items,
});
const day = (order_date: string, total_revenue: number, total_orders: number, returned_orders: number) => ({
  order_date,
  total_orders,
  total_revenue,
  total_items_sold: total_orders * 2,
  unique_customers: total_orders,
  revenue_per_order: 0,
  return_rate: 0,
  returned_orders,
});

test('columns are aligned on every order date, amounts in exact integer cents, categories by revenue', (t) => {
  const kpis: KpiTables = {
    category_kpis: [
      cat('Jeans', '2025-03-02', 0.07, 1, 1, 0),
      cat('Tops', '2025-03-01', 1234567.89, 3, 2, 1),
      cat('Tops', '2025-03-02', 0.1, 1, 1, 1),
    ],
    order_kpis: [day('2025-03-01', 1234567.89, 2, 1), day('2025-03-02', 0.17, 2, 1)],
  };
  const d = dashboardData(kpis, { category_table: 'c', order_table: 'o' }, null, new Date('2026-01-01T00:00:00Z'));
  t.deepEqual(d.days, ['2025-03-01', '2025-03-02']);
  t.deepEqual(d.daily.revenue_cents, [123456789, 17]);
  t.deepEqual(d.daily.returned_orders, [1, 1]);
  t.deepEqual(
    d.categories.map((c) => [c.name, c.revenue_cents, c.total_revenue_cents]),
    [
      ['Tops', [123456789, 10], 123456799],
      ['Jeans', [0, 7], 7],
    ],
  );
  // 0.1 + 0.07 in floats is 0.17000000000000001; in cents it is 17
  t.is(toCents(0.1) + toCents(0.07), 17);
});

test('rows written before returned_orders existed fall back to the rate (exact below 10,000 orders a day)', (t) => {
  const old = { ...day('2025-03-01', 10, 7, 0), return_rate: 0.4286 } as Partial<ReturnType<typeof day>>;
  delete old.returned_orders;
  const d = dashboardData(
    { category_kpis: [], order_kpis: [old as ReturnType<typeof day>] },
    { category_table: 'c', order_table: 'o' },
    null,
  );
  t.deepEqual(d.daily.returned_orders, [3]);
});

test('ten years × 30 categories: one payload of about 2 MB of JSON (before gzip)', (t) => {
  const category_kpis = [];
  const order_kpis = [];
  const start = Date.UTC(2016, 0, 1);
  for (let i = 0; i < 3653; i++) {
    const date = new Date(start + i * 86400000).toISOString().slice(0, 10);
    order_kpis.push(day(date, 123456.78, 400, 31));
    for (let c = 0; c < 30; c++) category_kpis.push(cat(`Category ${c}`, date, 4115.23, 20, 13, 2));
  }
  const d = dashboardData({ category_kpis, order_kpis }, { category_table: 'c', order_table: 'o' }, null);
  t.is(d.days.length, 3653);
  t.is(d.categories.length, 30);
  const bytes = JSON.stringify(d).length;
  t.true(bytes < 2_500_000, `${bytes} bytes`);
});
