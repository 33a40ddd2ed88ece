// The WebAssembly row scanner (tokenizer + row rules + decimal keys) against the TypeScript
// reference (FastCsvScanner + RowRules), row by row, on random dirty files cut into random chunks.
import test from 'ava';
import fc from 'fast-check';
import { Declined, FastCsvScanner, fieldsOf } from '../../runtime/core/parse/csv';
import { verdictSlots, type RejectedRow } from '../../runtime/core/join/join';
import type { Entity } from '../../runtime/core/names';
import { scanRows, newVerdict, verdictOf, type RowVerdict } from '../../runtime/core/parse/rowscan';
import { mapHeader, RowRules, SCHEMAS } from '../../runtime/core/parse/rules';
import { Interner } from '../../runtime/core/join/intern';
import { computeFiles } from '../helpers';
import { readVersions } from '../../runtime/core/parse/versions';

interface Row {
  line: number;
  reason: string | null;
  key: string;
  keyNum: number;
  /** idHash of the key, a and b when not canonical decimals: the module's must equal idhash.ts's */
  keyHash: number;
  aHash?: number;
  bHash?: number;
  a?: string;
  b?: string;
  cents?: number;
  day?: number;
  status?: number;
  fields: string[];
}

const dec = new TextDecoder('utf-8', { ignoreBOM: true });
const text = (v: RowVerdict, s: number, e: number) => dec.decode(v.buf.subarray(s, e));
/** The decimal a key has in the dictionaries: what Interner gives it, whoever read it. */
const keyNum = (v: RowVerdict) => {
  if (v.kn >= 0) return v.kn;
  const i = new Interner();
  const id = i.intern(v.buf, v.ks, v.ke);
  const s = i.str(id);
  return /^(0|[1-9][0-9]{0,8})$/.test(s) && i.lookupNumber(Number(s)) === id ? Number(s) : -1;
};
function snapshot(entity: Entity, v: RowVerdict, fields: string[]): Row {
  // Both sides' hashes: the module's (scanner) against idhash.ts's (reference, via verdictOf).
  const row: Row = {
    line: v.line,
    reason: v.reason,
    key: text(v, v.ks, v.ke),
    keyNum: keyNum(v),
    keyHash: v.kh,
    fields,
  };
  if (v.reason) return row;
  row.a = text(v, v.as, v.ae);
  row.aHash = v.ah;
  if (entity === 'order_items') row.b = text(v, v.bs, v.be);
  if (entity === 'order_items') row.bHash = v.bh;
  if (entity === 'order_items') row.cents = v.cents;
  if (entity === 'orders') row.day = v.day;
  if (entity !== 'products') row.status = v.status;
  return row;
}

type Outcome = { rows: Row[] } | { declined: true } | { header: string };

function headerRules(entity: Entity, fields: string[]) {
  const rules = new RowRules(SCHEMAS[entity], mapHeader(SCHEMAS[entity], fields));
  return { rules, slots: verdictSlots(entity, rules) };
}

function reference(entity: Entity, bytes: Uint8Array, chunk: number): Outcome {
  const rows: Row[] = [];
  let h: ReturnType<typeof headerRules> | null = null;
  const v = newVerdict();
  try {
    const s = new FastCsvScanner((rec) => {
      if (!h) {
        h = headerRules(entity, fieldsOf(rec));
        return;
      }
      rows.push(snapshot(entity, verdictOf(v, rec, h.rules, h.slots), fieldsOf(rec)));
    });
    for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.slice(i, i + chunk));
    s.end();
  } catch (err) {
    if (err instanceof Declined) return { declined: true };
    return { header: (err as Error).message };
  }
  return { rows };
}

async function wasm(entity: Entity, bytes: Uint8Array, chunk: number, capacity: number): Promise<Outcome> {
  const rows: Row[] = [];
  async function* open() {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.slice(i, i + chunk);
  }
  try {
    await scanRows(
      open,
      { header: (rec) => headerRules(entity, fieldsOf(rec)), row: (v) => rows.push(snapshot(entity, v, v.fields())) },
      capacity,
    );
  } catch (err) {
    if (err instanceof Declined) return { declined: true };
    return { header: (err as Error).message };
  }
  return { rows };
}

const enc = (s: string) => Buffer.from(s, 'utf8');
const cell = (...xs: string[]) => fc.constantFrom(...xs);
/** Mostly valid values, sometimes an edge or a broken one: rows must reach every rule. */
const mostly = (good: fc.Arbitrary<string>, edge: fc.Arbitrary<string>) =>
  fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: edge, weight: 1 }, { arbitrary: fc.constant(''), weight: 1 });
const timestamp = mostly(
  fc.oneof(
    cell(
      '2025-03-01T10:00:00',
      '2025-03-01 10:00:00',
      '2024-02-29T23:59:59.5Z',
      '2025-03-01T10:00:00.123456789012 UTC',
      '2025-03-01T01:00:00+02:00',
      '2025-03-01T01:00:00-0530',
    ),
    fc
      .tuple(
        fc.integer({ min: 1969, max: 2030 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        fc.integer({ min: 0, max: 59 }),
      )
      .map(
        ([y, m, d, s]) =>
          `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T12:${String(s).padStart(2, '0')}:${String(s).padStart(2, '0')}`,
      ),
  ),
  fc.oneof(
    cell(
      '2025-02-30T10:00:00',
      '2025-13-01T00:00:00',
      '2025-03-01T24:00:00',
      '2025-03-01T10:00',
      '2025-03-01T10:00:00.',
      '2025-03-01T10:00:00+2:00',
      '2025-03-01T10:00:00Z ',
      '0000-01-01T00:00:00',
      '9999-12-31T23:59:59+23:59',
      '2025-03-01x10:00:00',
      '2025-0a-01T10:00:00',
      '2025-03-01T10:00:00+24:00',
      '2025-03-01T10:00:00-0060',
      '2025-03-01T10:00:00+05:3x',
    ),
    fc
      .tuple(
        fc.integer({ min: 1969, max: 2030 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 60 }),
      )
      .map(
        ([y, m, d, s]) =>
          `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T12:${String(s).padStart(2, '0')}:${String(s).padStart(2, '0')}`,
      ),
  ),
);
const price = mostly(
  fc.nat(100000).map((c) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`),
  cell('59.9900016784668', '0.005', '.5', '5.', '-1.00', '1e3', 'abc', '12.345', '99999999999999999', ' 3.10 '),
);
const id = mostly(
  fc.nat(2000).map(String),
  cell('0', '007', 'o1', 'x y', '1000000000', '999999999', ' 42 ', '\t7', '12a'),
);
const word = cell('Jeans', 'Tops', 'returned', 'Returned', 'RETURNED', 'Complete', 'returnee', 'Shipped');
const plain = mostly(
  word,
  fc.oneof(
    cell('a,b', 'say "hi"', 'line\nbreak', 'caf\u00e9', '\ufeffx', 'bare\rcr', ' padded ', '\treturned '),
    fc.string({ maxLength: 6 }),
  ),
);
const bad = cell('\xff', '\xc3\x28', '\xe0\x80\x80', '\xed\xa0\x80', '\xf4\x90\x80\x80', '\xc3\xa9');
/** A cell quoted though it need not be: rare, so most records take the scanner's fast path. */
const quotedFlag = fc.oneof({ arbitrary: fc.constant(false), weight: 12 }, { arbitrary: fc.constant(true), weight: 1 });

const COLUMNS: Record<Entity, [string, fc.Arbitrary<string>][]> = {
  orders: [
    ['order_id', id],
    ['user_id', id],
    ['status', plain],
    ['created_at', timestamp],
    ['shipped_at', timestamp],
    ['delivered_at', timestamp],
    ['returned_at', timestamp],
    [
      'num_of_item',
      mostly(fc.nat(20).map(String), cell('-1', '1.5', '1234567890123456', '123456789012345', '99999999999')),
    ],
    ['extra', plain],
  ],
  order_items: [
    ['id', id],
    ['order_id', id],
    ['product_id', id],
    ['sale_price', price],
    ['status', plain],
    ['created_at', timestamp],
    ['shipped_at', timestamp],
    ['user_id', id],
  ],
  products: [
    ['id', id],
    ['category', plain],
    ['name', plain],
  ],
};

/** A CSV cell as written: plain, or quoted (doubled quotes) when it must or when asked to. */
function render(v: string, quote: boolean): string {
  if (quote || /[",\n\r]/.test(v)) return `"${v.replace(/"/g, '""')}"`;
  return v;
}

const fileArb = fc.constantFrom<Entity>('orders', 'order_items', 'products').chain((entity) =>
  fc.record({
    entity: fc.constant(entity),
    order: fc.shuffledSubarray(
      COLUMNS[entity].map((_, i) => i),
      { minLength: COLUMNS[entity].length - 2 },
    ),
    rows: fc.array(
      fc.tuple(
        fc.tuple(...COLUMNS[entity].map(([, arb]) => arb)),
        fc.array(quotedFlag, { minLength: 9, maxLength: 9 }),
        fc.option(bad, { freq: 15 }),
        fc.nat(8),
        fc.constantFrom('\n', '\r\n', '\n\n', ''),
      ),
      { maxLength: 40 },
    ),
    bom: fc.boolean(),
    chunk: fc.integer({ min: 1, max: 300 }),
    capacity: fc.integer({ min: 16, max: 400 }),
  }),
);

interface FileSpec {
  entity: Entity;
  order: number[];
  rows: [string[], boolean[], string | null, number, string][];
  bom: boolean;
}

function build(f: FileSpec): Uint8Array {
  const cols = COLUMNS[f.entity];
  const parts: Buffer[] = [];
  if (f.bom) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  parts.push(enc(f.order.map((i) => cols[i]![0]).join(',') + '\n'));
  f.rows.forEach(([values, quoted, badBytes, badAt, end], r) => {
    const cells = f.order.map((i, k) => enc(render(values[i]!, quoted[k % quoted.length]!)));
    if (badBytes !== null)
      cells[badAt % cells.length] = Buffer.concat([cells[badAt % cells.length]!, Buffer.from(badBytes, 'latin1')]);
    const sep = enc(',');
    cells.forEach((c, k) => {
      if (k) parts.push(sep);
      parts.push(c);
    });
    parts.push(enc(r === f.rows.length - 1 ? end : end || '\n'));
  });
  return Buffer.concat(parts);
}

test('property: the WebAssembly scanner reads every row as the TypeScript reference does (verdicts, keys, fields, lines), any chunk and buffer size', async (t) => {
  await fc.assert(
    fc.asyncProperty(fileArb, async (f) => {
      const bytes = build(f);
      const expected = reference(f.entity, bytes, 1 << 20);
      const got = await wasm(f.entity, bytes, f.chunk, f.capacity);
      t.deepEqual(got, expected);
      return true;
    }),
    { numRuns: 1000 },
  );
});

test('the scanner reads rows across its own buffer growing (one record longer than the buffer)', async (t) => {
  const long = 'x'.repeat(5000);
  const bytes = enc(`id,category,name\n1,Jeans,${long}\n2,"Tops, ""big""",${long}\n3,,a\n`);
  const got = await wasm('products', bytes, 7, 64);
  t.deepEqual(got, reference('products', bytes, 13));
  t.true('rows' in got && got.rows.length === 3 && got.rows[2]!.reason === 'missing_field');
});

test('a quote inside an unquoted field declines, as the reference does (csv-parse reads the file)', async (t) => {
  const bytes = enc('id,category\n1,Je"ans\n');
  t.deepEqual(await wasm('products', bytes, 5, 32), { declined: true });
  t.deepEqual(reference('products', bytes, 5), { declined: true });
  const r = await computeFiles({
    'products/p.csv': 'id,category\n16,Je"ans\n',
    'orders/o.csv': 'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\n',
    'order_items/i.csv': 'id,order_id,product_id,sale_price\ni1,o1,16,1.00\n',
  });
  t.is(r.files.find((x) => x.entity === 'products')!.parser, 'csv-parse');
  t.deepEqual(
    r.category_kpis.map((c) => c.category),
    ['Je"ans'],
  );
});

test('property: kpi compute gives the same tables, rejections and files through either engine', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fileArb, { minLength: 1, maxLength: 6 }), async (files) => {
      const tree: Record<string, Buffer> = {};
      files.forEach((f, i) => (tree[`${f.entity}/f${i}.csv`] = Buffer.from(build(f))));
      const ra: RejectedRow[] = [];
      const rb: RejectedRow[] = [];
      const a = await computeFiles(tree, { rowEngine: 'wasm', unknownMode: 'hold', onReject: (r) => ra.push(r) });
      const b = await computeFiles(tree, { rowEngine: 'reference', unknownMode: 'hold', onReject: (r) => rb.push(r) });
      t.deepEqual(
        [a.category_kpis, a.order_kpis, a.rejected, ra, a.held],
        [b.category_kpis, b.order_kpis, b.rejected, rb, b.held],
      );
      t.deepEqual(
        a.files.map((x) => (x.parser === 'wasm' ? { ...x, parser: 'fast' } : x)),
        b.files,
      );
      return true;
    }),
    { numRuns: 40 },
  );
});

test('every timestamp, price, integer, status and key form of the lists above reads alike, one row each', async (t) => {
  const samples = (arb: fc.Arbitrary<string>) => [...new Set(fc.sample(arb, { numRuns: 300, seed: 7 }))];
  const cases: [Entity, string, string][] = [];
  for (const ts of samples(timestamp)) {
    cases.push(['orders', 'order_id,user_id,status,created_at,shipped_at', `1,2,Complete,${ts},2025-03-01T10:00:00`]);
    cases.push(['orders', 'order_id,user_id,status,created_at,shipped_at', `1,2,Complete,2025-03-01T10:00:00,${ts}`]);
  }
  for (const p of samples(price))
    cases.push(['order_items', 'id,order_id,product_id,sale_price', `1,2,3,${render(p, false)}`]);
  for (const n of samples(COLUMNS.orders[7]![1]))
    cases.push(['orders', 'order_id,user_id,status,created_at,num_of_item', `1,2,x,2025-03-01T10:00:00,${n}`]);
  for (const k of samples(id))
    cases.push([
      'order_items',
      'id,order_id,product_id,sale_price',
      `${render(k, false)},${render(k, false)},${render(k, false)},1.00`,
    ]);
  for (const w of samples(plain))
    cases.push(['order_items', 'id,order_id,product_id,sale_price,status', `1,2,3,1.00,${render(w, false)}`]);
  t.true(cases.length > 100);
  for (const [entity, header, row] of cases) {
    const bytes = enc(`${header}\n${row}\n`);
    t.deepEqual(await wasm(entity, bytes, 1 << 20, 1 << 16), reference(entity, bytes, 1 << 20), row);
  }
});

test('property: the incremental path reads one file’s versions alike through the WebAssembly scanner and the reference', async (t) => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fileArb, async (f) => {
      runs++;
      const bytes = build(f);
      // chunked as S3 streams it; `reuse`: the same buffer may come back (the scanner copies what it keeps)
      const open = () =>
        (async function* () {
          for (let i = 0; i < bytes.length; i += f.chunk) yield bytes.slice(i, i + f.chunk);
        })();
      // every rejected row kept too (validate's err/ report), and the reader named: all but its name alike
      const { parser: p1, ...wasm } = await readVersions(f.entity, 'f.csv', open, 'wasm', true, true);
      const { parser: p2, ...ref } = await readVersions(f.entity, 'f.csv', open, 'reference', true, true);
      if (wasm.status === 'accepted') t.true(p1 === 'wasm' || p1 === 'csv-parse');
      if (ref.status === 'accepted') t.true(p2 === 'fast' || p2 === 'csv-parse');
      t.deepEqual(wasm, ref);
    }),
    { numRuns: 300 },
  );
  t.is(runs, 300);
});
