// KeyIndex.scanEach (streamed, runs merged a few MB at a time) against what the runs say, computed
// here independently: for each key the newest run's record, deletions hiding older ones.
import test from 'ava';
import { Bucket } from '../../runtime/aws/s3store';
import { KeyIndex, writeRunFile, type RunRef } from '../../runtime/state/keyindex';
import { cmp, type Rec } from '../../runtime/state/runfile';
import { withStack } from '../stack';

test('scanEach gives, for every prefix, the newest live record of each key in key order, as scan does', async (t) => {
  await withStack(async (s) => {
    const bucket = new Bucket(s.clients.s3, s.bucket);
    let seed = 7;
    const rnd = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
    const kinds = ['hq\u0000o', 'hq\u0000p', 'i', 'o'];
    // oldest first; runs are given to KeyIndex newest first
    const runs: RunRef[] = [];
    const truth = new Map<string, Rec>();
    for (let run = 0; run < 4; run++) {
      const recs = new Map<string, Rec>();
      for (let k = 0; k < 30_000; k++) {
        const key = `${kinds[rnd(kinds.length)]}\u0000\u0000${rnd(20_000).toString().padStart(5, '0')}`;
        const val = rnd(10) === 0 && run > 0 ? null : `v${run}-${k}-${'x'.repeat(rnd(200))}`;
        recs.set(key, { key, rank: String(run), val });
      }
      const sorted = [...recs.values()].sort((a, b) => cmp(a.key, b.key));
      runs.unshift(await writeRunFile(bucket, sorted, sorted.length));
      for (const r of sorted) truth.set(r.key, r);
    }
    const ix = new KeyIndex(bucket, runs);
    for (const pfx of ['hq\u0000', 'hq\u0000o\u0000', 'i\u0000', 'o\u0000\u000001', 'z', '']) {
      const want = [...truth.values()]
        .filter((r) => r.key.startsWith(pfx) && r.val !== null)
        .sort((a, b) => cmp(a.key, b.key));
      const got: Rec[] = [];
      for await (const r of ix.scanEach(pfx)) got.push(r);
      t.true(want.length > 0 || pfx === 'z', `prefix ${JSON.stringify(pfx)} has records`);
      t.deepEqual(
        got.map((r) => [r.key, r.val]),
        want.map((r) => [r.key, r.val]),
        JSON.stringify(pfx),
      );
      if (pfx) t.deepEqual(got, await ix.scan(pfx));
    }
  });
});
