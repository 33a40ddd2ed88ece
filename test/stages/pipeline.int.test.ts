// The deployed pipeline's guarantees, against the real embedded S3 and DynamoDB servers.
import test from 'ava';
import path from 'node:path';
import { computeDir } from '../../runtime/core/compute';
import { rng } from '../../runtime/cli/generate';
import { planUpload, upload, type UploadItem } from '../../runtime/cli/upload';
import { Bucket } from '../../runtime/aws/s3store';
import { ROOT, writeTree, PRODUCTS, ORDERS } from '../helpers';
import {
  dispatcherFor,
  expectEqualToCompute,
  inUploadOrder,
  nextSecond,
  quietPipeline,
  settled,
  sleep,
  stack,
  tables,
} from '../stack';
import { faultProxy } from '../faultproxy';

const DATA = path.join(ROOT, 'data');

function shuffled<T>(xs: T[], seed: number): T[] {
  const r = rng(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

test.serial(
  'random order in several batches, a file delivered twice, an event delivered twice → equals kpi compute',
  async (t) => {
    const s = await stack();
    try {
      const { pipeline } = quietPipeline(s);
      const d = dispatcherFor(s, pipeline);
      const files = shuffled(planUpload(DATA), 42);
      const twice = files[3];
      const batches = [files.slice(0, 4), files.slice(4, 8), [...files.slice(8), twice]];
      const order: UploadItem[] = [];
      const bucket = new Bucket(s.clients.s3, s.bucket);
      for (const b of batches) {
        // S3 LastModified has one-second resolution: each batch starts at the top of a new second, so
        // batches get distinct versions and all files of a batch share one (the model below orders a
        // batch by key); a batch straddling a second boundary made this test flaky.
        await nextSecond();
        await upload(bucket, b);
        // same second: ties broken by key; a file delivered again unchanged changes nothing (SPEC)
        order.push(
          ...[...b].sort((x, y) => (x.key < y.key ? -1 : 1)).filter((x) => !order.some((o) => o.file === x.file)),
        );
        await d.idle();
      }
      d.enqueue(files[0].key); // the same event again: the object is gone from the landing zone
      await d.idle();
      const want = await expectEqualToCompute(t, s, inUploadOrder(order));
      t.true(want.order_kpis.length > 100);
      const statuses = d.batches.flatMap((b) => b.validated.map((v) => v.status));
      t.true(statuses.includes('gone'));
      // conservation: every upload is in archive/ (or err/), nothing left in the landing zone
      const all = await bucket.list('');
      t.is(all.filter((o) => o.key.startsWith('ecommerce-data/')).length, 0);
      // the file delivered twice was recognised (same bytes as its newest archived version)
      t.is(all.filter((o) => o.key.startsWith('archive/')).length, files.length);
      t.true(statuses.includes('duplicate'));
      const validated = d.batches.flatMap((b) => b.validated).filter((v) => v.status === 'archived');
      const rows = validated.reduce((n, v) => n + v.rows, 0);
      const accepted = validated.reduce((n, v) => n + v.accepted, 0);
      const rejected = validated.reduce((n, v) => n + v.rejected, 0);
      t.is(rows, accepted + rejected);
      // what compute rejects as unknown the pipeline holds (it may still arrive); everything else agrees
      const expected = await computeDir(inUploadOrder(order));
      const held = d.batches.at(-1)!.transform.held;
      const r = expected.rejected;
      t.is(held, (r.unknown_order ?? 0) + (r.unknown_product ?? 0));
      t.is(
        rejected,
        Object.entries(r)
          .filter(([k]) => !k.startsWith('unknown_'))
          .reduce((n, [, v]) => n + v!, 0),
      );
      t.is(
        rows,
        expected.files.reduce((n, f) => n + f.rows, 0),
      );
    } finally {
      await s.close();
    }
  },
);

test.serial('two transforms at once converge; a run killed mid-write, then rerun, converges', async (t) => {
  const s = await stack();
  try {
    const a = quietPipeline(s).pipeline;
    const b = quietPipeline(s).pipeline;
    await upload(new Bucket(s.clients.s3, s.bucket), planUpload(DATA));
    await a.validate((await a.bucket.list('ecommerce-data/')).map((o) => o.key));
    await Promise.all([a.transform(), b.transform()]);
    await expectEqualToCompute(t, s, DATA);
  } finally {
    await s.close();
  }
  const s2 = await stack();
  try {
    const killed = quietPipeline(
      s2,
      {},
      {
        store: {
          beforeBatch: (n) => {
            if (n >= 4) throw new Error('killed');
          },
        },
      },
    ).pipeline;
    await upload(new Bucket(s2.clients.s3, s2.bucket), planUpload(DATA));
    await t.throwsAsync(killed.process(), { message: 'killed' });
    const partial = await settled(() => tables(s2)); // batches already in flight land
    const want = await computeDir(DATA);
    t.true(
      partial.category_kpis.length + partial.order_kpis.length < want.category_kpis.length + want.order_kpis.length,
    );
    t.true(partial.category_kpis.length > 0);
    await quietPipeline(s2).pipeline.process();
    await expectEqualToCompute(t, s2, DATA);
  } finally {
    await s2.close();
  }
});

test.serial(
  'items before their order and product are held, then counted; never arriving → err/unmatched after the wait',
  async (t) => {
    const s = await stack();
    try {
      // A hold long enough that a loaded machine still applies both uploads within it.
      const { pipeline } = quietPipeline(s, { holdSeconds: 6 });
      const d = dispatcherFor(s, pipeline);
      const bucket = new Bucket(s.clients.s3, s.bucket);
      const dir = writeTree({
        'order_items/i.csv': 'id,order_id,product_id,sale_price\n1,o1,p1,10.00\n2,o404,p1,5.00\n3,o2,p404,1.00\n',
        'orders/o.csv': ORDERS,
        'products/p.csv': PRODUCTS,
      });
      const plan = planUpload(dir);
      await upload(
        bucket,
        plan.filter((u) => u.key.includes('order_items')),
      );
      await d.idle();
      t.is(d.batches.at(-1)!.transform.held, 3);
      t.deepEqual((await tables(s)).order_kpis, []);
      await upload(
        bucket,
        plan.filter((u) => !u.key.includes('order_items')),
      );
      await d.idle();
      const kpis = await tables(s);
      t.deepEqual(
        kpis.order_kpis.map((o) => [o.order_date, o.total_items_sold, o.total_revenue]),
        [['2025-03-01', 1, 10]],
      );
      t.is(d.batches.at(-1)!.transform.held, 2);
      t.deepEqual(await bucket.list('err/unmatched/'), []);
      await sleep(6100);
      const r = await pipeline.transform();
      t.is(r.expired, 2);
      const unmatched = await bucket.list('err/unmatched/');
      t.is(unmatched.length, 1);
      let text = '';
      for await (const c of bucket.read(unmatched[0].key)) text += Buffer.from(c).toString();
      t.regex(text, /^id,order_id,product_id,sale_price,reason,source_file,line\n/);
      t.regex(text, /2,o404,p1,5\.00,unknown_order,archive\/order_items\/i\.csv\/\d{13}\.csv,3/);
      t.regex(text, /3,o2,p404,1\.00,unknown_product,/);
    } finally {
      await s.close();
    }
  },
);

test.serial(
  'not-CSV, missing-column, empty and unrouted files go to err/ with a note; the rest is unaffected',
  async (t) => {
    const s = await stack();
    try {
      const { pipeline, alerts } = quietPipeline(s);
      const d = dispatcherFor(s, pipeline);
      const bucket = new Bucket(s.clients.s3, s.bucket);
      await upload(bucket, planUpload(DATA));
      await bucket.put('ecommerce-data/orders/picture.csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 0x0a]));
      await bucket.put(
        'ecommerce-data/orders/no_user.csv',
        'order_id,status,created_at\no1,Returned,2025-03-09T00:00:00\n',
      );
      await bucket.put('ecommerce-data/products/empty.csv', '');
      await bucket.put('ecommerce-data/readme.txt', 'hello');
      // regression: keys with '+', '%' and spaces reach the pipeline unchanged (they were URL-decoded)
      await bucket.put('ecommerce-data/products/extra 100%+more.csv', 'id,category\n');
      await d.idle();
      await expectEqualToCompute(t, s, DATA);
      const errs = (await bucket.list('err/files/')).map((o) => o.key);
      for (const name of [
        'orders/picture.csv',
        'orders/no_user.csv',
        'products/empty.csv',
        'unrouted/ecommerce-data/readme.txt',
      ]) {
        t.truthy(
          errs.find((k) => k.startsWith(`err/files/${name}/`) && !k.endsWith('.note.txt')),
          name,
        );
        t.truthy(
          errs.find((k) => k.startsWith(`err/files/${name}/`) && k.endsWith('.note.txt')),
          `${name} note`,
        );
      }
      const note = errs.find((k) => k.startsWith('err/files/orders/no_user.csv/') && k.endsWith('.note.txt'))!;
      let text = '';
      for await (const c of bucket.read(note)) text += Buffer.from(c).toString();
      t.regex(text, /missing required column user_id/);
      t.true(alerts.some((a) => a.includes('no_user.csv')));
      t.is((await bucket.list('ecommerce-data/')).length, 0);
      t.is((await bucket.list('archive/products/extra 100%+more.csv/')).length, 1);
    } finally {
      await s.close();
    }
  },
);

test.serial(
  'faults (throttling, 500s, dropped connections before and after a write) → exact tables, nothing lost',
  async (t) => {
    const s = await stack();
    const proxy = await faultProxy(s.endpoint, 7, 0.2);
    try {
      const { pipeline } = quietPipeline(s, {}, { store: { baseDelayMs: 5 } }, proxy.endpoint);
      const plan = planUpload(DATA);
      await upload(pipeline.bucket, plan);
      const r = await pipeline.process();
      t.is(r.validated.length, plan.length);
      await expectEqualToCompute(t, s, DATA);
      const c = proxy.counts;
      // (KPI rows are single conditional writes now: no BatchWriteItem, so no UnprocessedItems to inject;
      // a write dropped after the server applied it is retried and passes its own fence)
      t.true(c.throttle > 0 && c.error500 > 0 && c.dropBefore > 0 && c.dropAfter > 0, JSON.stringify(c));
      const bucket = new Bucket(s.clients.s3, s.bucket);
      t.is((await bucket.list('archive/')).length, plan.length);
      t.is((await bucket.list('ecommerce-data/')).length, 0);
    } finally {
      await proxy.close();
      await s.close();
    }
  },
);

test.serial(
  'one object failing does not hold up the batch: it stays in the landing zone and the next run finishes it',
  async (t) => {
    const s = await stack();
    try {
      const { pipeline, logs } = quietPipeline(s);
      const plan = planUpload(DATA);
      await upload(pipeline.bucket, plan);
      const stuck = plan.find((p) => p.key.includes('order_items'))!.key;
      const download = pipeline.bucket.download.bind(pipeline.bucket);
      pipeline.bucket.download = async (key: string, file: string, v?: string) => {
        if (key === stuck)
          throw Object.assign(new Error('injected read failure'), { $metadata: { httpStatusCode: 500 } });
        return download(key, file, v);
      };
      const first = await pipeline.process();
      t.deepEqual(
        first.validated.filter((v) => v.status === 'failed').map((v) => v.key),
        [stuck],
      );
      t.is(first.validated.filter((v) => v.status === 'archived').length, plan.length - 1);
      t.truthy(logs.find((l) => l.event === 'file_failed' && l.key === stuck));
      t.deepEqual(
        (await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key),
        [stuck],
      );
      pipeline.bucket.download = download;
      await pipeline.process();
      await expectEqualToCompute(t, s, DATA);
    } finally {
      await s.close();
    }
  },
);
