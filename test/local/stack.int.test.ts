// The embedded servers run beside the pipeline, not on its event loop: a request is answered while
// the pipeline's thread is busy, objects put are still announced, and closing leaves nothing running.
import test from 'ava';
import { spawn } from 'node:child_process';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { withStack } from '../stack';

test('the servers answer while the pipeline thread computes for 1.5 s', async (t) => {
  await withStack(async (s) => {
    // A separate process says when it sends its request; this thread then spins.
    const script = `console.log('go'); const t0 = Date.now(); fetch(process.argv[1]).then(async (r) => { await r.text(); console.log(r.status, Date.now() - t0); });`;
    const child = spawn(process.execPath, ['-e', script, `${s.endpoint}/${s.bucket}?list-type=2`]);
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.startsWith('go')) resolve();
      }),
    );
    const until = Date.now() + 1500;
    while (Date.now() < until); // busy: no event loop turn on this thread
    await new Promise((resolve) => child.on('close', resolve));
    const [status, ms] = out.split('\n')[1]!.trim().split(' ').map(Number);
    t.is(status, 200);
    t.true(ms! < 1200, `answered after ${ms} ms`);
  });
});

test('an object put is announced to onObjectCreated with its key', async (t) => {
  await withStack(async (s) => {
    const seen: string[] = [];
    s.onObjectCreated((k) => seen.push(k));
    await s.clients.s3.send(
      new PutObjectCommand({ Bucket: s.bucket, Key: 'ecommerce-data/orders/a b.csv', Body: 'x' }),
    );
    for (let i = 0; i < 50 && !seen.length; i++) await new Promise((r) => setTimeout(r, 20));
    t.deepEqual(seen, ['ecommerce-data/orders/a b.csv']);
  });
});
