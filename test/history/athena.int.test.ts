// kpi verify with KPI_HISTORY_ENGINE=athena, end to end on the embedded stack: the queries the
// runner sends are run on DuckDB by a stand-in for Athena's API (test/fake-athena.ts: the zone
// read from S3 at query time, answers as strings in pages, QUEUED/RUNNING before SUCCEEDED). What
// is checked against kpi compute is the same SQL text Athena would get.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { generate } from '../../runtime/cli/generate';
import { planUpload, upload } from '../../runtime/cli/upload';
import { verifyWith } from '../../runtime/cli/verify-commands';
import { computeDir } from '../../runtime/core/compute';
import { AthenaQueryFailed, kpiQueries, MAX_LEFT_OUT } from '../../runtime/history/athena';
import { configFromEnv } from '../../runtime/aws/config';
import { expectEqualToCompute, quietPipeline, withStack } from '../stack';
import { fakeAthena } from '../fake-athena';

const TARGET = { workgroup: 'kpi-lake-test', database: 'ecommerce_kpi_test' };

function dataset(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-athena-'));
  generate(dir, { items: 5000, seed: 21, dirty: 0.05, partRows: 700, idStyle: 'prefixed' });
  return dir;
}

test.serial(
  'kpi verify on Athena: the KPIs from the zone equal kpi compute; a pending file is left out by its $path; a corrupted row and a missing lake day are differences',
  async (t) => {
    await withStack(async (s) => {
      const { pipeline, alerts } = quietPipeline(s, { historyEngine: 'athena', athena: TARGET });
      const dir = dataset();
      await upload(pipeline.bucket, planUpload(dir));
      await pipeline.process();
      const want = await expectEqualToCompute(t, s, dir);

      // one more file validated but not yet applied (it changes the KPIs): its zone object must not count
      writeFileSync(
        path.join(dir, 'order_items', 'zz-late.csv'),
        'id,order_id,product_id,sale_price,status\nlate1,ORD-00000002,PRD-00000001,5.00,Complete\nlate2,ORD-00000003,PRD-00000002,7.25,Complete\n',
      );
      const late = planUpload(dir).filter((p) => p.key.endsWith('zz-late.csv'));
      await upload(pipeline.bucket, late);
      await pipeline.validate(late.map((p) => p.key));
      t.notDeepEqual((await computeDir(dir)).order_kpis, want.order_kpis, 'the late file changes the KPIs');
      const pendingZone = (await pipeline.bucket.list('validated/order_items/')).filter((o) =>
        o.key.includes('zz-late.csv'),
      );
      t.is(pendingZone.length, 1);

      const fake = fakeAthena(pipeline.bucket, pipeline.cfg.bucket, TARGET);
      const r = await verifyWith(pipeline, false, fake);
      t.deepEqual(r.differences, []);
      t.true(r.ok);
      t.is(r.checked.categoryRows, want.category_kpis.length);
      t.is(r.checked.orderRows, want.order_kpis.length);
      t.is(fake.queries.length, 3, 'two KPI queries and the lake counts');
      t.true(fake.queries[0]!.includes(`s3://${pipeline.cfg.bucket}/${pendingZone[0]!.key}`));
      t.true(fake.polls > 0 && fake.pages > 3, `polls ${fake.polls}, pages ${fake.pages}`);
      t.deepEqual(
        alerts.filter((a) => a.includes('verify')),
        [],
      );

      // a corrupted row and a deleted lake day
      const row = want.order_kpis[5]!;
      await s.clients.ddb.send(
        new PutCommand({ TableName: s.orderTable, Item: { ...row, total_orders: row.total_orders + 1 } }),
      );
      const lakeDay = (await pipeline.bucket.list('curated/')).find((o) =>
        o.key.includes(want.order_kpis[9]!.order_date),
      )!;
      await pipeline.bucket.delete(lakeDay.key);
      const bad = await verifyWith(pipeline, false, fakeAthena(pipeline.bucket, pipeline.cfg.bucket, TARGET));
      t.false(bad.ok);
      t.deepEqual(
        bad.differences.map((d) => [d.where, d.key]),
        [
          ['order_kpi_table', row.order_date],
          ['curated', `order_date=${want.order_kpis[9]!.order_date}`],
        ],
      );
      t.true(alerts.some((a) => a.includes(row.order_date)));

      // once the late file is applied, Athena counts it too
      await pipeline.process();
      await pipeline.rebuild();
      await expectEqualToCompute(t, s, dir);
      const again = await verifyWith(pipeline, false, fakeAthena(pipeline.bucket, pipeline.cfg.bucket, TARGET));
      t.true(again.ok, JSON.stringify(again.differences));
    });
  },
);

test.serial(
  'a failed Athena query is an alert with its reason and no comparison; a missing zone object is named',
  async (t) => {
    await withStack(async (s) => {
      const { pipeline, alerts } = quietPipeline(s, { historyEngine: 'athena', athena: TARGET });
      const dir = dataset();
      await upload(pipeline.bucket, planUpload(dir));
      await pipeline.process();
      const fake = fakeAthena(pipeline.bucket, pipeline.cfg.bucket, TARGET);
      const broken = {
        ...fake,
        start: (sql: string) => fake.start(sql.replace('validated_orders', 'no_such_table'), TARGET),
      };
      await t.throwsAsync(verifyWith(pipeline, false, broken), {
        instanceOf: AthenaQueryFailed,
        message: /no_such_table/,
      });
      t.true(alerts.some((a) => a.includes('verify could not run on Athena') && a.includes('no_such_table')));

      const gone = (await pipeline.bucket.list('validated/order_items/'))[0]!.key;
      await pipeline.bucket.delete(gone);
      const err = await t.throwsAsync(
        verifyWith(pipeline, false, fakeAthena(pipeline.bucket, pipeline.cfg.bucket, TARGET)),
      );
      t.true(err!.message.includes(gone));
      t.true(alerts.some((a) => a.includes(gone)));
    });
  },
);

test('the Athena queries refuse a left-out list past the query size limit, and KPI_HISTORY_ENGINE=athena needs its workgroup and database', (t) => {
  const paths = Array.from({ length: MAX_LEFT_OUT + 1 }, (_, i) => `s3://b/validated/orders/f${i}.csv/1.parquet`);
  t.throws(() => kpiQueries('db', paths), { message: /too many to leave out/ });
  const q = kpiQueries('db', paths.slice(0, 2));
  t.true(q.categories.includes(`"$path" NOT IN ('${paths[0]}', '${paths[1]}')`));
  t.true(Buffer.byteLength(kpiQueries('db', paths.slice(0, MAX_LEFT_OUT)).categories) < 256 * 1024);
  const saved = { ...process.env };
  try {
    process.env.KPI_BUCKET = 'b';
    process.env.KPI_HISTORY_ENGINE = 'athena';
    delete process.env.KPI_ATHENA_WORKGROUP;
    delete process.env.KPI_ATHENA_DATABASE;
    t.throws(() => configFromEnv(), { message: /KPI_ATHENA_WORKGROUP and KPI_ATHENA_DATABASE/ });
    process.env.KPI_ATHENA_WORKGROUP = 'wg';
    process.env.KPI_ATHENA_DATABASE = 'db';
    t.deepEqual(configFromEnv().athena, { workgroup: 'wg', database: 'db' });
  } finally {
    process.env = saved;
  }
});
