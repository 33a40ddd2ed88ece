// Regressions of uploads overwritten while validated (issue 8, items 1 and 2): every upload ends in
// archive/ or err/, and what is archived is exactly the bytes validated.
import test from 'ava';
import { createHash } from 'node:crypto';
import { computeFiles } from '../helpers';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { nextSecond, quietPipeline, tables, withStack } from '../stack';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

function ordersFile(n: number): string {
  const rows = ['order_id,user_id,status,created_at'];
  for (let i = 0; i < n; i++) rows.push(`o${i},u${i % 97},Complete,2025-03-0${1 + (i % 9)}T10:00:00Z`);
  return rows.join('\n') + '\n';
}
const BAD = 'order_id,user_id,status\no1,u1,Complete\no2,u2,Complete\n'; // no created_at: rejected whole
const PRODUCTS = 'id,category\np1,Jeans\n';
const items = (n: number) =>
  ['id,order_id,product_id,sale_price', ...Array.from({ length: n }, (_, i) => `i${i},o${i},p1,1.50`)].join('\n') +
  '\n';

test('an overwrite landing after validate read the object and before it archived it: the validated bytes are archived, the newer file gets its own verdict', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    const key = 'ecommerce-data/orders/big.csv';
    const good = ordersFile(60_000);
    await pipeline.bucket.put('ecommerce-data/products/p.csv', PRODUCTS);
    await pipeline.bucket.put('ecommerce-data/order_items/i.csv', items(500));
    await pipeline.bucket.put(key, good);
    // The race, made deterministic: the bad file replaces the key right after validate has read it.
    const download = pipeline.bucket.download.bind(pipeline.bucket);
    let raced = false;
    pipeline.bucket.download = async (k, file, v) => {
      const got = await download(k, file, v);
      if (k === key && !raced) {
        raced = true;
        await pipeline.bucket.put(key, BAD);
      }
      return got;
    };
    const first = await pipeline.process();
    t.true(raced);
    t.is(first.validated.find((v) => v.key === key)?.status, 'archived');
    const archived = (await pipeline.bucket.list('archive/orders/')).map((o) => o.key);
    t.is(archived.length, 1);
    t.is((await pipeline.bucket.head(archived[0]))?.metadata?.sha256, sha(good));
    // The newer upload is still in the landing zone (its own event), and is rejected whole there.
    t.deepEqual(
      (await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key),
      [key],
    );
    const second = await pipeline.process();
    t.is(second.validated[0].status, 'rejected');
    t.is((await pipeline.bucket.list('err/files/orders/')).filter((o) => !o.key.endsWith('.note.txt')).length, 1);
    const want = await computeFiles({
      'products/p.csv': PRODUCTS,
      'orders/o.csv': good,
      'order_items/i.csv': items(500),
    });
    t.deepEqual((await tables(s)).order_kpis, want.order_kpis);
  });
});

test('an overwrite while the older upload is being read, a second later: the read finishes with the older bytes, both uploads end in archive/', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    const key = 'ecommerce-data/orders/race.csv';
    const older = ordersFile(400_000); // ~18 MB
    const newer = ordersFile(10);
    await pipeline.bucket.put(key, older);
    const r = await s.clients.s3.send(new GetObjectCommand({ Bucket: s.bucket, Key: key }));
    const body = r.Body as AsyncIterable<Uint8Array>;
    const chunks: Uint8Array[] = [];
    let overwritten = false;
    for await (const c of body) {
      chunks.push(c);
      if (!overwritten) {
        overwritten = true;
        await nextSecond(); // a different second: not the documented same-second limit
        await pipeline.bucket.put(key, newer);
      }
    }
    t.is(sha(Buffer.concat(chunks)), sha(older)); // s3rver truncated the file in place: the read aborted
    await pipeline.bucket.put('ecommerce-data/orders/race.csv', newer);
    const v = await pipeline.validate([key]);
    t.is(v[0].status, 'archived');
    t.is((await pipeline.bucket.head(v[0].archiveKey!))?.metadata?.sha256, sha(newer));
  });
});
