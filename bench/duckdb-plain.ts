// The query a user would write instead of this project: DuckDB with a typed read_csv per entity,
// rows missing a required field or shipped before created dropped, the joins and both GROUP BYs.
// It does not apply upserts, per-file duplicate rules or holds, so its KPIs are close to, not
// equal to, the contract's: it is the speed peer, bench/duckdb.ts is the exactness oracle.
import { DuckDBInstance } from '@duckdb/node-api';
import path from 'node:path';

export async function duckPlain(dir: string, threads?: number): Promise<{ categoryRows: number; orderRows: number }> {
  const db = await DuckDBInstance.create(':memory:', threads ? { threads: String(threads) } : {});
  const con = await db.connect();
  const csv = (entity: string, types: string) =>
    `read_csv('${path.join(dir, entity)}/*.csv', header = true, ignore_errors = true, union_by_name = true, types = {${types}})`;
  try {
    await con.run(`SET TimeZone = 'UTC'`);
    await con.run(`CREATE TEMP TABLE o AS SELECT order_id, user_id, status, created_at, shipped_at FROM ${csv('orders', `'order_id': 'BIGINT', 'user_id': 'BIGINT', 'created_at': 'TIMESTAMP', 'shipped_at': 'TIMESTAMP'`)}
      WHERE order_id IS NOT NULL AND user_id IS NOT NULL AND created_at IS NOT NULL AND status IS NOT NULL AND (shipped_at IS NULL OR shipped_at >= created_at)`);
    await con.run(
      `CREATE TEMP TABLE p AS SELECT id, category FROM ${csv('products', `'id': 'BIGINT'`)} WHERE id IS NOT NULL AND category IS NOT NULL`,
    );
    await con.run(`CREATE TEMP TABLE i AS SELECT id, order_id, product_id, status, sale_price FROM ${csv('order_items', `'id': 'BIGINT', 'order_id': 'BIGINT', 'product_id': 'BIGINT', 'sale_price': 'DECIMAL(18,2)'`)}
      WHERE id IS NOT NULL AND order_id IS NOT NULL AND product_id IS NOT NULL AND sale_price IS NOT NULL AND sale_price >= 0`);
    await con.run(`CREATE TEMP TABLE j AS SELECT p.category, CAST(o.created_at AS DATE) AS order_date, i.order_id, o.user_id, i.sale_price,
        lower(coalesce(nullif(i.status, ''), o.status)) = 'returned' AS returned, lower(o.status) = 'returned' AS order_returned
      FROM i JOIN o ON i.order_id = o.order_id JOIN p ON i.product_id = p.id`);
    const cat =
      await con.runAndReadAll(`SELECT category, order_date, SUM(sale_price) AS daily_revenue, ROUND(AVG(sale_price), 2) AS avg_order_value,
        ROUND(AVG(returned::INT), 4) AS return_rate, ROUND(SUM(sale_price) / COUNT(DISTINCT order_id), 2) AS revenue_per_order, COUNT(*) AS items,
        COUNT(DISTINCT order_id) AS orders, SUM(returned::INT) AS returned_items FROM j GROUP BY ALL`);
    const day =
      await con.runAndReadAll(`SELECT order_date, COUNT(DISTINCT order_id) AS total_orders, SUM(sale_price) AS total_revenue, COUNT(*) AS total_items_sold,
        COUNT(DISTINCT user_id) AS unique_customers, ROUND(SUM(sale_price) / COUNT(DISTINCT order_id), 2) AS revenue_per_order,
        ROUND(COUNT(DISTINCT CASE WHEN order_returned THEN order_id END) / COUNT(DISTINCT order_id), 4) AS return_rate FROM j GROUP BY ALL`);
    return { categoryRows: cat.currentRowCount, orderRows: day.currentRowCount };
  } finally {
    con.closeSync();
    db.closeSync();
  }
}
