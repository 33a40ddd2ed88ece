// kpi verify: recompute everything from archive/ (the full path) and compare with the KPI tables
// and the curated zone. Any difference is reported with its keys; kpi rebuild repairs them.
import { computeSources } from '../core/compute';
import type { JoinedRow } from '../core/join/join';
import type { KpiTables } from '../core/aggregate/kpis';
import { CURATED_PREFIX } from '../core/names';
import { decodeLakeFile } from '../core/formats/parquet';
import { civilFromDays } from '../core/parse/timestamp';
import type { KpiStore } from '../aws/kpistore';
import type { Bucket } from '../aws/s3store';
import { canonical, parseLakeKey } from '../state/lake';
import { archiveSources, listArchive, PENDING_PREFIX } from '../state/pending';
import type { StateStore } from '../state/statestore';
import { findGarbage } from '../state/garbage';
import type { StateBody } from '../state/incremental';

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
}

/**
 * Holds the state lease while it compares (no transform commits in between), and leaves out the
 * files still pending: what the tables and the lake must equal is the applied files' recompute.
 */
export async function verify(bucket: Bucket, store: KpiStore, state: StateStore): Promise<VerifyResult> {
  const m = await state.acquire<StateBody>();
  try {
    const garbage = m.body ? (await findGarbage(bucket, m.body, Date.now(), 2 * state.leaseMs)).length : 0;
    return { ...(await verifyHeld(bucket, store)), garbage };
  } finally {
    await state.release();
  }
}

async function verifyHeld(bucket: Bucket, store: KpiStore): Promise<Omit<VerifyResult, 'garbage'>> {
  const pending = new Set((await bucket.list(PENDING_PREFIX)).map((o) => o.key.slice(PENDING_PREFIX.length)));
  const versions = (await listArchive(bucket)).filter((v) => !pending.has(v.key));
  const res = await computeSources(archiveSources(bucket, versions), { unknownMode: 'hold' });
  const differences: Difference[] = [];
  compareTables(res, await store.readAll(), differences);
  const files = new Map<string, string[]>();
  for (const o of await bucket.list(CURATED_PREFIX)) {
    const p = parseLakeKey(o.key);
    if (!p) {
      differences.push({
        where: 'curated',
        key: o.key,
        problem: 'not a lake file (curated/ holds only order_date=D/part-<hash>.parquet)',
      });
      continue;
    }
    (files.get(p.date) ?? files.set(p.date, []).get(p.date)!).push(o.key);
  }
  // Day by day: one day's expected and stored rows in memory at a time.
  let lakeDays = 0;
  for (const { day, rows: dayRows } of res.tables.joinedDays()) {
    lakeDays++;
    const date = civilFromDays(day);
    const rows = canonical(dayRows);
    const keys = files.get(date) ?? [];
    files.delete(date);
    if (!keys.length) {
      differences.push({
        where: 'curated',
        key: `order_date=${date}`,
        problem: `no file (expected ${rows.length} joined items)`,
      });
      continue;
    }
    const got: JoinedRow[] = [];
    for (const k of keys) for (const r of await decodeLakeFile(await bucket.readBytes(k))) got.push(r);
    if (JSON.stringify(canonical(got)) !== JSON.stringify(rows)) {
      const want = new Map(rows.map((r) => [r.item_id, JSON.stringify(r)]));
      const have = new Map(canonical(got).map((r) => [r.item_id, JSON.stringify(r)]));
      const items = [...new Set([...want.keys(), ...have.keys()])].filter((id) => want.get(id) !== have.get(id));
      differences.push({
        where: 'curated',
        key: `order_date=${date}`,
        problem: `${got.length} rows in ${keys.length} file(s), expected ${rows.length}; items differing: ${items.slice(0, 10).join(', ')}${items.length > 10 ? ', ...' : ''}`,
      });
    }
  }
  for (const [date, keys] of files)
    differences.push({
      where: 'curated',
      key: `order_date=${date}`,
      problem: `${keys.length} file(s) for a day with no joined items`,
    });
  return {
    ok: differences.length === 0,
    differences,
    checked: { categoryRows: res.category_kpis.length, orderRows: res.order_kpis.length, lakeDays },
  };
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
