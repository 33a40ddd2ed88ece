// Regression (issue 22, item 3): with only prefix-conditioned s3:ListBucket (the deployed roles), S3
// answers a GET or HEAD of a missing key with 403, not 404. The embedded stack answers as S3 does
// for those roles; the code must read both as "not there" (held-item expiry, pending markers whose
// archive object is not written yet, a re-read of a deleted version, the post-commit read).
import test from 'ava';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocal } from '../../runtime/local/stack';
import { quietPipeline, withStack } from '../stack';

test('the embedded stack answers a missing key with 403 AccessDenied (GET and HEAD), as S3 does for the task roles', async (t) => {
  await withStack(async (s) => {
    const get = await t.throwsAsync(
      s.clients.s3.send(new GetObjectCommand({ Bucket: s.bucket, Key: 'err/unmatched/none.csv' })),
    );
    t.is((get as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 403);
    t.is((get as Error).name, 'AccessDenied');
    const head = await t.throwsAsync(
      s.clients.s3.send(new HeadObjectCommand({ Bucket: s.bucket, Key: 'err/unmatched/none.csv' })),
    );
    t.is((head as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 403);
    // an existing key still reads
    const { pipeline } = quietPipeline(s);
    await pipeline.bucket.put('err/unmatched/there.csv', 'a,b\n');
    t.is(await pipeline.bucket.readText('err/unmatched/there.csv'), 'a,b\n');
  });
  const s404 = await startLocal({
    dir: mkdtempSync(path.join(os.tmpdir(), 'kpi-stack-')),
    port: 0,
    missingKeyStatus: 404,
  });
  try {
    const e = await t.throwsAsync(s404.clients.s3.send(new HeadObjectCommand({ Bucket: s404.bucket, Key: 'nothing' })));
    t.is((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 404);
  } finally {
    await s404.close();
  }
});

test('missing objects read as absent under 403: head, readText, download', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    t.is(await pipeline.bucket.head('err/unmatched/x.csv'), null);
    t.is(await pipeline.bucket.readText('state/quality.json'), null);
    t.is(
      await pipeline.bucket.download(
        'archive/none.csv',
        path.join(mkdtempSync(path.join(os.tmpdir(), 'kpi-dl-')), 'f'),
        'v1',
      ),
      null,
    );
  });
});

test('held items expire to err/unmatched/ under 403 (the HEAD of the not-yet-written report)', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s, { holdSeconds: 0 });
    await pipeline.bucket.put('ecommerce-data/products/p.csv', 'id,category\np1,Jeans\n');
    await pipeline.bucket.put(
      'ecommerce-data/order_items/i.csv',
      'id,order_id,product_id,sale_price\ni1,o-never,p1,5.00\n',
    );
    const b = await pipeline.process();
    t.is(b.transform.expired, 1);
    t.is((await pipeline.bucket.list('err/unmatched/')).length, 1);
  });
});
