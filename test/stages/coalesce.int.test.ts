// Regression (issue 22, item 8): on AWS every upload's hand-off starts a transform task. While one
// runs, the others waited on the lease for up to 15 minutes, then failed with LeaseBusy and alerted.
// Now a transform that finds a live holder asks it to look again (the manifest's rerun flag) and
// ends at once; the holder applies the files, including ones that became pending after its last look.
import test from 'ava';
import { Deadline } from '../../runtime/aws/deadline';
import { planUpload, upload } from '../../runtime/cli/upload';
import type { TransformResult } from '../../runtime/state/transform';
import { ORDERS, PRODUCTS, writeTree } from '../helpers';
import { expectEqualToCompute, quietPipeline, withStack } from '../stack';

const ITEMS1 = 'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\n';
const ITEMS2 = 'id,order_id,product_id,sale_price\ni2,o2,p2,5.50\n';

test('a transform started while another holds the lease ends at once; the holder applies its files before letting go', async (t) => {
  const all = writeTree({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'order_items/i1.csv': ITEMS1,
    'order_items/i2.csv': ITEMS2,
  });
  await withStack(async (s) => {
    // A short wait: without coalescing, B would give up with LeaseBusy while A waits for B.
    const b = quietPipeline(s, {}, { state: { waitMs: 3000 } });
    let late: TransformResult | undefined;
    let asked = 0;
    const a = quietPipeline(
      s,
      {},
      {
        state: { waitMs: 3000 },
        hooks: {
          // After A's last look at the pending files, before it lets go: a new file is validated
          // (its marker written) and its hand-off task starts.
          beforeRelease: async () => {
            if (asked++) return;
            await a.pipeline.bucket.put('ecommerce-data/order_items/i2.csv', ITEMS2);
            await a.pipeline.validate(['ecommerce-data/order_items/i2.csv']);
            const t0 = Date.now();
            late = await b.pipeline.transform(Deadline.none(), { coalesce: true });
            t.true(Date.now() - t0 < 2000, 'the second transform did not wait for the lease');
          },
        },
      },
    );
    const first = writeTree({ 'products/p.csv': PRODUCTS, 'orders/o.csv': ORDERS, 'order_items/i1.csv': ITEMS1 });
    await upload(a.pipeline.bucket, planUpload(first));
    await a.pipeline.validate((await a.pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    const r = await a.pipeline.transform();
    t.is(late?.coalesced, true);
    t.is(late?.files, 0);
    t.is(r.files, 4, 'the holder applied the late file too');
    t.true(a.logs.some((l) => l.event === 'transform_rerun'));
    t.true(b.logs.some((l) => l.event === 'transform_coalesced'));
    t.deepEqual(b.alerts, []);
    await expectEqualToCompute(t, s, all);
    // With nobody holding the lease, a coalescing transform simply runs.
    const idle = await b.pipeline.transform(Deadline.none(), { coalesce: true });
    t.false(idle.coalesced);
  });
});

test('hand-off tasks started while a transform commits do not queue on the lease (no LeaseBusy, no alert)', async (t) => {
  const all = writeTree({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'order_items/i1.csv': ITEMS1,
    'order_items/i2.csv': ITEMS2,
  });
  await withStack(async (s) => {
    const others = [0, 1, 2].map(() => quietPipeline(s, {}, { state: { waitMs: 3000 } }));
    const results: TransformResult[] = [];
    let once = 0;
    const a = quietPipeline(
      s,
      {},
      {
        state: { waitMs: 3000 },
        hooks: {
          afterCommit: async () => {
            if (once++) return;
            await a.pipeline.bucket.put('ecommerce-data/order_items/i2.csv', ITEMS2);
            await a.pipeline.validate(['ecommerce-data/order_items/i2.csv']);
            for (const o of others) results.push(await o.pipeline.transform(Deadline.none(), { coalesce: true }));
          },
        },
      },
    );
    await upload(
      a.pipeline.bucket,
      planUpload(writeTree({ 'products/p.csv': PRODUCTS, 'orders/o.csv': ORDERS, 'order_items/i1.csv': ITEMS1 })),
    );
    await a.pipeline.validate((await a.pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    await a.pipeline.transform();
    t.deepEqual(
      results.map((r) => r.coalesced),
      [true, true, true],
    );
    await expectEqualToCompute(t, s, all);
  });
});
