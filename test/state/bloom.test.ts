// The run's Bloom filter: never a false "not here" (whatever the key's characters, whether the
// writer held bytes or a string), about 1% false positives, and runs written before it existed
// still read (no filter: every block is a candidate).
import test from 'ava';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { Bloom, BloomBuilder, hashBytes, hashKey } from '../../runtime/state/bloom';
import { decodeIndex, encodeRun, key, RunWriter, cmp, type Rec } from '../../runtime/state/runfile';

test('property: hashKey of a string equals hashBytes of its UTF-8 (non-ASCII, astral, NUL)', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
      const b = Buffer.from(s, 'utf8');
      t.is(hashKey(s), hashBytes(b, b.length));
    }),
    { numRuns: 2000 },
  );
});

test('property: every added key is reported as maybe present, sized up front or at the end', (t) => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 300 }),
      fc.boolean(),
      (keys, hinted) => {
        const b = new BloomBuilder(hinted ? keys.length : undefined);
        for (const k of keys) b.add(hashKey(k));
        const bloom = b.build();
        for (const k of keys) t.true(bloom.mayHold(hashKey(k)), k);
      },
    ),
    { numRuns: 200 },
  );
});

test('false positives: about 1% of 100,000 absent UUID keys (10 bits, 7 probes per key)', (t) => {
  const b = Bloom.sized(50_000);
  for (let i = 0; i < 50_000; i++) b.add(hashKey(key('i', randomUUID())));
  let fp = 0;
  for (let i = 0; i < 100_000; i++) if (b.mayHold(hashKey(key('i', randomUUID())))) fp++;
  t.true(fp < 1_500, `${fp} false positives of 100,000`);
  t.true(fp > 200, `${fp}: a filter that says no to everything would not be a filter`);
});

test('a run carries its filter: the bytes writer and the string writer give the same one', (t) => {
  const recs: Rec[] = Array.from({ length: 3000 }, () => ({
    key: key('o', randomUUID() + 'é'),
    rank: 'r',
    val: 'v',
  })).sort((a, b) => cmp(a.key, b.key));
  const strings = encodeRun(recs);
  const chunks: Buffer[] = [];
  const w = new RunWriter((c) => chunks.push(c));
  const rank = w.rankIndex('r');
  for (const r of recs) {
    const k = Buffer.from(r.key, 'utf8');
    w.addBytes(k, k.length, rank, Buffer.from('v'), 1);
  }
  const { indexAt } = w.end();
  const bytes = Buffer.concat(chunks);
  t.deepEqual(bytes, strings.bytes);
  const ix = decodeIndex(bytes.subarray(indexAt));
  t.truthy(ix.bloom);
  for (const r of recs) t.true(ix.bloom!.mayHold(hashKey(r.key)));
});

test('an index section without a filter (runs written before it) decodes with none', (t) => {
  const old = Buffer.from(JSON.stringify({ ranks: ['a'], blocks: [['k', 0, 10]] }));
  const ix = decodeIndex(old);
  t.is(ix.bloom, undefined);
  t.deepEqual(ix.blocks, [['k', 0, 10]]);
});
