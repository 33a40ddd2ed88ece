// Garbage collection (issue 19): objects no committed state references — the index run, commit
// record and lake files of a run killed before its commit — are found by kpi verify and deleted by
// a later transform once older than two leases; a collection killed midway is finished by the next.
import test from 'ava';
import path from 'node:path';
import { planUpload, upload } from '../../runtime/cli/upload';
import { INDEX_PREFIX } from '../../runtime/state/keyindex';
import type { StateBody } from '../../runtime/state/incremental';
import { verify } from '../../runtime/stages/verify';
import { ROOT } from '../helpers';
import { expectEqualToCompute, quietPipeline, sleep, withStack } from '../stack';

const DATA = path.join(ROOT, 'data');

test('a killed run’s objects are reported by verify, collected by a later transform, and a collection killed midway is finished', async (t) => {
  await withStack(async (s) => {
    const state = { leaseMs: 200 }; // objects older than 400 ms may be collected
    const killed = quietPipeline(s, {}, { state, hooks: { beforeCommit: () => Promise.reject(new Error('killed')) } });
    await upload(killed.pipeline.bucket, planUpload(DATA));
    await t.throwsAsync(killed.pipeline.process(), { message: 'killed' });
    await sleep(500);
    const { pipeline, logs } = quietPipeline(s, {}, { state });
    const before = await verify(pipeline.bucket, pipeline.store, pipeline.state);
    t.true(before.garbage >= 2, `${before.garbage} unreferenced objects`); // at least its index run and commit record
    // The next run applies the files, then collects; killed after one delete of the collection.
    const del = pipeline.bucket.delete.bind(pipeline.bucket);
    let deletes = 0;
    pipeline.bucket.delete = async (key: string) => {
      if ((key.startsWith(INDEX_PREFIX) || key.startsWith('state/commits/')) && deletes++ === 1)
        throw new Error('killed during collection');
      return del(key);
    };
    await t.throwsAsync(pipeline.transform(), { message: 'killed during collection' });
    pipeline.bucket.delete = del;
    await sleep(500);
    const r = await pipeline.transform();
    t.true(r.garbage >= 1);
    t.true(logs.some((l) => l.event === 'garbage_collected'));
    const after = await verify(pipeline.bucket, pipeline.store, pipeline.state);
    t.true(after.ok);
    t.is(after.garbage, 0);
    const body = (await pipeline.state.read<StateBody>()).body!;
    t.deepEqual(
      (await pipeline.bucket.list(INDEX_PREFIX)).map((o) => o.key).sort(),
      body.runs.map((x) => INDEX_PREFIX + x.name).sort(),
    );
    t.deepEqual(await pipeline.bucket.list('state/commits/'), []);
    await expectEqualToCompute(t, s, DATA);
  });
});
