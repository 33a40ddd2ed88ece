// Regression (issue 22, item 9): a product's category change loaded every affected day's rows at
// once (824 MiB of heap for one 130-byte file at 5M items of history). Days are now rewritten
// DAYS_AT_ONCE at a time; a change spanning several groups, with an order moving day in the same
// batch, must still give exactly kpi compute's tables and lake.
import test from 'ava';
import { planUpload, upload } from '../../runtime/cli/upload';
import { DAYS_AT_ONCE } from '../../runtime/state/incremental';
import { writeTree } from '../helpers';
import { downloadLake, kpisFromLake } from '../lake';
import { expectEqualToCompute, nextSecond, quietPipeline, withStack } from '../stack';

const DAYS = DAYS_AT_ONCE * 2 + 5;
const date = (d: number) => new Date(Date.UTC(2025, 0, 1 + d)).toISOString().slice(0, 10);

test(`a category change over ${DAYS} days (several groups) and a moved order in one batch equal kpi compute`, async (t) => {
  let orders = 'order_id,user_id,status,created_at\n';
  let items = 'id,order_id,product_id,sale_price\n';
  for (let d = 0; d < DAYS; d++) {
    orders += `o${d},u${d % 7},${d % 5 ? 'Complete' : 'Returned'},${date(d)}T10:00:00Z\n`;
    items += `i${d},o${d},p1,${d + 1}.25\ni${d}b,o${d},p2,1.00\n`;
  }
  const history = {
    'products/p.csv': 'id,category\np1,Jeans\np2,Tops\n',
    'orders/o.csv': orders,
    'order_items/i.csv': items,
  };
  const later = {
    'products/q.csv': 'id,category\np1,Denim\n',
    'orders/r.csv': `order_id,user_id,status,created_at\no3,u3,Complete,${date(DAYS + 3)}T10:00:00Z\n`,
  };
  await withStack(async (s) => {
    const { pipeline, logs } = quietPipeline(s, {}, { bulkFactor: Infinity });
    await upload(pipeline.bucket, planUpload(writeTree(history)));
    await pipeline.process();
    await nextSecond();
    await upload(pipeline.bucket, planUpload(writeTree(later)));
    const r = await pipeline.process();
    t.is(r.transform.changedDates.length, DAYS + 1); // every day (p1's category), and o3's new day
    t.true(logs.some((l) => l.event === 'batch_applied'));
    const all = writeTree({
      ...history,
      'products/q.csv': later['products/q.csv'],
      'orders/r.csv': later['orders/r.csv'],
    });
    const want = await expectEqualToCompute(t, s, all);
    const lake = await kpisFromLake(await downloadLake(pipeline.bucket));
    t.deepEqual(lake.category_kpis, want.category_kpis);
    t.deepEqual(lake.order_kpis, want.order_kpis);
  });
});
