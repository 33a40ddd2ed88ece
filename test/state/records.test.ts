// The bulk run's item, order and product records written from typed columns have exactly the bytes
// of the same records built as strings (key(), itemVal, orderVal, JSON of the category).
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computeDir } from '../../runtime/core/compute';
import { generate } from '../../runtime/cli/generate';
import { encodeRun, RunWriter, type Rec } from '../../runtime/state/runfile';
import type { Tables } from '../../runtime/core/join/join';
import fc from 'fast-check';
import type { DayKpis } from '../../runtime/core/aggregate/daykpis';
import { dayVal, iKey, idRecords, itemVal, oKey, orderVal, pKey, type DayRec } from '../../runtime/state/records';
import { winningItems, winningOrders, winningProducts } from '../../reference/winners';
import { computeFiles } from '../helpers';

const rank = (file: string) => `0000000000042\u0000${file}`;

function fromStrings(tables: Tables): Rec[] {
  const recs: Rec[] = [];
  for (const i of winningItems(tables))
    recs.push({ key: iKey(i.id), rank: rank(i.file), val: itemVal(i.order, i.product, i.cents, i.status) });
  for (const o of winningOrders(tables))
    recs.push({ key: oKey(o.id), rank: rank(o.file), val: orderVal(o.day, o.user, o.ret) });
  for (const p of winningProducts(tables))
    recs.push({ key: pKey(p.id), rank: rank(p.file), val: JSON.stringify(p.cat) });
  return recs;
}

function fromColumns(tables: Tables): Buffer {
  const chunks: Buffer[] = [];
  const w = new RunWriter((c) => chunks.push(c));
  for (const _ of idRecords(w, tables, rank));
  w.end();
  return Buffer.concat(chunks);
}

test('generated files (decimal ids, dirty rows, several versions): the same run bytes', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-staterecs-'));
  generate(dir, { items: 6000, seed: 11, dirty: 0.03, partRows: 1500 });
  const { tables } = await computeDir(dir);
  const recs = fromStrings(tables);
  t.true(recs.length > 8000);
  t.deepEqual(fromColumns(tables), encodeRun(recs).bytes);
});

test('text ids with quotes, backslashes, NUL, non-ASCII, 200 characters; a day before 1970; large cents: the same run bytes', async (t) => {
  const long = 'x'.repeat(200);
  const res = await computeFiles({
    'products/p.csv': `id,category\np1,"Je""ans"\n7,Ärmel\n${long},Tops\n"p\\2",日本\n`,
    'orders/o.csv': `order_id,user_id,status,created_at\n"o""1",u1,Complete,2025-03-01T10:00:00\n99,0,Returned,1969-12-31T23:00:00\n1234567890,"u\u00003",Complete,2025-03-02T09:00:00\nördr,ü,Complete,2025-03-02T09:00:00\n5,"u\\x",Complete,2025-03-02T09:00:00\n`,
    'order_items/i.csv': `id,order_id,product_id,sale_price,status\n10,"o""1",p1,10.005,\n9,"o""1",7,5.50,Returned\nitem-é,99,${long},0.125,\n999999999,99,"p\\2",3,\n1000000000,1234567890,7,1234567.89,\n${long},ördr,p1,1,\n"a\u0000b",5,7,2,\n`,
  });
  const recs = fromStrings(res.tables);
  t.is(recs.filter((r) => r.key.startsWith('i')).length, 7);
  t.deepEqual(fromColumns(res.tables), encodeRun(recs).bytes);
});

test('property: a day record written with its products already serialised equals JSON.stringify of the DayRec', (t) => {
  fc.assert(
    fc.property(
      fc.string(),
      fc.nat(),
      fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
      fc.array(fc.string({ unit: 'binary' })),
      fc.dictionary(fc.string(), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string())),
      (file, n, cents, products, kpi) => {
        const kpis = { order: kpi, categories: [kpi] } as unknown as DayKpis;
        const rec: DayRec = { file, n, cents, products, kpis };
        t.is(dayVal({ file, n, cents, productsJson: JSON.stringify(products) }, kpis), JSON.stringify(rec));
      },
    ),
  );
});
