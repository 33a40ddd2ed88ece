// kpi local / upload / query / run as a user runs them: separate processes, environment only.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computeDir } from '../../runtime/core/compute';
import { planUpload, upload } from '../../runtime/cli/upload';
import { Bucket } from '../../runtime/aws/s3store';
import { ROOT } from '../helpers';
import { sleep, stack, tables } from '../stack';

const KPI = path.join(ROOT, 'bin', 'kpi.js');
const DATA = path.join(ROOT, 'data');

function kpi(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [KPI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60000,
  });
}

/** Async, for servers running in this process (spawnSync would block them). */
function kpiAsync(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [KPI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test.serial('kpi local prints exports; kpi upload and kpi query reach it; Ctrl-C stops it', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-local-'));
  const child = spawn(process.execPath, [KPI, 'local', '--dir', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const exitCode = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    for (let i = 0; i < 100 && !out.includes('KPI_STATE_TABLE'); i++) await sleep(100);
    const env: Record<string, string> = {};
    for (const m of out.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]] = m[2];
    t.deepEqual(Object.keys(env).sort(), [
      'AWS_ACCESS_KEY_ID',
      'AWS_DEFAULT_REGION',
      'AWS_ENDPOINT_URL',
      'AWS_REGION',
      'AWS_SECRET_ACCESS_KEY',
      'KPI_BUCKET',
      'KPI_CATEGORY_TABLE',
      'KPI_ORDER_TABLE',
      'KPI_STATE_TABLE',
    ]);
    const up = kpi(['upload', DATA], env);
    t.is(up.status, 0, up.stderr);
    t.regex(up.stdout, /uploaded 12 files/);
    const want = await computeDir(DATA);
    const day = want.order_kpis[40];
    let got: unknown = null;
    for (let i = 0; i < 100; i++) {
      const q = kpi(['query', 'date', day.order_date, '--json'], env);
      got = JSON.parse(q.stdout || 'null');
      if (got && JSON.stringify(got) === JSON.stringify(day)) break;
      await sleep(200);
    }
    t.deepEqual(got, day);
    const cat = want.category_kpis[0].category;
    const q = kpi(['query', 'category', cat, '--json'], env);
    t.deepEqual(
      JSON.parse(q.stdout),
      want.category_kpis.filter((c) => c.category === cat),
    );
    const table = kpi(['query', 'date', day.order_date], env);
    t.regex(table.stdout, new RegExp(`${day.order_date}\\s+${day.total_orders}\\s+${day.total_revenue.toFixed(2)}`));
    t.is(kpi(['query', 'date', '1999-01-01'], env).status, 4);
    t.is(kpi(['query', 'date', 'yesterday'], env).status, 2);
  } finally {
    child.kill('SIGINT');
  }
  t.is(await exitCode, 0);
});

test.serial(
  'kpi run: one object from the environment, JSON logs and EMF on stdout; a deadline exits 3 and a rerun finishes',
  async (t) => {
    const s = await stack();
    try {
      const bucket = new Bucket(s.clients.s3, s.bucket);
      await upload(bucket, planUpload(DATA));
      const keys = (await bucket.list('ecommerce-data/')).map((o) => o.key);
      const late = await kpiAsync(['run'], { ...s.env, KPI_DEADLINE_SECONDS: '0' });
      t.is(late.status, 3);
      t.regex(late.stdout, /"event":"deadline_reached"/);
      t.regex(late.stderr, /ALERT: KPI pipeline deadline reached/);
      const one = await kpiAsync(['run'], { ...s.env, KPI_S3_KEY: keys[0] });
      t.is(one.status, 0, one.stderr);
      const lines = one.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      t.truthy(lines.find((l) => l.event === 'file_validated' && l.key === keys[0]));
      t.truthy(lines.find((l) => l.event === 'transform_done'));
      const emf = lines.find((l) => l._aws && l.FilesProcessed === 1);
      t.is(emf._aws.CloudWatchMetrics[0].Namespace, 'EcommerceKpi');

      const rest = await kpiAsync(['run'], s.env); // no key: the whole landing zone
      t.is(rest.status, 0, rest.stderr);
      // the KPI trend metrics for the dashboard, once there are KPIs
      const trend = rest.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .find((l) => l._aws && 'RevenueLatestDay' in l);
      t.true(trend.RevenueAllTime > 0 && trend.OrdersLatestDay > 0);
      const got = await tables(s);
      const want = await computeDir(DATA);
      t.deepEqual(got.order_kpis, want.order_kpis);
      t.deepEqual(got.category_kpis, want.category_kpis);
      const bad = await kpiAsync(['run'], { ...s.env, KPI_STAGE: 'sideways' });
      t.is(bad.status, 2);
      const noBucket = await kpiAsync(['run'], { ...s.env, KPI_BUCKET: '' });
      t.is(noBucket.status, 1);
      t.regex(noBucket.stderr, /KPI_BUCKET is not set/);
    } finally {
      await s.close();
    }
  },
);
