// The commit protocol under real kills (issue 19): the transform runs in a child process that is
// SIGKILLed at each step — before its commit, right after it, during the clean-up (KPI rows half
// written), before it lets go of the lease — on the bulk path (first load) and the incremental
// path (a later file). Then another process's run must end with one consistent state: tables and
// lake equal kpi compute, verify ok, and no unreferenced object left once collected.
import test from 'ava';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { planUpload, upload } from '../../runtime/cli/upload';
import { verify } from '../../runtime/stages/verify';
import { ROOT, writeTree } from '../helpers';
import { downloadLake, kpisFromLake } from '../lake';
import { expectEqualToCompute, quietPipeline, sleep, withStack } from '../stack';
import type { LocalStack } from '../../runtime/local/stack';

// Small files, several days and categories, a held item: the protocol, not the volume, is under test.
const FILES = {
  'products/p.csv': 'id,category\np1,Jeans\np2,Tops\np3,Shoes\n',
  'orders/o.csv':
    'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\no2,u2,Returned,2025-03-02T11:00:00\no3,u1,Complete,2025-03-03T09:00:00\n',
  'order_items/i.csv':
    'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\ni2,o1,p2,5.50\ni3,o2,p3,20.00\ni4,o3,p1,3.25\ni5,o9,p1,1.00\n',
};
const LEASE_MS = 400;
const STEPS = ['beforeCommit', 'afterCommit', 'cleanup', 'beforeRelease'] as const;

/** Runs the child until it reports reaching `step`, then SIGKILLs it. */
function killAt(s: LocalStack, step: string, path_: 'bulk' | 'incremental'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--no-warnings',
        path.join(ROOT, 'dist', 'test', 'kill-child.js'),
        step,
        String(LEASE_MS),
        path_ === 'bulk' ? '0' : 'Infinity',
      ],
      {
        env: { PATH: process.env.PATH ?? '', ...s.env },
      },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(`AT ${step}`)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      signal === 'SIGKILL'
        ? resolve(out)
        : reject(new Error(`the child was not killed at ${step} (exit ${code}): ${out}`)),
    );
  });
}

async function finishAndCheck(t: import('ava').ExecutionContext, s: LocalStack, dir: string): Promise<void> {
  const { pipeline } = quietPipeline(s, {}, { state: { leaseMs: LEASE_MS } });
  await pipeline.transform(); // waits for the killed holder's lease to expire
  const want = await expectEqualToCompute(t, s, dir);
  const lake = await kpisFromLake(await downloadLake(pipeline.bucket));
  t.deepEqual(lake.order_kpis, want.order_kpis);
  t.true((await verify(pipeline.bucket, pipeline.store, pipeline.state)).ok);
  // Leftovers of the killed run are collected once older than two leases.
  await sleep(2 * LEASE_MS + 100);
  const later = quietPipeline(s, {}, { state: { leaseMs: LEASE_MS } }).pipeline;
  await later.transform(); // (its collection is due: the first transform's was before they aged)
  const v = await verify(later.bucket, later.store, later.state);
  t.true(v.ok);
  t.is(v.garbage, 0);
}

for (const step of STEPS) {
  test(`bulk path: SIGKILL ${step}; the next process ends consistent`, async (t) => {
    await withStack(async (s) => {
      const dir = writeTree(FILES);
      await upload(quietPipeline(s).pipeline.bucket, planUpload(dir));
      await killAt(s, step, 'bulk');
      await finishAndCheck(t, s, dir);
    });
  });

  test(`incremental path: SIGKILL ${step}; the next process ends consistent`, async (t) => {
    // a new item on an existing day, a moved order, and the held item's order arriving
    const later = {
      'order_items/zz_later.csv': 'id,order_id,product_id,sale_price\nk1,o1,p3,7.25\n',
      'orders/zz_later.csv':
        'order_id,user_id,status,created_at\no2,u2,Complete,2025-03-04T10:00:00\no9,u3,Complete,2025-03-01T12:00:00\n',
    };
    await withStack(async (s) => {
      const { pipeline } = quietPipeline(s);
      await upload(pipeline.bucket, planUpload(writeTree(FILES)));
      await pipeline.process();
      await upload(pipeline.bucket, planUpload(writeTree(later)));
      const out = await killAt(s, step, 'incremental');
      t.notRegex(out, /FAILED/);
      await finishAndCheck(t, s, writeTree({ ...FILES, ...later }));
    });
  });
}
