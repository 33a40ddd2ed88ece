// Regressions of the command line and the edges (issue 8, items 10 and 13; issue 9, items 3, 5, 6).
import test from 'ava';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { decodeEventKey, parseEvent } from '../../runtime/stages/events';
import { Pipeline } from '../../runtime/stages/pipeline';
import { configFromEnv } from '../../runtime/aws/config';
import { planUpload, upload } from '../../runtime/cli/upload';
import { ORDERS, PRODUCTS, ROOT, writeTree } from '../helpers';
import { dispatcherFor, expectEqualToCompute, quietPipeline, tables, withStack } from '../stack';

const KPI = path.join(ROOT, 'bin', 'kpi.js');
const DATA = path.join(ROOT, 'data');

function kpi(
  args: string[],
  env: Record<string, string> = {},
  killAfterMs = 20000,
): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const c = spawn(process.execPath, [KPI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), killAfterMs);
    c.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

test('kpi local start-up errors exit with one line: bad port 2, busy port 1, busy state folder 1 naming the PID', async (t) => {
  const bad = await kpi(['local', '--port', '99999', '--dir', mkdtempSync(path.join(os.tmpdir(), 'kpi-l-'))]);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--port must be an integer from 0 to 65535/);
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  try {
    const port = (blocker.address() as AddressInfo).port;
    const busy = await kpi(['local', '--port', String(port), '--dir', mkdtempSync(path.join(os.tmpdir(), 'kpi-l-'))]);
    t.is(busy.status, 1, busy.stderr); // not killed by the timeout: it exits by itself
    t.regex(busy.stderr, /port \d+ is in use/);
    t.is(busy.stderr.trim().split('\n').length, 1);
  } finally {
    blocker.close();
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-l-'));
  const first = spawn(process.execPath, [KPI, 'local', '--dir', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  first.stdout.on('data', (d) => (out += d));
  try {
    for (let i = 0; i < 100 && !out.includes('KPI_ORDER_TABLE'); i++) await new Promise((r) => setTimeout(r, 100));
    const second = await kpi(['local', '--dir', dir, '--port', '0']);
    t.is(second.status, 1);
    t.true(second.stderr.includes(`in use by another kpi local (PID ${first.pid})`), second.stderr);
    t.notRegex(second.stderr, /at .*dynalite|LevelDB/i);
  } finally {
    first.kill('SIGINT');
    await new Promise((r) => first.once('exit', r));
  }
});

test('a whole-zone kpi run racing the dispatcher over the same files: no file fails, tables exact', async (t) => {
  await withStack(async (s) => {
    const a = quietPipeline(s);
    const d = dispatcherFor(s, a.pipeline);
    await upload(a.pipeline.bucket, planUpload(DATA));
    const b = quietPipeline(s);
    const [run] = await Promise.all([b.pipeline.process(), d.idle()]);
    await d.idle();
    const failed = [...run.validated, ...d.batches.flatMap((x) => x.validated)].filter((v) => v.status === 'failed');
    t.deepEqual(failed, []);
    await a.pipeline.transform();
    await expectEqualToCompute(t, s, DATA);
  });
});

test('kpi upload takes the files kpi compute reads (*.csv) and names the ones it skips', async (t) => {
  const dir = writeTree({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'orders/o_extra.txt': ORDERS.replace('o1,', 'o9,'),
  });
  const skipped: string[] = [];
  t.deepEqual(
    planUpload(dir, skipped).map((u) => u.key),
    ['ecommerce-data/products/p.csv', 'ecommerce-data/orders/o.csv'],
  );
  t.deepEqual(skipped, ['orders/o_extra.txt']);
});

test('PutEvents entries EventBridge rejects are an error, not a silent success; the client comes from makeClients', async (t) => {
  let calls = 0;
  const eb = http.createServer((req, res) => {
    calls++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(
      JSON.stringify({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] }),
    );
  });
  await new Promise<void>((r) => eb.listen(0, '127.0.0.1', () => r()));
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = `http://127.0.0.1:${(eb.address() as AddressInfo).port}`;
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  try {
    const p = new Pipeline(configFromEnv({ bucket: 'b', eventBus: 'bus', region: 'us-east-1' }), {});
    const err = await t.throwsAsync(
      p.emitValidated([
        { key: 'k', status: 'archived', rows: 1, accepted: 1, rejected: 0, rejectedByReason: {}, ms: 1, uploadedAt: 5 },
      ]),
      {
        message: /did not accept the hand-off event/,
      },
    );
    t.regex(err!.message, /InternalFailure: try again/);
    t.is(calls, 1);
  } finally {
    delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
    eb.close();
  }
});

test('event keys are URL-decoded (space as +), with the raw key as the fallback; version ids and hand-off times are read', (t) => {
  t.is(decodeEventKey('ecommerce-data/orders/orders+part+1.csv'), 'ecommerce-data/orders/orders part 1.csv');
  t.is(decodeEventKey('ecommerce-data/orders/%C3%BC.csv'), 'ecommerce-data/orders/ü.csv');
  t.is(decodeEventKey('ecommerce-data/orders/100%.csv'), 'ecommerce-data/orders/100%.csv');
  t.deepEqual(parseEvent(JSON.stringify({ detail: { object: { key: 'k', 'version-id': 'v1' } } })), {
    key: 'k',
    versionId: 'v1',
    uploadedAt: undefined,
  });
  t.is(parseEvent(JSON.stringify({ detail: { uploaded_at: '4', files: 2 } })).uploadedAt, 4);
  t.is(parseEvent(JSON.stringify({ detail: { uploaded_at: '', files: 2 } })).uploadedAt, undefined);
});

test('kpi run: an encoded key is found; KPI_STAGE=validate sweeps without DynamoDB; the transform emits the upload latency', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    await pipeline.bucket.put('ecommerce-data/orders/orders part 1.csv', ORDERS);
    await pipeline.bucket.put('ecommerce-data/products/p.csv', PRODUCTS);
    await pipeline.bucket.put(
      'ecommerce-data/order_items/i.csv',
      'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\n',
    );
    const env = { ...s.env, AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' }; // no DynamoDB reachable
    const one = await kpi(['run'], {
      ...env,
      KPI_STAGE: 'validate',
      KPI_S3_KEY: 'ecommerce-data/orders/orders+part+1.csv',
    });
    t.is(one.status, 0, one.stderr);
    t.true(one.stdout.includes('"event":"file_validated"'));
    const sweep = await kpi(['run'], { ...env, KPI_STAGE: 'validate' });
    t.is(sweep.status, 0, sweep.stderr);
    t.deepEqual(await pipeline.bucket.list('ecommerce-data/'), []);
    t.is((await tables(s)).order_kpis.length, 0); // validate-only: no transform ran
    const uploaded = Date.now() - 5000;
    const tr = await kpi(['run'], { ...s.env, KPI_STAGE: 'transform', KPI_UPLOADED_AT: String(uploaded) });
    t.is(tr.status, 0, tr.stderr);
    const metric = tr.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => 'UploadToKpiLatencyMs' in l);
    t.true(metric && metric.UploadToKpiLatencyMs >= 5000, JSON.stringify(metric));
    t.is((await tables(s)).order_kpis.length, 1);
  });
});
