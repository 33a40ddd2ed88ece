// The dictionary: every distinct key gets one dense id, whichever table (direct, hashed, bytes) holds it.
import test from 'ava';
import fc from 'fast-check';
import { Interner } from '../../runtime/core/join/intern';

const key = fc.oneof(
  fc.nat(5000).map(String), // dense decimal ids: the direct array
  fc.integer({ min: 16_000_000, max: 999_999_999 }).map(String), // too big to address directly: hashed
  fc.nat(99).map((n) => `0${n}`), // leading zero: not canonical, kept as bytes
  fc.string({ maxLength: 6 }), // anything else (including '')
  uuidLike(),
);

/** Canonical lowercase UUIDs (kept packed), their uppercase twins and near misses (kept as text). */
function uuidLike(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.uuid(),
    fc.uuid().map((u) => u.toUpperCase()),
    fc
      .tuple(fc.uuid(), fc.nat(35), fc.constantFrom('g', '-', 'A', 'x', '0'))
      .map(([u, i, c]) => u.slice(0, i) + c + u.slice(i + 1)),
    fc.uuid().map((u) => u.replace(/-/g, '')),
  );
}

test('property: intern/lookup/str agree with a Map for any mix of keys and any size hint', (t) => {
  let runs = 0;
  fc.assert(
    fc.property(fc.array(key, { maxLength: 3000 }), fc.nat(5000), (keys, hint) => {
      runs++;
      const d = new Interner(hint);
      const ref = new Map<string, number>();
      for (const k of keys) {
        const id = d.internString(k);
        if (!ref.has(k)) ref.set(k, ref.size);
        if (id !== ref.get(k)) return false;
      }
      t.is(d.size, ref.size);
      for (const [k, id] of ref) {
        if (d.lookupString(k) !== id || d.str(id) !== k) return false;
      }
      return d.lookupString('never-seen') === -1 && d.lookupString('123456789012') === -1;
    }),
    { numRuns: 300 },
  );
  t.is(runs, 300); // fc.assert throws on the first counterexample; every run held
});

test('a value first kept in the hash table is still found once the direct array grows over it', (t) => {
  const d = new Interner();
  const far = d.internString('3000000'); // too far ahead of the few keys seen: hashed
  for (let i = 0; i < 400000; i++) d.internString(String(i)); // the direct array grows past 3,000,000's bound
  d.internString('3000001'); // now addressed directly
  t.is(d.internString('3000000'), far);
  t.is(d.lookupString('3000000'), far);
  t.is(d.str(far), '3000000');
  t.is(d.size, 400002);
  // in key order it sits between its direct neighbours
  const order = d.idsInKeyOrder((id) => id === far || d.str(id) === '3000001' || d.str(id) === '399999');
  t.deepEqual(
    Array.from(order, (id) => d.str(id)),
    ['399999', '3000000', '3000001'],
  );
});

test('property: textOrder orders ids as their keys compare as strings; byteLength/writeUtf8 give their UTF-8 bytes', (t) => {
  let runs = 0;
  const textKey = fc.oneof(
    fc.nat(5000).map(String),
    fc.integer({ min: 16_000_000, max: 999_999_999 }).map(String),
    fc.nat(99).map((n) => `0${n}`),
    fc.string({ unit: 'grapheme', maxLength: 6 }),
    uuidLike(),
  );
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(textKey, { maxLength: 400 }),
      fc.array(fc.nat(999_999_999), { maxLength: 400 }),
      (numericOnly, mixed, nums) => {
        runs++;
        const d = new Interner(100);
        const keys = [...new Set(numericOnly ? nums.map(String) : mixed)];
        const ids = Int32Array.from(keys, (k) => d.internString(k));
        const want = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const got = Array.from(d.textOrder(ids), (x) => d.str(ids[x]!));
        const buf = new Uint8Array(64);
        const bytesOk = keys.every((k) => {
          const id = d.lookupString(k);
          const end = d.writeUtf8(id, buf, 3);
          return (
            d.byteLength(id) === Buffer.byteLength(k) &&
            end === 3 + Buffer.byteLength(k) &&
            Buffer.from(buf.subarray(3, end)).toString() === k
          );
        });
        return bytesOk && JSON.stringify(got) === JSON.stringify(want);
      },
    ),
    { numRuns: 300 },
  );
  t.is(runs, 300);
});

test('textOrder: decimal ids in text order (a prefix first, "10" before "9") across the whole 9-digit range', (t) => {
  const d = new Interner(1000);
  const keys = ['9', '10', '1', '0', '100000000', '99999999', '19', '2', '999999999', '100', '1000'];
  const ids = Int32Array.from(keys, (k) => d.internString(k));
  t.deepEqual(
    Array.from(d.textOrder(ids), (x) => d.str(ids[x]!)),
    ['0', '1', '10', '100', '1000', '100000000', '19', '2', '9', '99999999', '999999999'],
  );
});

test('property: idsInKeyOrder keeps what keep accepts, ordered by (length, text) of the keys', (t) => {
  let runs = 0;
  fc.assert(
    fc.property(fc.array(key, { maxLength: 600 }), fc.nat(3000), fc.integer({ min: 1, max: 5 }), (keys, hint, mod) => {
      runs++;
      const d = new Interner(hint);
      for (const k of keys) d.internString(k);
      const keep = (id: number) => id % mod !== 0;
      const want = [...new Set(keys)]
        .filter((k) => keep(d.lookupString(k)))
        .sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
      return JSON.stringify(Array.from(d.idsInKeyOrder(keep), (id) => d.str(id))) === JSON.stringify(want);
    }),
    { numRuns: 300 },
  );
  t.is(runs, 300);
});

test('textOrder over more ids than fit beside the sort key (600,000) still orders them as text', (t) => {
  const d = new Interner(700_000);
  const ids = new Int32Array(600_000);
  for (let i = 0; i < ids.length; i++) ids[i] = d.internString(String((i * 7919) % 650_000));
  const got = Array.from(d.textOrder(ids), (x) => d.str(ids[x]!));
  const want = Array.from(ids, (id) => d.str(id)).sort();
  t.is(got.length, 600_000);
  t.true(
    got.every((s, i) => s === want[i]),
    'text order',
  );
});

test('a UUID and its uppercase or digit-swapped twins are different keys; all come back as they were read', (t) => {
  const d = new Interner(10);
  const u = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
  const keys = [u, u.toUpperCase(), u.replace('0f', 'f0'), u.replace(/-/g, '_'), `${u.slice(0, 35)}g`, u.slice(0, 35)];
  const ids = keys.map((k) => d.internString(k));
  t.is(new Set(ids).size, keys.length);
  t.deepEqual(
    ids.map((id) => d.str(id)),
    keys,
  );
  t.is(d.internString(u), ids[0]);
  t.is(d.lookupString('0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f1'), -1);
  t.is(d.byteLength(ids[0]!), 36);
});
