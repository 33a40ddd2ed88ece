// The curated zone against the embedded servers, read back by DuckDB as an independent reader:
// plain SQL over the Parquet files gives exactly the KPI tables; a later order version moves its
// items to another day; kpi verify catches a corrupted table row and a deleted lake file, and
// kpi rebuild repairs them.
import test from 'ava';
import path from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { planUpload, upload } from '../../runtime/cli/upload';
import { verify } from '../../runtime/stages/verify';
import { decodeLakeFile } from '../../runtime/core/formats/parquet';
import type { Bucket } from '../../runtime/aws/s3store';
import { kpiAsync, ORDERS, PRODUCTS, ROOT } from '../helpers';
import { downloadLake, kpisFromLake } from '../lake';
import { expectEqualToCompute, quietPipeline, tables, withStack } from '../stack';

const DATA = path.join(ROOT, 'data');

async function readObject(bucket: Bucket, key: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of bucket.read(key)) chunks.push(c);
  return Buffer.concat(chunks);
}

test.serial(
  'the sample, in two batches with a file delivered twice: DuckDB SQL over the lake equals the tables and kpi compute',
  async (t) => {
    await withStack(async (s) => {
      const { pipeline } = quietPipeline(s);
      const plan = planUpload(DATA);
      await upload(pipeline.bucket, plan.slice(0, 6));
      await pipeline.process();
      await upload(pipeline.bucket, [...plan.slice(6), plan[2]!]);
      await pipeline.process();
      const want = await expectEqualToCompute(t, s, DATA);
      const lake = await kpisFromLake(await downloadLake(pipeline.bucket));
      t.deepEqual(lake.category_kpis, want.category_kpis);
      t.deepEqual(lake.order_kpis, want.order_kpis);
      // one file per day with joined items, named by its content: a rerun writes nothing
      const files = (await pipeline.bucket.list('curated/')).map((o) => o.key);
      t.is(files.length, want.order_kpis.length);
      t.true(
        files.every((k) => /^curated\/joined_items\/order_date=\d{4}-\d{2}-\d{2}\/part-[0-9a-f]{16}\.parquet$/.test(k)),
      );
      const again = await pipeline.transform();
      t.is(again.lakeFilesWritten + again.lakeFilesDeleted, 0);
      t.true((await verify(pipeline.bucket, pipeline.store, pipeline.state)).ok);
    });
  },
);

test.serial(
  'a later order version moving its order to another day moves its items in the lake; the old day disappears',
  async (t) => {
    await withStack(async (s) => {
      const { pipeline } = quietPipeline(s);
      await pipeline.bucket.put('ecommerce-data/products/p.csv', PRODUCTS);
      await pipeline.bucket.put('ecommerce-data/orders/o.csv', ORDERS);
      await pipeline.bucket.put(
        'ecommerce-data/order_items/i.csv',
        'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\ni2,o1,p2,5.50\ni3,o2,p1,1.25\n',
      );
      await pipeline.process();
      t.deepEqual(
        (await pipeline.bucket.list('curated/')).map((o) => o.key.split('/')[2]),
        ['order_date=2025-03-01'],
      );
      // o1 moves to 2025-03-05, o2 to 2025-03-07: 2025-03-01 has no joined items any more
      await pipeline.bucket.put(
        'ecommerce-data/orders/o2.csv',
        'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-05T10:00:00Z\no2,u2,Returned,2025-03-07T10:00:00Z\n',
      );
      await pipeline.process();
      const dir = await downloadLake(pipeline.bucket);
      t.deepEqual(
        (await pipeline.bucket.list('curated/')).map((o) => o.key.split('/')[2]),
        ['order_date=2025-03-05', 'order_date=2025-03-07'],
      );
      const lake = await kpisFromLake(dir);
      t.deepEqual(
        lake.order_kpis.map((o) => [o.order_date, o.total_items_sold, o.total_revenue, o.return_rate]),
        [
          ['2025-03-05', 2, 15.5, 0],
          ['2025-03-07', 1, 1.25, 1],
        ],
      );
      t.deepEqual((await tables(s)).order_kpis, lake.order_kpis);
    });
  },
);

test.serial(
  'kpi verify catches a hand-corrupted table row and a hand-deleted lake file (exit 1, with the keys); kpi rebuild repairs both',
  async (t) => {
    await withStack(async (s) => {
      const { pipeline } = quietPipeline(s);
      await upload(pipeline.bucket, planUpload(DATA));
      await pipeline.process();
      const before = await tables(s);
      const row = before.order_kpis[10]!;
      await s.clients.ddb.send(
        new PutCommand({ TableName: s.orderTable, Item: { ...row, total_revenue: row.total_revenue + 1 } }),
      );
      const lakeFile = (await pipeline.bucket.list('curated/'))[3]!.key;
      await pipeline.bucket.delete(lakeFile);
      const r = await verify(pipeline.bucket, pipeline.store, pipeline.state);
      t.false(r.ok);
      t.deepEqual(
        r.differences.map((d) => [d.where, d.key]),
        [
          ['order_kpi_table', row.order_date],
          ['curated', lakeFile.split('/')[2]!],
        ],
      );
      t.regex(r.differences[0]!.problem, /total_revenue/);
      // the commands, as a user runs them (a child process: the servers run in this one)
      const v = await kpiAsync(['verify'], s.env);
      t.is(v.status, 1, v.stderr);
      t.true(v.stdout.includes(`order_kpi_table\t${row.order_date}`));
      t.true(v.stdout.includes(`curated\t${lakeFile.split('/')[2]!}\tno file`));
      t.regex(v.stderr, /ALERT: KPI pipeline: verify found 2 difference/);
      const rb = await kpiAsync(['rebuild'], s.env);
      t.is(rb.status, 0, rb.stderr + rb.stdout);
      // rebuilt beside the current lake: every day's file put again under its name (a name does not
      // prove its bytes: test/history/zone.int.test.ts), nothing deleted
      const lakeAfter = (await pipeline.bucket.list('curated/')).map((o) => o.key);
      t.regex(
        rb.stdout,
        /rebuild: 12 archived files, 4837 joined items; \d+ KPI rows written, \d+ deleted; 181 lake files written, 0 deleted/,
      );
      t.true(lakeAfter.includes(lakeFile));
      t.is(lakeAfter.length, 181);
      t.regex(rb.stdout, /verify: ok/);
      t.true((await verify(pipeline.bucket, pipeline.store, pipeline.state)).ok);
      t.deepEqual(await tables(s), before);
    });
  },
);

test.serial(
  'the lake under races and kills: two transforms at once, and a run killed between putting a day and deleting its old file, converge (verify ok)',
  async (t) => {
    await withStack(async (s) => {
      const a = quietPipeline(s).pipeline;
      const b = quietPipeline(s).pipeline;
      const plan = planUpload(DATA);
      await upload(a.bucket, plan.slice(0, 6));
      await a.process();
      // a second batch changes most days; two transforms race over it
      await upload(a.bucket, plan.slice(6));
      await a.validate((await a.bucket.list('ecommerce-data/')).map((o) => o.key));
      await Promise.all([a.transform(), b.transform()]);
      t.true((await verify(a.bucket, a.store, a.state)).ok);
      // killed half-way through the lake: the new file of a day is in, its old file not yet deleted
      // a later version of an order that has items: its day's file must change
      const day = (await a.bucket.list('curated/'))[0]!.key;
      const [row] = await decodeLakeFile(await readObject(a.bucket, day));
      await a.bucket.put(
        'ecommerce-data/orders/late.csv',
        `order_id,user_id,status,created_at\n${row!.order_id},${row!.user_id},${row!.order_returned ? 'Complete' : 'Returned'},${day.split('=')[1]!.slice(0, 10)}T10:00:00Z\n`,
      );
      await a.validate(['ecommerce-data/orders/late.csv']);
      const del = a.bucket.delete.bind(a.bucket);
      a.bucket.delete = async (key: string) => {
        if (key.startsWith('curated/')) throw new Error('killed');
        return del(key);
      };
      await t.throwsAsync(a.transform(), { message: 'killed' });
      a.bucket.delete = del;
      const midway = await verify(a.bucket, a.store, a.state);
      t.false(midway.ok); // a day with two files (or an old answer): what a reader can see during a crash
      await b.transform(); // the next run (any upload, or the schedule)
      t.true((await verify(b.bucket, b.store, b.state)).ok);
      const lake = await kpisFromLake(await downloadLake(b.bucket));
      t.deepEqual(lake.order_kpis, (await tables(s)).order_kpis);
    });
  },
);
