// Regressions (issue 22, items 4 and 10): a category longer than DynamoDB's 2,048-byte key limit
// failed the post-commit write on every run, and a product id of ~130 KB pushed a commit over
// DynamoDB's 400 KB item limit: the transform was blocked for good. Both are now rejected rows
// (field_too_long), in kpi compute and the deployed path alike; the rest of the file counts.
import test from 'ava';
import { MAX_CATEGORY_BYTES, MAX_ID_BYTES } from '../../runtime/core/parse/rules';
import { computeFiles, writeTree } from '../helpers';
import { expectEqualToCompute, quietPipeline, tables, withStack } from '../stack';
import { planUpload, upload } from '../../runtime/cli/upload';

const longCategory = 'C'.repeat(3000);
const longId = 'p'.repeat(130_000);
const FILES = {
  'products/p.csv': `id,category\np1,Jeans\np2,${longCategory}\n${longId},Tops\np3,${'é'.repeat(MAX_CATEGORY_BYTES / 2)}\n`,
  'orders/o.csv': `order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\n${'o'.repeat(MAX_ID_BYTES + 1)},u1,Complete,2025-03-01T10:00:00\n`,
  'order_items/i.csv': `id,order_id,product_id,sale_price\ni1,o1,p1,5.00\ni2,o1,p2,6.00\ni3,o1,${longId},7.00\ni4,o1,p3,8.00\n`,
};

test('kpi compute: over-long ids and categories are field_too_long, at the bound they are accepted (both engines)', async (t) => {
  for (const engine of ['wasm', 'reference'] as const) {
    const r = await computeFiles(FILES, { rowEngine: engine });
    t.deepEqual(r.rejected, { field_too_long: 4, unknown_product: 1 }, engine);
    t.deepEqual(
      r.category_kpis.map((c) => [c.category.length, c.daily_revenue]),
      [
        [5, 5],
        [MAX_CATEGORY_BYTES / 2, 8],
      ],
      engine,
    );
  }
});

test('the pipeline commits and writes its KPI rows with over-long values in its input', async (t) => {
  const dir = writeTree(FILES);
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    await upload(pipeline.bucket, planUpload(dir));
    const b = await pipeline.process();
    t.is(b.transform.changedDates.length, 1);
    await expectEqualToCompute(t, s, dir);
    t.is((await tables(s)).category_kpis.length, 2);
    // a later file still reaches the tables (nothing is blocked)
    await pipeline.bucket.put('ecommerce-data/order_items/j.csv', 'id,order_id,product_id,sale_price\ni9,o1,p1,1.00\n');
    await pipeline.process();
    t.is((await tables(s)).order_kpis[0].total_revenue, 14);
  });
});
