import test from 'ava';
import { joinedDays } from '../../reference/joined-days';
import fc from 'fast-check';
import {
  blockOf,
  cmp,
  decodeBlock,
  decodeIndex,
  encodeRun,
  findIn,
  key,
  prefix,
  type Rec,
} from '../../runtime/state/runfile';
import { daysFromCivil, civilFromDays } from '../../runtime/core/parse/timestamp';
import { dayKpis } from '../../runtime/core/aggregate/daykpis';
import { computeFiles } from '../helpers';

/** Every record of an encoded run, block by block, as a reader sees them. */
function readBack(bytes: Buffer, indexAt: number): Rec[] {
  const ix = decodeIndex(bytes.subarray(indexAt));
  return ix.blocks.flatMap(([, off, len]) => decodeBlock(bytes.subarray(off, off + len), ix));
}

test('keys order by kind, then part length, then text: sequential ids sort numerically', (t) => {
  const ids = ['9', '10', '99', '100', '1000000', '999999'];
  const sorted = ids.map((id) => key('o', id)).sort(cmp);
  t.deepEqual(
    sorted.map((k) => ids.find((id) => key('o', id) === k)),
    ['9', '10', '99', '100', '999999', '1000000'],
  );
  t.true(key('hq', 'o', '1', 'i1', 'r').startsWith(prefix('hq', 'o', '1')));
  // an id cannot run into the next part: "a\0" + "b" is not "a" + "\0b"
  t.false(key('hq', 'o', 'a\u0000', 'b').startsWith(prefix('hq', 'o', 'a')));
  t.not(key('x', 'a\u0000', 'b'), key('x', 'a', '\u0000b'));
});

test('property: a run reads back exactly what was written, and every key is found in its block', (t) => {
  fc.assert(
    fc.property(
      fc.uniqueArray(
        fc.record({
          key: fc.string({ unit: 'binary', maxLength: 30 }),
          rank: fc.constantFrom('', 'r1', 'r2', '0000000000001\u0000ecommerce-data/x'),
          val: fc.option(fc.string({ unit: 'binary', maxLength: 3000 }), { nil: null }),
        }),
        {
          selector: (r) => r.key,
          maxLength: 400,
        },
      ),
      (raw) => {
        const recs = [...raw].sort((a, b) => cmp(a.key, b.key));
        const run = encodeRun(recs);
        t.deepEqual(readBack(run.bytes, run.indexAt), recs);
        const ix = decodeIndex(run.bytes.subarray(run.indexAt));
        for (const r of recs) {
          const [, off, len] = ix.blocks[blockOf(ix, r.key)]!;
          t.deepEqual(findIn(decodeBlock(run.bytes.subarray(off, off + len), ix), r.key), r);
        }
        if (recs.length) t.is(run.minKey, recs[0]!.key);
      },
    ),
    { numRuns: 60 },
  );
});

test('a run refuses keys out of order (a bug would otherwise lose records silently)', (t) => {
  t.throws(
    () =>
      encodeRun([
        { key: 'b', rank: '', val: '1' },
        { key: 'a', rank: '', val: '1' },
      ]),
    { message: /out of order/ },
  );
  t.throws(
    () =>
      encodeRun([
        { key: 'a', rank: '', val: '1' },
        { key: 'a', rank: '', val: '2' },
      ]),
    { message: /out of order/ },
  );
});

test("a day's KPI rows from its joined items equal kpi compute's rows for that day", async (t) => {
  const res = await computeFiles({
    'products/p.csv': 'id,category\np1,Jeans\np2,Tops\n',
    'orders/o.csv':
      'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\no2,u1,Returned,2025-03-01T11:00:00\no3,u3,Complete,2025-03-02T09:00:00\n',
    'order_items/i.csv':
      'id,order_id,product_id,sale_price,status\ni1,o1,p1,10.005,\ni2,o1,p2,5.50,Returned\ni3,o2,p1,0.125,\ni4,o3,p2,7.25,\n',
  });
  for (const { day, rows } of joinedDays(res.tables)) {
    const date = civilFromDays(day);
    const k = dayKpis(date, rows);
    t.deepEqual(
      k.order,
      res.order_kpis.find((o) => o.order_date === date),
    );
    t.deepEqual(
      k.categories,
      res.category_kpis.filter((c) => c.order_date === date),
    );
  }
  t.is(daysFromCivil(2025, 3, 1), Math.floor(Date.UTC(2025, 2, 1) / 86400000));
});
