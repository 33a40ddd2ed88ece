// Every SPEC row rule, with a small fixture each, and the order in which reasons apply.
import test from 'ava';
import { computeFiles, PRODUCTS, ORDERS } from '../helpers';
import type { RejectedRow } from '../../runtime/core/join/join';

async function rejectsOf(files: Record<string, string>) {
  const rows: RejectedRow[] = [];
  const r = await computeFiles(files, { onReject: (x) => rows.push(x) });
  return { r, rows };
}

const ITEMS_H = 'id,order_id,product_id,sale_price,created_at,shipped_at,delivered_at\n';

test('missing_field: an empty required column', async (t) => {
  const { rows } = await rejectsOf({
    'products/p.csv': PRODUCTS,
    'orders/o.csv':
      'order_id,user_id,status,created_at\no1,,Complete,2025-03-01T10:00:00\no2,u2, ,2025-03-01T10:00:00\n',
  });
  t.deepEqual(
    rows.map((x) => [x.reason, x.line]),
    [
      ['missing_field', 2],
      ['missing_field', 3],
    ],
  );
});

test('bad_price: not a non-negative decimal with a dot', async (t) => {
  const { rows } = await rejectsOf({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'order_items/i.csv': 'id,order_id,product_id,sale_price\n1,o1,p1,"1,5"\n2,o1,p1,-2\n3,o1,p1,abc\n4,o1,p1,3.50\n',
  });
  t.deepEqual(
    rows.map((x) => x.reason),
    ['bad_price', 'bad_price', 'bad_price'],
  );
  t.deepEqual(rows[0].fields, ['1', 'o1', 'p1', '1,5']);
});

test('bad_timestamp: an impossible date in any timestamp column', async (t) => {
  const { rows } = await rejectsOf({
    'products/p.csv': PRODUCTS,
    'orders/o.csv':
      'order_id,user_id,status,created_at,returned_at\no1,u1,Complete,2025-02-30T10:00:00,\no2,u1,Complete,2025-02-20T10:00:00,not a date\no3,u1,Complete,2025-02-20T10:00:00,\n',
  });
  t.deepEqual(
    rows.map((x) => [x.reason, x.fields[0]]),
    [
      ['bad_timestamp', 'o1'],
      ['bad_timestamp', 'o2'],
    ],
  );
});

test('bad_integer: num_of_item present and not a non-negative integer', async (t) => {
  const { rows } = await rejectsOf({
    'products/p.csv': PRODUCTS,
    'orders/o.csv':
      'order_id,user_id,status,created_at,num_of_item\no1,u1,Complete,2025-02-20T10:00:00,two\no2,u1,Complete,2025-02-20T10:00:00,-1\no3,u1,Complete,2025-02-20T10:00:00,\no4,u1,Complete,2025-02-20T10:00:00,3\n',
  });
  t.deepEqual(
    rows.map((x) => x.fields[0]),
    ['o1', 'o2'],
  );
  t.true(rows.every((x) => x.reason === 'bad_integer'));
});

test('shipped_before_created and delivered_before_shipped compare instants, zones included', async (t) => {
  const { rows } = await rejectsOf({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'order_items/i.csv':
      ITEMS_H +
      '1,o1,p1,1.00,2025-03-01T10:00:00,2025-03-01T09:59:59,\n' + // shipped before created
      '2,o1,p1,1.00,2025-03-01T10:00:00,2025-03-01T11:00:00+02:00,\n' + // 09:00Z: before created
      '3,o1,p1,1.00,2025-03-01T10:00:00,2025-03-01T12:00:00,2025-03-01T11:00:00\n' + // delivered before shipped
      '4,o1,p1,1.00,2025-03-01T10:00:00,2025-03-01T10:00:00.5,2025-03-01T10:00:00.25\n' + // fraction decides
      '5,o1,p1,1.00,2025-03-01T10:00:00,2025-03-01T10:00:00,2025-03-01T10:00:00\n', // equal is fine
  });
  t.deepEqual(
    rows.map((x) => [x.fields[0], x.reason]),
    [
      ['1', 'shipped_before_created'],
      ['2', 'shipped_before_created'],
      ['3', 'delivered_before_shipped'],
      ['4', 'delivered_before_shipped'],
    ],
  );
});

test('duplicate_key: the first occurrence stands, even when it is itself invalid', async (t) => {
  const { r, rows } = await rejectsOf({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'order_items/i.csv': 'id,order_id,product_id,sale_price\n1,o1,p1,1.00\n1,o1,p1,9.00\n2,o1,p1,bad\n2,o1,p1,2.00\n',
  });
  t.deepEqual(
    rows.map((x) => [x.fields[0], x.reason, x.line]),
    [
      ['1', 'duplicate_key', 3],
      ['2', 'bad_price', 4],
      ['2', 'duplicate_key', 5],
    ],
  );
  t.is(r.order_kpis[0].total_revenue, 1);
});

test('unknown_order and unknown_product: items that do not join', async (t) => {
  const { r, rows } = await rejectsOf({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS + 'o9,u9,Complete,2025-02-30T00:00:00\n',
    'order_items/i.csv':
      'id,order_id,product_id,sale_price\n1,o1,p1,1.00\n2,nope,p1,1.00\n3,o1,nope,1.00\n4,nope,nope,1.00\n5,o9,p1,1.00\n',
  });
  t.deepEqual(
    rows.filter((x) => x.entity === 'order_items').map((x) => [x.fields[0], x.reason]),
    [
      ['2', 'unknown_order'],
      ['3', 'unknown_product'],
      ['4', 'unknown_order'],
      ['5', 'unknown_order'],
    ],
  );
  t.is(r.items, 1);
  t.deepEqual(r.rejected, { bad_timestamp: 1, unknown_order: 3, unknown_product: 1 });
});

test('reasons apply in SPEC order: the first one wins', async (t) => {
  const { rows } = await rejectsOf({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'order_items/i.csv':
      ITEMS_H +
      '1,o1,,x,bad,bad,\n' + // missing_field beats bad_price and bad_timestamp
      '2,o1,p1,x,bad,,\n' + // bad_price beats bad_timestamp
      '3,zz,p1,1.00,bad,,\n' + // bad_timestamp beats unknown_order
      '4,o1,p1,1.00,2025-03-01T10:00:00,2025-03-01T09:00:00,2025-03-01T08:00:00\n' + // shipped_before_created first
      '4,zz,zz,1.00,,,\n', // duplicate_key beats unknown_*
  });
  t.deepEqual(
    rows.map((x) => x.reason),
    ['missing_field', 'bad_price', 'bad_timestamp', 'shipped_before_created', 'duplicate_key'],
  );
});

test('values are trimmed and status matching ignores case', async (t) => {
  const r = await computeFiles({
    'products/p.csv': 'id,category\n p1 , Jeans \n',
    'orders/o.csv': 'order_id,user_id,status,created_at\n o1 ,u1, RETURNED ,  2025-03-01T10:00:00  \n',
    'order_items/i.csv': 'id,order_id,product_id,sale_price\n1, o1 ,p1, 2.50 \n',
  });
  t.is(r.category_kpis[0].category, 'Jeans');
  t.is(r.category_kpis[0].return_rate, 1);
  t.is(r.order_kpis[0].return_rate, 1);
});
