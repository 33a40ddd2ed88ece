// Regressions: one file must never stop the pipeline (issue 8, item 4), and stale tables after a
// kill or a deleted table (item 12). Real embedded servers.
import test from 'ava';
import path from 'node:path';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { computeDir } from '../../runtime/core/compute';
import * as versions from '../../runtime/core/parse/versions';
import { MissingTable } from '../../runtime/aws/kpistore';
import { planUpload, upload } from '../../runtime/cli/upload';
import { ROOT } from '../helpers';
import { dispatcherFor, expectEqualToCompute, quietPipeline, tables, waitFor, withStack } from '../stack';

const DATA = path.join(ROOT, 'data');
const ORDER = 'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\n';

test('categories that decode alike no longer wedge the tables: later uploads still reach them', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    const products = Buffer.concat([
      Buffer.from('id,category\n1,Caf'),
      Buffer.from([0xe9]),
      Buffer.from('\n2,Caf'),
      Buffer.from([0xe8]),
      Buffer.from('\n3,\uFEFFJeans\n4,Jeans\n'),
    ]);
    await pipeline.bucket.put('ecommerce-data/products/p.csv', products);
    await pipeline.bucket.put('ecommerce-data/orders/o.csv', ORDER);
    await pipeline.bucket.put(
      'ecommerce-data/order_items/i.csv',
      'id,order_id,product_id,sale_price\na,o1,3,1.00\nb,o1,4,2.00\n',
    );
    const b1 = await pipeline.process();
    t.deepEqual(b1.validated.find((v) => v.entity === 'products')?.rejectedByReason, { bad_encoding: 2 });
    t.deepEqual(
      (await tables(s)).category_kpis.map((c) => c.category),
      ['Jeans', '\uFEFFJeans'],
    );
    await pipeline.bucket.put('ecommerce-data/order_items/j.csv', 'id,order_id,product_id,sale_price\nc,o1,4,3.00\n');
    await pipeline.process();
    t.is((await tables(s)).order_kpis[0].total_revenue, 6);
  });
});

// serial: it swaps versions.readVersions, a module export the other test that swaps it shares
test.serial(
  'a file whose processing fails deterministically is quarantined to err/ with a note and an alert; the rest proceeds',
  async (t) => {
    await withStack(async (s) => {
      const { pipeline, alerts } = quietPipeline(s);
      const plan = planUpload(DATA);
      await upload(pipeline.bucket, plan);
      const poison = 'ecommerce-data/orders/poison.csv';
      await pipeline.bucket.put(poison, ORDER);
      const readVersions = versions.readVersions;
      // A bug that this one file triggers, every time (not an S3 fault).
      (versions as { readVersions: typeof readVersions }).readVersions = (...args) => {
        if (args[1] === poison) throw new TypeError('Cannot read properties of undefined (simulated bug)');
        return readVersions(...args);
      };
      try {
        const b = await pipeline.process();
        t.is(b.validated.find((v) => v.key === poison)?.status, 'rejected');
        t.regex(b.validated.find((v) => v.key === poison)?.note ?? '', /processing failed: Cannot read properties/);
      } finally {
        (versions as { readVersions: typeof readVersions }).readVersions = readVersions;
      }
      const err = (await pipeline.bucket.list('err/files/orders/poison.csv/')).map((o) => o.key);
      t.is(err.length, 2); // the bytes and the note
      t.true(alerts.some((a) => a.includes('poison.csv')));
      t.deepEqual(await pipeline.bucket.list('ecommerce-data/'), []);
      const want = await computeDir(DATA);
      t.deepEqual((await tables(s)).order_kpis, want.order_kpis);
    });
  },
);

test('killed after validation, before the transform: the local reconcile at start brings the tables up to date', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    await upload(pipeline.bucket, planUpload(DATA));
    await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key)); // then "killed"
    t.is((await tables(s)).order_kpis.length, 0);
    t.deepEqual(await pipeline.bucket.list('ecommerce-data/'), []); // nothing left to trigger a run
    const d = dispatcherFor(s, pipeline);
    d.schedule(0); // what kpi local does at start
    await d.idle();
    await expectEqualToCompute(t, s, DATA);
  });
});

test('a table deleted while running: the error names it, the reconcile recreates and refills it, with an alert', async (t) => {
  await withStack(async (s) => {
    const { pipeline, alerts } = quietPipeline(s);
    await s.clients.raw.send(new DeleteTableCommand({ TableName: s.categoryTable }));
    await upload(pipeline.bucket, planUpload(DATA));
    await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    const err = await t.throwsAsync(pipeline.transform(), { instanceOf: MissingTable });
    t.true(err!.message.includes(s.categoryTable));
    const d = dispatcherFor(s, pipeline);
    d.schedule(1);
    await d.idle();
    t.deepEqual((await tables(s)).category_kpis, (await computeDir(DATA)).category_kpis);
    t.true(alerts.some((a) => a.includes(`'${s.categoryTable}' was missing`)));
    // and the schedule keeps running: a second reconcile happens a second later
    const before = d.batches.length;
    await waitFor(() => d.batches.length > before, 5000);
    await d.idle();
    d.stop();
    t.true(d.batches.length > before);
  });
});

// serial: it swaps versions.readVersions, a module export the other test that swaps it shares
test.serial(
  'an archived file the transform fails on twice the same way is quarantined; the KPIs of the rest are written',
  async (t) => {
    await withStack(async (s) => {
      const { pipeline, alerts } = quietPipeline(s);
      await upload(pipeline.bucket, planUpload(DATA));
      await pipeline.process();
      await pipeline.bucket.put('ecommerce-data/orders/zz.csv', ORDER);
      await pipeline.validate(['ecommerce-data/orders/zz.csv']);
      const poison = (await pipeline.bucket.list('archive/orders/zz.csv/'))[0].key;
      const readVersions = versions.readVersions;
      (versions as { readVersions: typeof readVersions }).readVersions = (entity, file, open) => {
        if (file === poison) throw new RangeError('simulated bug');
        return readVersions(entity, file, open);
      };
      try {
        await pipeline.transform();
      } finally {
        (versions as { readVersions: typeof readVersions }).readVersions = readVersions;
      }
      t.deepEqual(await pipeline.bucket.list(poison), []);
      t.is((await pipeline.bucket.list(`err/files/quarantine/${poison}`)).length, 2);
      t.true(alerts.some((a) => a.includes('quarantined')));
      await expectEqualToCompute(t, s, DATA);
    });
  },
);
