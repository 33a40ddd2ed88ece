// Regression (found by `npm run bench:local -- --items 5000000`: tables ≠ kpi compute): kpi upload
// sent 4 files at once, so a small corrections file could finish before a large part file of the
// same folder and get the earlier upload time; the part file's versions then won, unlike in
// kpi compute (file name order). Now a folder's files go one after another, in name order.
import test from 'ava';
import { upload } from '../../runtime/cli/upload';
import { writeTree } from '../helpers';
import { planUpload } from '../../runtime/cli/upload';
import { expectEqualToCompute, quietPipeline, withStack } from '../stack';

test('a slow large part file and its small corrections file: the corrections win, as in kpi compute', async (t) => {
  await withStack(async (s) => {
    const dir = writeTree({
      'products/p.csv': 'id,category\np1,Jeans\n',
      'orders/orders_part1.csv': 'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00Z\n',
      'orders/orders_zz_corrections.csv': 'order_id,user_id,status,created_at\no1,u1,Returned,2025-03-02T10:00:00Z\n',
      'order_items/i.csv': 'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\n',
    });
    const { pipeline } = quietPipeline(s);
    // The part file's upload is slow (a big file): it takes over a second to finish.
    const put = pipeline.bucket.put.bind(pipeline.bucket);
    pipeline.bucket.put = async (key, body, extra) => {
      if (key.endsWith('orders_part1.csv')) await new Promise((r) => setTimeout(r, 1300));
      return put(key, body, extra);
    };
    await upload(pipeline.bucket, planUpload(dir));
    pipeline.bucket.put = put;
    await pipeline.process();
    const want = await expectEqualToCompute(t, s, dir);
    t.deepEqual(
      want.order_kpis.map((o) => [o.order_date, o.return_rate]),
      [['2025-03-02', 1]],
    );
  });
});
