// kpi verify: the history engine (runtime/history: DuckDB over the validated zone, spilling past its
// memory limit) computes what the applied files give, and this compares it with the KPI tables and
// the curated zone. Any difference is reported with its keys; kpi rebuild repairs them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KpiTables } from '../core/aggregate/kpis';
import { CURATED_PREFIX, VALIDATED_PREFIX } from '../core/names';
import { civilFromDays, daysFromCivil } from '../core/parse/timestamp';
import { inPool } from '../core/pool';
import { laps } from '../core/laps';
import type { KpiStore } from '../aws/kpistore';
import type { Bucket } from '../aws/s3store';
import { parseLakeKey } from '../state/lake';
import { listArchive, PENDING_PREFIX } from '../state/pending';
import { versionOrder } from '../core/layout';
import type { StateStore } from '../state/statestore';
import { findGarbage } from '../state/garbage';
import type { StateBody } from '../state/incremental';
import { defaultEngineOptions, HistoryEngine, type EngineOptions, type LakeDay } from '../history/duckdb';
import { fetchZone } from '../history/zone';
import { athenaKpis, lakeCountsQuery, runQuery, type AthenaApi, type AthenaTarget } from '../history/athena';
import { validatedKey, ValidatedObjectError } from '../core/formats/validated';

export interface Difference {
  where: 'category_kpi_table' | 'order_kpi_table' | 'curated';
  key: string;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  differences: Difference[];
  checked: { categoryRows: number; orderRows: number; lakeDays: number };
  /** unreferenced objects (garbage.ts) the next transform's collection will delete: not a difference */
  garbage: number;
  /** milliseconds per step (the verify log line's `ms`) */
  ms: Record<string, number>;
}

/** kpi verify on Athena (KPI_HISTORY_ENGINE=athena): the stack's workgroup and Glue database. */
export interface AthenaVerify {
  api: AthenaApi;
  target: AthenaTarget;
  /** the bucket's name, for the zone objects' s3:// paths */
  bucketName: string;
  pollMs?: number;
}

/**
 * Holds the state lease while it compares (no transform commits in between), and leaves out the
 * files still pending: what the tables and the lake must equal is what the applied files give.
 * With `athena`, the history's KPIs come from Athena instead of DuckDB in this process.
 */
export async function verify(
  bucket: Bucket,
  store: KpiStore,
  state: StateStore,
  engine: EngineOptions = defaultEngineOptions(),
  athena?: AthenaVerify,
): Promise<VerifyResult> {
  const m = await state.acquire<StateBody>();
  const dir = mkdtempSync(path.join(engine.tempDir ?? os.tmpdir(), 'kpi-verify-'));
  try {
    const { times, lap } = laps();
    const garbage = m.body ? (await findGarbage(bucket, m.body, Date.now(), 2 * state.leaseMs)).length : 0;
    lap('garbage');
    const r = athena
      ? await verifyOnAthena(bucket, store, athena, lap)
      : await verifyHeld(bucket, store, dir, engine, lap);
    return { ...r, garbage, ms: times };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await state.release();
  }
}

async function verifyHeld(
  bucket: Bucket,
  store: KpiStore,
  dir: string,
  opts: EngineOptions,
  lap: (step: string) => void,
): Promise<Omit<VerifyResult, 'garbage' | 'ms'>> {
  const pending = new Set((await bucket.list(PENDING_PREFIX)).map((o) => o.key.slice(PENDING_PREFIX.length)));
  // in version order: the engine numbers each entity's files in this order
  const versions = (await listArchive(bucket)).filter((v) => !pending.has(v.key)).sort(versionOrder);
  const differences: Difference[] = [];
  const lakeDiffs: Difference[] = [];
  // both downloads at once, and the tables' scan beside them: all three only wait on I/O
  const [{ files: zone }, lake, stored] = await Promise.all([
    fetchZone(bucket, versions, dir),
    fetchLake(bucket, dir, lakeDiffs),
    store.readAll(),
  ]);
  lap('download');
  const engine = await HistoryEngine.open(zone, { ...opts, tempDir: opts.tempDir ?? dir });
  try {
    const want = await engine.kpis();
    lap('kpis');
    compareTables(want, stored, differences);
    differences.push(...lakeDiffs);
    const expected = await engine.itemsPerDay();
    for (const [day, n] of expected)
      if (!lake.some((d) => d.day === day))
        differences.push({
          where: 'curated',
          key: `order_date=${civilFromDays(day)}`,
          problem: `no file (expected ${n} joined items)`,
        });
    for (const d of lake)
      if (!expected.has(d.day))
        differences.push({
          where: 'curated',
          key: `order_date=${civilFromDays(d.day)}`,
          problem: `${d.files.length} file(s) for a day with no joined items`,
        });
    const filesOf = new Map(lake.map((d) => [d.day, d.files.length]));
    for (const d of await engine.lakeDifferences(lake)) {
      if (!filesOf.has(d.day) || !expected.has(d.day)) continue; // reported above
      differences.push({
        where: 'curated',
        key: `order_date=${civilFromDays(d.day)}`,
        problem: `${d.stored} rows in ${filesOf.get(d.day)} file(s), expected ${d.expected}; items differing: ${d.items.join(', ')}${d.items.length >= 10 ? ', ...' : ''}`,
      });
    }
    lap('lake');
    return {
      ok: differences.length === 0,
      differences,
      checked: { categoryRows: want.category_kpis.length, orderRows: want.order_kpis.length, lakeDays: expected.size },
    };
  } finally {
    engine.close();
  }
}

/**
 * The same comparison with the history's KPIs computed by Athena over the zone's Glue tables. The
 * lake is checked by day (files present, joined items per day, from the lake's Glue table); its
 * row-by-row comparison needs the history in one engine (the DuckDB verify).
 */
async function verifyOnAthena(
  bucket: Bucket,
  store: KpiStore,
  a: AthenaVerify,
  lap: (step: string) => void,
): Promise<Omit<VerifyResult, 'garbage' | 'ms'>> {
  const pending = new Set((await bucket.list(PENDING_PREFIX)).map((o) => o.key.slice(PENDING_PREFIX.length)));
  const applied = new Set(
    (await listArchive(bucket)).filter((v) => !pending.has(v.key)).map((v) => validatedKey(v.key)),
  );
  const zone = new Set((await bucket.list(VALIDATED_PREFIX)).map((o) => o.key));
  for (const key of applied)
    if (!zone.has(key))
      throw new ValidatedObjectError(
        key,
        "missing (an applied file's validated object); kpi rebuild writes it again from archive/",
      );
  const leftOut = [...zone].filter((k) => !applied.has(k)).map((k) => `s3://${a.bucketName}/${k}`);
  lap('list');
  const want = await athenaKpis(a.api, a.target, leftOut, { pollMs: a.pollMs });
  lap('kpis');
  const differences: Difference[] = [];
  compareTables(want, await store.readAll(), differences);
  const stored = new Map(
    (await runQuery(a.api, a.target, lakeCountsQuery(a.target.database), { pollMs: a.pollMs })).map((r) => [
      r.order_date ?? '',
      Number(r.n),
    ]),
  );
  for (const o of want.order_kpis) {
    const n = stored.get(o.order_date);
    stored.delete(o.order_date);
    if (n === undefined)
      differences.push({
        where: 'curated',
        key: `order_date=${o.order_date}`,
        problem: `no file (expected ${o.total_items_sold} joined items)`,
      });
    else if (n !== o.total_items_sold)
      differences.push({
        where: 'curated',
        key: `order_date=${o.order_date}`,
        problem: `${n} rows, expected ${o.total_items_sold}`,
      });
  }
  lap('lake');
  for (const [day, n] of stored)
    differences.push({
      where: 'curated',
      key: `order_date=${day}`,
      problem: `${n} rows for a day with no joined items`,
    });
  return {
    ok: differences.length === 0,
    differences,
    checked: {
      categoryRows: want.category_kpis.length,
      orderRows: want.order_kpis.length,
      lakeDays: want.order_kpis.length,
    },
  };
}

/** The curated zone's files, downloaded; a key that is not a lake file is a difference. */
async function fetchLake(bucket: Bucket, dir: string, out: Difference[]): Promise<LakeDay[]> {
  const days = new Map<number, string[]>();
  const todo: { key: string; file: string }[] = [];
  for (const o of await bucket.list(CURATED_PREFIX)) {
    const p = parseLakeKey(o.key);
    if (!p) {
      out.push({
        where: 'curated',
        key: o.key,
        problem: 'not a lake file (curated/ holds only order_date=D/part-<hash>.parquet)',
      });
      continue;
    }
    const [y, m, d] = p.date.split('-').map(Number) as [number, number, number];
    const day = daysFromCivil(y, m, d);
    const file = path.join(dir, `lake-${todo.length}.parquet`);
    todo.push({ key: o.key, file });
    (days.get(day) ?? days.set(day, []).get(day)!).push(file);
  }
  await inPool(todo, 16, async (t) => {
    if (!(await bucket.download(t.key, t.file))) throw new Error(`${t.key} disappeared while kpi verify read it`);
  });
  return [...days].map(([day, files]) => ({ day, files }));
}

function compareTables(want: KpiTables, got: KpiTables, out: Difference[]): void {
  const diff = <T extends object>(where: Difference['where'], w: T[], g: T[], key: (r: T) => string) => {
    const have = new Map(g.map((r) => [key(r), r]));
    for (const r of w) {
      const k = key(r);
      const h = have.get(k);
      have.delete(k);
      if (!h) out.push({ where, key: k, problem: 'missing' });
      else if (!sameRow(r as Record<string, unknown>, h as Record<string, unknown>))
        out.push({
          where,
          key: k,
          problem: `differs: ${describe(r as Record<string, unknown>, h as Record<string, unknown>)}`,
        });
    }
    for (const k of have.keys()) out.push({ where, key: k, problem: 'not expected (no joined items)' });
  };
  diff('category_kpi_table', want.category_kpis, got.category_kpis, (r) => `${r.category} / ${r.order_date}`);
  diff('order_kpi_table', want.order_kpis, got.order_kpis, (r) => r.order_date);
}

function sameRow(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return Object.keys(a).every((k) => a[k] === b[k]) && Object.keys(b).every((k) => k in a);
}

function describe(want: Record<string, unknown>, got: Record<string, unknown>): string {
  return Object.keys(want)
    .filter((k) => want[k] !== got[k])
    .map((k) => `${k} ${String(got[k])} (expected ${String(want[k])})`)
    .join(', ');
}
