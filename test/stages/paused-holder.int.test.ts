// Regression (issue 22, item 5): the post-commit clean-up deleted every other file of a changed day
// without checking the lease. A run paused after its commit, past its lease, then deleted the lake
// file of the run that took over and committed the same day: the lake lost the day. Now the clean-up
// deletes only the keys its commit record names, and only while it still holds the lease.
import test from 'ava';
import { sleep } from '../stack';
import { planUpload, upload } from '../../runtime/cli/upload';
import { LeaseLost } from '../../runtime/state/statestore';
import { partitionPrefix } from '../../runtime/state/lake';
import { ORDERS, PRODUCTS, writeTree } from '../helpers';
import { downloadLake, kpisFromLake } from '../lake';
import { expectEqualToCompute, quietPipeline, withStack } from '../stack';

test('a holder paused past its lease after committing neither deletes the new holder’s lake file nor writes its rows', async (t) => {
  const all = writeTree({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'order_items/i1.csv': 'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\n',
    'order_items/i2.csv': 'id,order_id,product_id,sale_price\ni2,o1,p2,5.50\n',
  });
  await withStack(async (s) => {
    const b = quietPipeline(s, {}, { state: { leaseMs: 300 } });
    let paused = 0;
    const a = quietPipeline(
      s,
      {},
      {
        state: { leaseMs: 300 },
        hooks: {
          afterCommit: async () => {
            if (paused++) return;
            // A freezes after its commit (stops renewing); its lease runs out; B takes over and
            // commits the same day with one more item.
            a.pipeline.state.abandon();
            await sleep(400);
            await b.pipeline.bucket.put(
              'ecommerce-data/order_items/i2.csv',
              'id,order_id,product_id,sale_price\ni2,o1,p2,5.50\n',
            );
            await b.pipeline.validate(['ecommerce-data/order_items/i2.csv']);
            await b.pipeline.transform();
          },
        },
      },
    );
    const first = writeTree({
      'products/p.csv': PRODUCTS,
      'orders/o.csv': ORDERS,
      'order_items/i1.csv': 'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\n',
    });
    await upload(a.pipeline.bucket, planUpload(first));
    await a.pipeline.validate((await a.pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    // A resumes: its clean-up finds the lease gone and stops.
    await t.throwsAsync(a.pipeline.transform(), { instanceOf: LeaseLost });
    t.is((await a.pipeline.bucket.list(partitionPrefix('2025-03-01'))).length, 1, 'the day keeps exactly B’s file');
    await expectEqualToCompute(t, s, all);
    const lake = await kpisFromLake(await downloadLake(a.pipeline.bucket));
    t.deepEqual(
      lake.order_kpis.map((o) => o.total_revenue),
      [15.5],
    );
  });
});
