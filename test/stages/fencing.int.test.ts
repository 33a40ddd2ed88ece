// The commit protocol's former windows (issue 19): KPI rows fenced by the commit that wrote them,
// and kpi rebuild without an empty window. Real embedded servers.
import test, { type ExecutionContext } from 'ava';
import path from 'node:path';
import { planUpload, upload } from '../../runtime/cli/upload';
import { CURATED_PREFIX } from '../../runtime/core/names';
import { LeaseLost } from '../../runtime/state/statestore';
import { verify } from '../../runtime/stages/verify';
import { ORDERS, PRODUCTS, ROOT, writeTree } from '../helpers';
import { expectEqualToCompute, quietPipeline, sleep, tables, withStack } from '../stack';
import type { LocalStack } from '../../runtime/local/stack';

const DATA = path.join(ROOT, 'data');

/**
 * A commits products, orders and `first` (an items file), and freezes at its first row write — just
 * after its lease check — past its lease, while B takes over (finishing A's commit) and applies
 * `second` (another items file) to the same day. Then A resumes and writes. Returns B's pipeline
 * and a folder of all four files (what the tables must end equal to).
 */
async function pausedWriterScenario(t: ExecutionContext, s: LocalStack, first: string, second: string) {
  const b = quietPipeline(s, {}, { state: { leaseMs: 300 } });
  let paused = 0;
  const a = quietPipeline(
    s,
    {},
    {
      state: { leaseMs: 300 },
      store: {
        beforeBatch: async () => {
          if (paused++) return;
          a.pipeline.state.abandon();
          await sleep(400);
          await b.pipeline.bucket.put('ecommerce-data/order_items/i2.csv', second);
          await b.pipeline.validate(['ecommerce-data/order_items/i2.csv']);
          await b.pipeline.transform();
        },
      },
    },
  );
  await upload(
    a.pipeline.bucket,
    planUpload(writeTree({ 'products/p.csv': PRODUCTS, 'orders/o.csv': ORDERS, 'order_items/i1.csv': first })),
  );
  await a.pipeline.validate((await a.pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
  await t.throwsAsync(a.pipeline.transform(), { instanceOf: LeaseLost });
  const all = writeTree({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'order_items/i1.csv': first,
    'order_items/i2.csv': second,
  });
  return { b: b.pipeline, all };
}

test('a writer paused between its lease check and its row writes cannot overwrite a newer commit’s rows', async (t) => {
  const i1 = 'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\n';
  const i2 = 'id,order_id,product_id,sale_price\ni2,o1,p2,5.50\n'; // one more item on the same day
  await withStack(async (s) => {
    const { b, all } = await pausedWriterScenario(t, s, i1, i2);
    await expectEqualToCompute(t, s, all);
    t.true((await verify(b.bucket, b.store, b.state)).ok);
  });
});

test('regression: a row a newer commit deleted (a category gone from a day) is not written back by a paused older writer', async (t) => {
  const jeans = 'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\n';
  const tops = 'id,order_id,product_id,sale_price\ni1,o1,p2,10.00\n'; // the same item, now a Tops one
  await withStack(async (s) => {
    const { b, all } = await pausedWriterScenario(t, s, jeans, tops);
    t.deepEqual(
      (await tables(s)).category_kpis.map((c) => `${c.category} ${c.order_date}`),
      ['Tops 2025-03-01'],
    );
    await expectEqualToCompute(t, s, all);
    t.true((await verify(b.bucket, b.store, b.state)).ok);
  });
});

test('kpi rebuild: readers see the full tables and lake throughout, then the same figures; killed before its commit, the next run finishes it', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    await upload(pipeline.bucket, planUpload(DATA));
    await pipeline.process();
    const want = await tables(s);
    const days = new Set((await pipeline.bucket.list(CURATED_PREFIX)).map((o) => o.key.split('/')[2])).size;
    let polls = 0;
    let short = 0;
    let stop = false;
    const poller = (async () => {
      while (!stop) {
        const [got, lake] = await Promise.all([tables(s), pipeline.bucket.list(CURATED_PREFIX)]);
        polls++;
        const lakeDays = new Set(lake.map((o) => o.key.split('/')[2])).size;
        if (
          got.category_kpis.length < want.category_kpis.length ||
          got.order_kpis.length < want.order_kpis.length ||
          lakeDays < days
        )
          short++;
      }
    })();
    const r = await pipeline.rebuild();
    stop = true;
    await poller;
    t.true(polls > 3, `${polls} polls`);
    t.is(short, 0, 'a reader saw a table or the lake with rows missing');
    t.true(r.files > 0);
    await expectEqualToCompute(t, s, DATA);
    t.true((await verify(pipeline.bucket, pipeline.store, pipeline.state)).ok);
    // killed just before its commit: nothing switched; the next transform completes the rebuild
    const killed = quietPipeline(s, {}, { hooks: { beforeCommit: () => Promise.reject(new Error('killed')) } });
    await t.throwsAsync(killed.pipeline.rebuild(), { message: 'killed' });
    t.deepEqual(await tables(s), want);
    await pipeline.transform();
    await expectEqualToCompute(t, s, DATA);
    t.true((await verify(pipeline.bucket, pipeline.store, pipeline.state)).ok);
    t.deepEqual(await pipeline.bucket.list('state/pending/'), []);
  });
});
