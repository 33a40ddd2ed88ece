// The state index against the real embedded S3: look-ups and prefix scans across several runs
// equal a Map that saw the same writes; a merge keeps the newest record of each key and drops
// deletions only when nothing older is left.
import test from 'ava';
import fc from 'fast-check';
import { KeyIndex, mergePlan, mergeRuns, writeRun, type RunRef } from '../../runtime/state/keyindex';
import { Bucket } from '../../runtime/aws/s3store';
import { cmp, key, prefix, type Rec } from '../../runtime/state/runfile';
import { withStack } from '../stack';

const batchArb = fc.array(
  fc.uniqueArray(
    fc.record({
      id: fc.nat(300),
      kind: fc.constantFrom('i', 'o', 'hq'),
      val: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
    }),
    {
      selector: (r) => `${r.kind}/${r.id}`,
      maxLength: 120,
    },
  ),
  { minLength: 1, maxLength: 5 },
);

test('property: gets and scans over several runs, before and after merging, equal a Map of the same writes', async (t) => {
  await withStack(async (s) => {
    const bucket = new Bucket(s.clients.s3, s.bucket);
    let round = 0;
    await fc.assert(
      fc.asyncProperty(batchArb, async (batches) => {
        round++;
        const model = new Map<string, string>();
        let runs: RunRef[] = [];
        for (const b of batches) {
          const recs: Rec[] = b
            .map((r) => ({ key: key(r.kind, String(r.id), `r${round}`), rank: 'rank', val: r.val }))
            .sort((x, y) => cmp(x.key, y.key));
          for (const r of recs) {
            if (r.val === null) model.delete(r.key);
            else model.set(r.key, r.val);
          }
          runs = [await writeRun(bucket, recs), ...runs];
        }
        const probe = [...Array(310).keys()].flatMap((id) =>
          ['i', 'o', 'hq'].map((k) => key(k, String(id), `r${round}`)),
        );
        const check = async (ix: KeyIndex) => {
          const got = await ix.get(probe);
          const sorted = (xs: [string, string | null][]) => xs.sort(([a], [b]) => cmp(a, b));
          t.deepEqual(
            sorted([...got].map(([k, r]) => [k, r.val])),
            sorted([...model].filter(([k]) => probe.includes(k))),
          );
          const want = [...model].filter(([k]) => k.startsWith(prefix('hq'))).sort(([a], [b]) => cmp(a, b));
          t.deepEqual(
            (await ix.scan(prefix('hq'))).filter((r) => r.key.endsWith(`r${round}`)).map((r) => [r.key, r.val]),
            want,
          );
        };
        await check(new KeyIndex(bucket, runs));
        const merged = await mergeRuns(bucket, runs, true);
        await check(new KeyIndex(bucket, [merged]));
        t.is(merged.records, model.size); // deletions dropped: nothing older is left
        if (runs.length > 1) {
          const partial = await mergeRuns(bucket, runs.slice(0, 2), false); // keeps deletions: older runs remain
          await check(new KeyIndex(bucket, [partial, ...runs.slice(2)]));
        }
      }),
      { numRuns: 15 },
    );
  });
});

test('merge plan: the newest runs merge while they are comparable in size; a lone small run over a big one waits', (t) => {
  const run = (bytes: number) => ({ name: String(bytes), bytes, indexAt: 0, records: 0, minKey: '', maxKey: '' });
  t.is(mergePlan([run(10), run(1000)]), 0);
  t.is(mergePlan([run(10), run(12), run(1000)]), 2);
  t.is(mergePlan([run(400), run(500), run(1000)]), 3);
  t.is(mergePlan([run(1)]), 0);
  t.is(mergePlan(Array.from({ length: 14 }, (_, i) => run(10 ** (i + 1)))), 3); // never more than 12 runs
});

test('random ids: a look-up of keys absent from every run reads about 1% of the blocks it used to', async (t) => {
  await withStack(async (s) => {
    const bucket = new Bucket(s.clients.s3, s.bucket);
    const { randomUUID } = await import('node:crypto');
    const recs = (n: number): Rec[] =>
      Array.from({ length: n }, () => ({ key: key('i', randomUUID()), rank: 'r', val: 'x' })).sort((a, b) =>
        cmp(a.key, b.key),
      );
    const newer = recs(10_000);
    const older = recs(20_000);
    const present = [...newer, ...older];
    const runs = [await writeRun(bucket, newer), await writeRun(bucket, older)];
    const absent = recs(2_000).map((r) => r.key);
    const ix = new KeyIndex(bucket, runs);
    const got = await ix.get([...absent, ...present.slice(0, 500).map((r) => r.key), present.at(-1)!.key]);
    t.is(got.size, 501);
    t.true(ix.bloomSkips > 3_900, `${ix.bloomSkips} of 4,000 (key, run) pairs ruled out`);
    // The 501 present keys need their blocks; without the filters the 2,000 absent ones would have
    // touched nearly every block of both runs too.
    const blocks = Math.ceil(present.length / 150);
    t.true(ix.blocksRead < blocks * 0.75, `${ix.blocksRead} blocks read of about ${blocks}`);
  });
});
