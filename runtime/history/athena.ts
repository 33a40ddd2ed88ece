// History work past one task: the same SQL (sql.ts) run by Athena over the validated zone's Glue
// tables (infra/lake.ts), so `kpi verify` does not need the history to fit on one machine. Athena
// reads every object under a table's location; the zone objects the committed state does not
// apply (files still pending, objects of quarantined files) are left out by their "$path".
import type { KpiTables } from '../core/aggregate/kpis';
import { VALIDATED_COLUMNS } from '../core/formats/validated';
import { ENTITIES, type Entity } from '../core/names';
import { CATEGORY_COUNTS, DAY_COUNTS, JOINED_STEPS, kpisFromCounts } from './sql';
import type { AthenaApi, AthenaTarget } from '../aws/athena';

export type { AthenaApi, AthenaTarget };

/** The Glue tables over validated/<entity>/ (infra/lake.ts creates them with these names). */
export const ZONE_TABLES: Record<Entity, string> = {
  orders: 'validated_orders',
  products: 'validated_products',
  order_items: 'validated_order_items',
};
const INPUT: Record<Entity, string> = { orders: 'v_orders', products: 'v_products', order_items: 'v_items' };
/** The lake's Glue table (infra/lake.ts). */
export const LAKE_TABLE = 'joined_items';
/** A query string is limited to 256 KB (Athena quotas): left-out paths beyond this are refused. */
export const MAX_LEFT_OUT = 1000;

export class AthenaQueryFailed extends Error {}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * The KPI counts as two Athena queries: the zone tables as the SQL's inputs (version_rank as the
 * version: it sorts as SPEC's version order), the joined steps as one WITH, then each aggregation.
 */
export function kpiQueries(database: string, leftOut: readonly string[]): { categories: string; days: string } {
  if (leftOut.length > MAX_LEFT_OUT)
    throw new Error(
      `${leftOut.length} validated objects are not applied (pending or quarantined): over ${MAX_LEFT_OUT}, too many to leave out of one Athena query; run kpi verify once the transform has applied them`,
    );
  const where = leftOut.length ? ` WHERE "$path" NOT IN (${leftOut.map(q).join(', ')})` : '';
  const inputs = ENTITIES.map((e) => {
    const cols = VALIDATED_COLUMNS[e].filter(([c]) => c !== 'version_rank').map(([c]) => c);
    return `${INPUT[e]} AS (SELECT ${cols.join(', ')}, version_rank AS version FROM ${ident(database)}.${ident(ZONE_TABLES[e])}${where})`;
  });
  const steps = JOINED_STEPS.map(([name, select]) => `${name} AS (${select})`);
  const withAll = `WITH ${[...inputs, ...steps].join(',\n')}\n`;
  return { categories: withAll + CATEGORY_COUNTS, days: withAll + DAY_COUNTS };
}

/** Joined items per day in the lake's table (for the lake check: days and counts). */
export const lakeCountsQuery = (database: string) =>
  `SELECT order_date, count(*) AS n FROM ${ident(database)}.${ident(LAKE_TABLE)} GROUP BY order_date`;

/** Runs one query to completion and returns its rows as objects keyed by the header. */
export async function runQuery(
  api: AthenaApi,
  target: AthenaTarget,
  sql: string,
  opts: { pollMs?: number; timeoutMs?: number } = {},
): Promise<Record<string, string | undefined>[]> {
  const id = await api.start(sql, target);
  const giveUp = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  let delay = opts.pollMs ?? 250;
  for (;;) {
    const s = await api.status(id);
    if (s.state === 'SUCCEEDED') break;
    if (s.state === 'FAILED' || s.state === 'CANCELLED')
      throw new AthenaQueryFailed(`Athena query ${id} ${s.state.toLowerCase()}: ${s.reason ?? 'no reason given'}`);
    if (Date.now() > giveUp) throw new AthenaQueryFailed(`Athena query ${id} still ${s.state} after the timeout`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
  const out: Record<string, string | undefined>[] = [];
  let header: string[] | null = null;
  let token: string | undefined;
  do {
    const p = await api.page(id, token);
    for (const row of p.rows) {
      if (!header) {
        header = row.map(String); // the first row of the first page names the columns
        continue;
      }
      out.push(Object.fromEntries(header.map((h, i) => [h, row[i]])));
    }
    token = p.next;
  } while (token);
  return out;
}

/** Both KPI tables from Athena, by the contract's formulas on the SQL's counts (as HistoryEngine.kpis). */
export async function athenaKpis(
  api: AthenaApi,
  target: AthenaTarget,
  leftOut: readonly string[],
  opts?: { pollMs?: number },
): Promise<KpiTables> {
  const sql = kpiQueries(target.database, leftOut);
  const [cats, days] = await Promise.all([
    runQuery(api, target, sql.categories, opts),
    runQuery(api, target, sql.days, opts),
  ]);
  const n = (v: unknown) => {
    const x = Number(v);
    if (typeof v !== 'string' || !Number.isSafeInteger(x))
      throw new AthenaQueryFailed(`Athena returned '${String(v)}' for a count`);
    return x;
  };
  return kpisFromCounts(cats, days, (r) => (r.category as string | undefined) ?? '', n);
}
