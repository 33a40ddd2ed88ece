// Helpers for tests against the real embedded servers (no mocked S3 or DynamoDB).
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configForStack, startLocal, type LocalStack } from '../runtime/local/stack';
import { Pipeline, type PipelineOptions } from '../runtime/stages/pipeline';
import { Dispatcher } from '../runtime/local/dispatcher';
import { Observer } from '../runtime/aws/observe';
import type { Config } from '../runtime/aws/config';
import { KpiStore } from '../runtime/aws/kpistore';
import type { UploadItem } from '../runtime/cli/upload';
import { makeClients } from '../runtime/aws/clients';
import { computeDir } from '../runtime/core/compute';
import type { ExecutionContext } from 'ava';

export async function stack(): Promise<LocalStack> {
  return startLocal({ dir: mkdtempSync(path.join(os.tmpdir(), 'kpi-stack-')), port: 0 });
}

/** A fresh embedded stack for one test, closed whatever the test does. */
export async function withStack<T>(fn: (s: LocalStack) => Promise<T>): Promise<T> {
  const s = await stack();
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** The tables equal `kpi compute` of a folder (both KPI tables); returns the computed KPIs. */
export async function expectEqualToCompute(t: ExecutionContext, s: LocalStack, dir: string) {
  const want = await computeDir(dir);
  const got = await tables(s);
  t.deepEqual(got.category_kpis, want.category_kpis);
  t.deepEqual(got.order_kpis, want.order_kpis);
  return want;
}

export function quietPipeline(
  s: LocalStack,
  extra: Partial<Config> = {},
  opts: PipelineOptions = {},
  endpoint?: string,
) {
  const logs: Record<string, unknown>[] = [];
  const alerts: string[] = [];
  const cfg = configForStack(s, { ...(endpoint ? { endpoint } : {}), ...extra });
  const obs = new Observer(
    cfg,
    (l) => logs.push(JSON.parse(l)),
    (l) => alerts.push(l),
  );
  const clients = endpoint ? makeClients(cfg, { s3: endpoint, dynamodb: endpoint, local: true }) : s.clients;
  const pipeline = new Pipeline(cfg, { clients, obs, ...opts });
  return { pipeline, logs, alerts };
}

export function dispatcherFor(s: LocalStack, p: Pipeline): Dispatcher {
  const d = new Dispatcher(p, 50);
  s.onObjectCreated((k) => d.enqueue(k));
  return d;
}

export async function tables(s: LocalStack) {
  return new KpiStore(s.clients.ddb, s.categoryTable, s.orderTable).readAll();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until cond() holds (throws after timeoutMs): waiting for a condition, not a fixed time. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10000,
  intervalMs = 25,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/**
 * Waits until the wall clock is in a later second than `from`, plus a margin: S3's LastModified has
 * one-second resolution.
 */
export async function nextSecond(from = Date.now()): Promise<void> {
  const target = Math.floor(from / 1000) * 1000 + 1000 + 20;
  await waitFor(() => Date.now() >= target, 2000, 5);
}

/** Polls read() until two consecutive results are equal (writes still in flight have landed). */
export async function settled<T>(read: () => Promise<T>, intervalMs = 100): Promise<T> {
  let last = JSON.stringify(await read());
  for (;;) {
    await sleep(intervalMs);
    const v = await read();
    const now = JSON.stringify(v);
    if (now === last) return v;
    last = now;
  }
}

/**
 * The folder `kpi compute` must agree with: each entity's files renamed so that file name order is
 * the upload order (SPEC: later upload wins; in kpi compute, later file name wins).
 */
export function inUploadOrder(uploads: UploadItem[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-expected-'));
  uploads.forEach((u, i) => {
    const entity = u.key.split('/')[1];
    mkdirSync(path.join(dir, entity), { recursive: true });
    cpSync(u.file, path.join(dir, entity, `${String(i).padStart(4, '0')}_${path.basename(u.file)}`));
  });
  return dir;
}

export const read = (f: string) => readFileSync(f);
