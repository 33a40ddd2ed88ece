// The curated zone read back independently: copied to a folder as `aws s3 sync` would, then
// grouped by DuckDB SQL with SPEC's formulas (BigInt half-up, not runtime/core/money.ts).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Bucket } from '../runtime/aws/s3store';
import type { KpiTables } from '../runtime/core/aggregate/kpis';

/** curated/ copied to a local folder with the same layout (as `aws s3 sync s3://bucket/curated ./lake` does). */
export async function downloadLake(bucket: Bucket): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-lake-'));
  for (const o of await bucket.list('curated/')) {
    const file = path.join(dir, o.key);
    mkdirSync(path.dirname(file), { recursive: true });
    const chunks: Uint8Array[] = [];
    for await (const c of bucket.read(o.key)) chunks.push(c);
    writeFileSync(file, Buffer.concat(chunks));
  }
  return dir;
}

/** Half-up division of non-negative integers, in BigInt (independent of runtime/core/money.ts). */
function halfUp(num: bigint, den: bigint): bigint {
  return (2n * num + den) / (2n * den);
}

/** The two KPI tables from the lake, by DuckDB SQL over the Parquet files, formulas of SPEC.md. */
export async function kpisFromLake(dir: string): Promise<KpiTables> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    const src = `read_parquet('${dir}/curated/joined_items/*/*.parquet', hive_partitioning = true)`;
    const cats = await con.runAndReadAll(
      `SELECT category, CAST(order_date AS VARCHAR) AS d, SUM(sale_price_cents)::BIGINT AS c, COUNT(*)::BIGINT AS items, COUNT(DISTINCT order_id)::BIGINT AS orders,
              SUM(CASE WHEN returned THEN 1 ELSE 0 END)::BIGINT AS ret FROM ${src} GROUP BY ALL ORDER BY category, d`,
    );
    const days = await con.runAndReadAll(
      `SELECT CAST(order_date AS VARCHAR) AS d, SUM(sale_price_cents)::BIGINT AS c, COUNT(*)::BIGINT AS items, COUNT(DISTINCT order_id)::BIGINT AS orders,
              COUNT(DISTINCT user_id)::BIGINT AS users, COUNT(DISTINCT CASE WHEN order_returned THEN order_id END)::BIGINT AS ret FROM ${src} GROUP BY ALL ORDER BY d`,
    );
    const n = (x: unknown) => BigInt(x as bigint);
    return {
      category_kpis: cats.getRowObjectsJS().map((r) => ({
        category: String(r.category),
        order_date: String(r.d),
        daily_revenue: Number(n(r.c)) / 100,
        avg_order_value: Number(halfUp(n(r.c), n(r.items))) / 100,
        return_rate: Number(halfUp(n(r.ret) * 10000n, n(r.items))) / 10000,
        revenue_per_order: Number(halfUp(n(r.c), n(r.orders))) / 100,
        items: Number(r.items),
        orders: Number(r.orders),
        returned_items: Number(r.ret),
      })),
      order_kpis: days.getRowObjectsJS().map((r) => ({
        order_date: String(r.d),
        total_orders: Number(r.orders),
        total_revenue: Number(n(r.c)) / 100,
        total_items_sold: Number(r.items),
        unique_customers: Number(r.users),
        revenue_per_order: Number(halfUp(n(r.c), n(r.orders))) / 100,
        return_rate: Number(halfUp(n(r.ret) * 10000n, n(r.orders))) / 10000,
        returned_orders: Number(r.ret),
      })),
    };
  } finally {
    con.closeSync();
    db.closeSync();
  }
}
