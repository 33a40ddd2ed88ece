import test from 'ava';
import { centsToText, divHalfUp, ratio } from '../../runtime/core/aggregate/money';
import { computeFiles, PRODUCTS } from '../helpers';

test('half-up rounding on exact integers', (t) => {
  t.is(divHalfUp(125, 10), 13); // 12.5 → 13
  t.is(divHalfUp(124, 10), 12);
  t.is(divHalfUp(1, 3), 0);
  t.is(divHalfUp(2, 3), 1);
  t.is(divHalfUp(2 ** 52, 3), Math.round(2 ** 52 / 3)); // big path
  t.is(ratio(1, 8), 0.125);
  t.is(ratio(1, 3), 0.3333);
  t.is(ratio(2, 3), 0.6667);
  t.is(ratio(1, 20000), 0.0001); // 0.00005 → half-up
  t.is(ratio(0, 0), 0);
  t.is(centsToText(1234), '12.34');
  t.is(centsToText(5), '0.05');
});

test('a mean of 0.125 per item rounds to 0.13, not banker 0.12', async (t) => {
  // Two items 0.12 + 0.13 = 0.25 over 2 items = 0.125 → 0.13
  const r = await computeFiles({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': 'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\n',
    'order_items/i.csv': 'id,order_id,product_id,sale_price\n1,o1,p1,0.12\n2,o1,p1,0.13\n',
  });
  t.is(r.category_kpis[0].avg_order_value, 0.13);
  t.is(r.category_kpis[0].daily_revenue, 0.25);
});

test('exact cents over a million additions', async (t) => {
  const n = 1_000_000;
  let items = 'id,order_id,product_id,sale_price\n';
  const rows: string[] = [];
  for (let i = 0; i < n; i++) rows.push(`${i},o1,p1,0.1`);
  items += rows.join('\n') + '\n';
  const r = await computeFiles({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': 'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\n',
    'order_items/i.csv': items,
  });
  let float = 0;
  for (let i = 0; i < n; i++) float += 0.1;
  t.not(float, 100000); // the float sum drifts...
  t.is(r.order_kpis[0].total_revenue, 100000); // ...the pipeline does not
  t.is(r.order_kpis[0].total_items_sold, n);
});
