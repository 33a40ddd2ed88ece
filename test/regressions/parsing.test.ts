// Regressions of the CSV and row stages (issue 8, items 3, 4, 7, 8, 11): one test per reported bug.
import test from 'ava';
import { Readable } from 'node:stream';
import { FastCsvScanner, NotCsv, parseWithCsvParse, readCsv } from '../../runtime/core/parse/csv';
import { computeFiles } from '../helpers';

const ITEMS_16_19 =
  'id,order_id,product_id,sale_price\ni16,o1,16,1.00\ni17,o1,17,2.00\ni18,o1,18,3.00\ni19,o1,19,4.00\n';
const ORDER = 'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\n';

test('mixed \\n and \\r\\n line ends with a bare CR inside a field: every product read, the CR is data', async (t) => {
  const products = 'id,category\r\n16,MixedA\n17,MixedB\n18,Mixed\rC\r\n19,Jeans\r\n';
  const r = await computeFiles({ 'products/p.csv': products, 'orders/o.csv': ORDER, 'order_items/i.csv': ITEMS_16_19 });
  t.deepEqual(r.rejected, {});
  t.deepEqual(
    r.category_kpis.map((c) => [c.category, c.daily_revenue]),
    [
      ['Jeans', 4],
      ['Mixed\rC', 3],
      ['MixedA', 1],
      ['MixedB', 2],
    ],
  );
});

test('bad_encoding comes first; categories that would decode alike stay apart or are rejected (no duplicate table keys)', async (t) => {
  const products = Buffer.concat([
    Buffer.from('id,category\n16,Caf'),
    Buffer.from([0xe9]),
    Buffer.from('\n17,Caf'),
    Buffer.from([0xe8]),
    Buffer.from('\n18,\uFEFFJeans\n19,Jeans\n20,'),
    Buffer.from([0xed, 0xa0, 0x80]),
    Buffer.from('\n'), // a surrogate is not UTF-8 either
  ]);
  const items = ITEMS_16_19 + 'i20,o1,20,5.00\ni21,o1,16,\n';
  const rejected: string[] = [];
  const r = await computeFiles(
    { 'products/p.csv': products, 'orders/o.csv': ORDER, 'order_items/i.csv': items },
    { onReject: (x) => rejected.push(`${x.entity}:${x.line}:${x.reason}`) },
  );
  t.deepEqual(
    rejected.filter((x) => x.startsWith('products')),
    ['products:2:bad_encoding', 'products:3:bad_encoding', 'products:6:bad_encoding'],
  );
  const cats = r.category_kpis.map((c) => c.category);
  t.deepEqual(cats, ['Jeans', '\uFEFFJeans']); // a U+FEFF inside a value is part of it
  t.is(new Set(cats).size, cats.length);
});

test('200k held items: no stack overflow from spreading them', async (t) => {
  let items = 'id,order_id,product_id,sale_price\n';
  const rows: string[] = [];
  for (let i = 0; i < 200_000; i++) rows.push(`i${i},late${i},p1,1.00`);
  items += rows.join('\n') + '\n';
  const r = await computeFiles(
    { 'products/p.csv': 'id,category\np1,Jeans\n', 'order_items/i.csv': items },
    { unknownMode: 'hold' },
  );
  t.is(r.held.length, 200_000);
  t.is(r.held[199_999].reason, 'unknown_order');
});

test('csv-parse fallback: a failing source is reported as that failure, not as "not CSV"', async (t) => {
  async function* failing(): AsyncIterable<Uint8Array> {
    yield Buffer.from('id,category\n1,5" screen\n');
    throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  }
  const err = await t.throwsAsync(
    parseWithCsvParse(failing(), () => {}),
    { message: 'socket hang up' },
  );
  t.false(err instanceof NotCsv);
  t.is((err as NodeJS.ErrnoException).code, 'ECONNRESET');
  // Through readCsv: the fast scanner declines the bare quote, the fallback's source fails.
  const err2 = await t.throwsAsync(
    readCsv(
      () => failing(),
      () => {},
      () => {},
    ),
    { message: 'socket hang up' },
  );
  t.false(err2 instanceof NotCsv);
  // Real CSV trouble is still NotCsv.
  await t.throwsAsync(
    parseWithCsvParse(Readable.from([Buffer.from('a,b\n"open,1\n')]), () => {}),
    { instanceOf: NotCsv },
  );
});

test('a single-line 8 MB file read in 16 KB chunks is scanned in linear work, not quadratic', (t) => {
  const size = 8 << 20;
  const line = Buffer.alloc(size, 0x61); // one field, one line, no newline: the worst case for carrying
  let records = 0;
  const sc = new FastCsvScanner((rec) => {
    records++;
    t.is(rec.ends[0] - rec.starts[0], size);
  });
  for (let p = 0; p < size; p += 16384) sc.push(line.subarray(p, p + 16384));
  sc.end();
  t.is(records, 1);
  // Rescanning the whole carry at every chunk would be 512 × 4 MB on average = 2 GB.
  t.true(sc.scanned <= 4 * size, `scanned ${sc.scanned} bytes for ${size}`);
});

test('a bad_encoding row still claims its key: a later row of the same file with that key is duplicate_key', async (t) => {
  // The rule check stopped before trimming the fields, so the key was read at the previous row's offsets.
  const orders = Buffer.concat([
    Buffer.from('order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\no2,u'),
    Buffer.from([0xff]),
    Buffer.from(',Complete,2025-03-01T10:00:00\no2,u2,Complete,2025-03-01T10:00:00\n'),
  ]);
  const items = 'id,order_id,product_id,sale_price\ni1,o1,16,1.00\ni2,o2,16,2.00\n';
  const r = await computeFiles({
    'products/p.csv': 'id,category\n16,Jeans\n',
    'orders/o.csv': orders,
    'order_items/i.csv': items,
  });
  t.deepEqual(r.rejected, { bad_encoding: 1, duplicate_key: 1, unknown_order: 1 });
  t.deepEqual(
    r.order_kpis.map((o) => [o.order_date, o.total_orders, o.total_revenue]),
    [['2025-03-01', 1, 1]],
  );
});
