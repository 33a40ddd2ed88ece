// Bucket keys and version order (pure functions), and reading the key out of an event.
import test from 'ava';
import {
  archiveKey,
  errRowsKey,
  parseArchive,
  parseLanding,
  unmatchedKey,
  versionOrder,
  type ArchivedVersion,
} from '../../runtime/core/layout';
import { BadEvent, keyFromEvent } from '../../runtime/stages/events';

test('landing keys: entity and name, or null outside the three entity folders', (t) => {
  t.deepEqual(parseLanding('ecommerce-data/orders/orders_part1.csv'), { entity: 'orders', name: 'orders_part1.csv' });
  t.deepEqual(parseLanding('ecommerce-data/order_items/2025/03/x.csv'), {
    entity: 'order_items',
    name: '2025/03/x.csv',
  });
  for (const k of [
    'ecommerce-data/readme.txt',
    'ecommerce-data/customers/a.csv',
    'archive/orders/a.csv',
    'ecommerce-data/orders/',
  ])
    t.is(parseLanding(k), null, k);
});

test('archive keys round-trip and sort in time order', (t) => {
  const l = { entity: 'orders' as const, name: 'a.csv' };
  const k = archiveKey(l, 1740823200000);
  t.is(k, 'archive/orders/a.csv/1740823200000.csv');
  t.deepEqual(parseArchive(k), { ...l, millis: 1740823200000 });
  t.true(archiveKey(l, 999999999999) < archiveKey(l, 1000000000000)); // zero-padded: key order is time order
  t.is(errRowsKey(l, 5), 'err/rows/orders/a.csv/0000000000005.csv');
  t.is(unmatchedKey({ entity: 'order_items', name: 'i.csv' }, 5), 'err/unmatched/order_items/i.csv/0000000000005.csv');
  t.is(parseArchive('archive/orders/a.csv'), null);
});

test('version order: upload time first, then the landing key', (t) => {
  const v = (name: string, millis: number): ArchivedVersion => ({
    entity: 'orders',
    name,
    millis,
    key: archiveKey({ entity: 'orders', name }, millis),
    etag: '',
    size: 0,
  });
  const sorted = [v('b.csv', 2000), v('a.csv', 2000), v('z.csv', 1000)].sort(versionOrder);
  t.deepEqual(
    sorted.map((x) => x.name),
    ['z.csv', 'a.csv', 'b.csv'],
  );
});

test('the object key from an EventBridge or S3 notification event', (t) => {
  t.is(
    keyFromEvent(JSON.stringify({ detail: { object: { key: 'ecommerce-data/orders/a.csv' } } })),
    'ecommerce-data/orders/a.csv',
  );
  t.is(
    keyFromEvent(JSON.stringify({ Records: [{ s3: { object: { key: 'ecommerce-data/products/p.csv' } } }] })),
    'ecommerce-data/products/p.csv',
  );
  t.is(keyFromEvent(undefined), undefined);
  t.throws(() => keyFromEvent('{not json'), { instanceOf: BadEvent, message: /KPI_EVENT is not valid JSON/ });
});
