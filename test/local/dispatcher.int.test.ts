// The local dispatcher against the real embedded servers and pipeline: files that arrive while a
// batch is validating are validated in the same batch, and the batch transforms once.
import test from 'ava';
import { Bucket } from '../../runtime/aws/s3store';
import { PRODUCTS, ORDERS, writeTree } from '../helpers';
import { dispatcherFor, expectEqualToCompute, quietPipeline, stack, waitFor } from '../stack';

test('a load still arriving while a batch validates is validated in that batch and transformed once (regression: one full recompute per file)', async (t) => {
  const s = await stack();
  try {
    const { pipeline } = quietPipeline(s);
    // The real validate, held at its first call until every other file has been uploaded.
    const validate = pipeline.validate.bind(pipeline);
    const calls: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    pipeline.validate = async (keys, ...rest) => {
      calls.push([...keys].sort());
      if (calls.length === 1) await gate;
      return validate(keys, ...rest);
    };
    let transforms = 0;
    const transform = pipeline.transform.bind(pipeline);
    pipeline.transform = async (...args) => {
      transforms++;
      return transform(...args);
    };
    const d = dispatcherFor(s, pipeline);
    const bucket = new Bucket(s.clients.s3, s.bucket);
    await bucket.put('ecommerce-data/products/p.csv', PRODUCTS);
    await waitFor(() => calls.length === 1);
    await bucket.put('ecommerce-data/orders/o.csv', ORDERS);
    await bucket.put(
      'ecommerce-data/order_items/i.csv',
      'id,order_id,product_id,sale_price\n1,o1,p1,10.00\n2,o2,p2,5.00\n',
    );
    await new Promise((r) => setTimeout(r, 300)); // the events are queued behind the held batch
    release();
    await waitFor(() => d.batches.length >= 1);
    await d.idle();
    t.deepEqual(calls, [
      ['ecommerce-data/products/p.csv'],
      ['ecommerce-data/order_items/i.csv', 'ecommerce-data/orders/o.csv'],
    ]);
    t.is(transforms, 1);
    t.is(d.batches.length, 1);
    t.is(d.batches[0]!.validated.length, 3);
    await expectEqualToCompute(
      t,
      s,
      writeTree({
        'products/p.csv': PRODUCTS,
        'orders/o.csv': ORDERS,
        'order_items/i.csv': 'id,order_id,product_id,sale_price\n1,o1,p1,10.00\n2,o2,p2,5.00\n',
      }),
    );
  } finally {
    await s.close();
  }
});
