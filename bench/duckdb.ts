// The same SPEC.md semantics written independently in SQL for DuckDB: the benchmark peer and the
// test oracle for `kpi compute`. Reads the same files, applies the same rules, joins, aggregates.
import { openSync, readSync, closeSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { listLocalSources } from '../runtime/core/compute';
import type { KpiTables } from '../runtime/core/aggregate/kpis';
import { SCHEMAS } from '../runtime/core/parse/rules';
import path from 'node:path';

const MACROS = `
SET TimeZone = 'UTC';
CREATE OR REPLACE MACRO price_ok(p) AS regexp_full_match(p, '(\\d+(\\.\\d*)?|\\.\\d+)')
  AND TRY_CAST(coalesce(nullif(split_part(p, '.', 1), ''), '0') AS HUGEINT) * 100 <= 8796093022208;
CREATE OR REPLACE MACRO cents(p) AS CAST(coalesce(nullif(split_part(p, '.', 1), ''), '0') AS HUGEINT) * 100
  + CAST(rpad(substr(split_part(p, '.', 2), 1, 2), 2, '0') AS INT)
  + CASE WHEN substr(split_part(p, '.', 2), 3, 1) >= '5' THEN 1 ELSE 0 END;
`;

function headerOf(file: string): string[] {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(65536);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  let text = buf.subarray(0, n).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text
    .split(/\r?\n/)[0]
    .split(',')
    .map((h) => h.trim().replace(/^"|"$/g, '').toLowerCase());
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

export interface DuckResult extends KpiTables {
  rejected: Record<string, number>;
}

/** Runs the whole job in DuckDB with the given thread count. */
export async function duckCompute(dir: string, threads?: number): Promise<DuckResult> {
  const opts: Record<string, string> = {};
  if (threads) opts.threads = String(threads);
  const db = await DuckDBInstance.create(':memory:', opts);
  const con = await db.connect();
  try {
    await con.run(MACROS);
    const sources = listLocalSources(dir);
    for (const entity of ['products', 'orders', 'order_items'] as const) {
      const schema = SCHEMAS[entity];
      const cols = [...schema.required, ...schema.optional];
      const parts: string[] = [];
      sources
        .filter((s) => s.entity === entity)
        .forEach((s, idx) => {
          const file = path.join(dir, s.name);
          const header = headerOf(file);
          if (schema.required.some((c) => !header.includes(c))) return; // rejected whole
          const sel = cols
            .map((c) => (header.includes(c) ? `coalesce(trim("${c}"), '') AS ${c}` : `'' AS ${c}`))
            .join(', ');
          parts.push(
            `SELECT ${idx} AS file_idx, row_number() OVER () AS rn, ${sel} FROM read_csv(${q(file)}, header = true, all_varchar = true, delim = ',', quote = '"', escape = '"', null_padding = true)`,
          );
        });
      await con.run(
        `CREATE TABLE ${entity}_raw AS ${parts.join(' UNION ALL ') || `SELECT 0 AS file_idx, 0 AS rn, ${cols.map((c) => `'' AS ${c}`).join(', ')} WHERE false`}`,
      );
    }
    const TS = ['created_at', 'shipped_at', 'delivered_at', 'returned_at'];
    // Each timestamp is cast once per row; the rules then compare the parsed values.
    const parsed = () => TS.map((c) => `epoch_us(TRY_CAST(${c} AS TIMESTAMPTZ)) AS ${c}_us`).join(', ');
    const rowRules = (entity: 'orders' | 'order_items' | 'products') => {
      const s = SCHEMAS[entity];
      const missing = s.required.map((c) => `${c} = ''`).join(' OR ');
      const rules = [`WHEN ${missing} THEN 'missing_field'`];
      if (entity === 'order_items') rules.push(`WHEN NOT price_ok(sale_price) THEN 'bad_price'`);
      if (entity !== 'products') {
        const ok = TS.map(
          (c) =>
            `(${c} = '' OR (${c}_us IS NOT NULL AND regexp_full_match(${c}, '\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z| UTC|[+-]\\d{2}:?\\d{2})?')))`,
        ).join(' AND ');
        rules.push(`WHEN NOT (${ok}) THEN 'bad_timestamp'`);
        if (entity === 'orders')
          rules.push(
            `WHEN num_of_item <> '' AND NOT (regexp_full_match(num_of_item, '\\d+') AND length(num_of_item) <= 15) THEN 'bad_integer'`,
          );
        rules.push(`WHEN shipped_at_us < created_at_us THEN 'shipped_before_created'`);
        rules.push(`WHEN delivered_at_us < shipped_at_us THEN 'delivered_before_shipped'`);
      }
      rules.push(`WHEN dup > 1 THEN 'duplicate_key'`);
      return `CASE ${rules.join(' ')} ELSE NULL END`;
    };
    const script = `
      CREATE TABLE products_chk AS SELECT *, ${rowRules('products')} AS reason FROM
        (SELECT *, CASE WHEN id = '' THEN 1 ELSE row_number() OVER (PARTITION BY file_idx, id ORDER BY rn) END AS dup FROM products_raw);
      CREATE TABLE orders_chk AS SELECT *, ${rowRules('orders')} AS reason FROM
        (SELECT *, ${parsed()}, CASE WHEN order_id = '' THEN 1 ELSE row_number() OVER (PARTITION BY file_idx, order_id ORDER BY rn) END AS dup FROM orders_raw);
      CREATE TABLE p_win AS SELECT id, arg_max(category, file_idx) AS category FROM products_chk WHERE reason IS NULL GROUP BY id;
      CREATE TABLE o_win AS SELECT order_id, arg_max(user_id, file_idx) AS user_id, arg_max(status, file_idx) AS status, arg_max(created_at_us, file_idx) AS created_at_us
        FROM orders_chk WHERE reason IS NULL GROUP BY order_id;
      CREATE TABLE items_chk AS SELECT i.*, CASE
          WHEN r0 IS NOT NULL THEN r0
          WHEN ow.order_id IS NULL THEN 'unknown_order'
          WHEN pw.id IS NULL THEN 'unknown_product'
          ELSE NULL END AS reason
        FROM (SELECT *, ${rowRules('order_items')} AS r0 FROM
          (SELECT *, ${parsed()}, CASE WHEN id = '' THEN 1 ELSE row_number() OVER (PARTITION BY file_idx, id ORDER BY rn) END AS dup FROM order_items_raw)) i
          LEFT JOIN (SELECT order_id FROM o_win) ow ON ow.order_id = i.order_id
          LEFT JOIN (SELECT id FROM p_win) pw ON pw.id = i.product_id;
      CREATE TABLE i_win AS SELECT id, arg_max(order_id, file_idx) AS order_id, arg_max(product_id, file_idx) AS product_id,
          arg_max(sale_price, file_idx) AS sale_price, arg_max(status, file_idx) AS status
        FROM items_chk WHERE reason IS NULL GROUP BY id;
      CREATE TABLE joined AS SELECT p.category,
          strftime(DATE '1970-01-01' + CAST(o.created_at_us // 86400000000 AS INT), '%Y-%m-%d') AS order_date,
          i.order_id, o.user_id, cents(i.sale_price) AS cents,
          CASE WHEN lower(i.status) = 'returned' OR (i.status = '' AND lower(o.status) = 'returned') THEN 1 ELSE 0 END AS returned,
          lower(o.status) = 'returned' AS order_returned
        FROM i_win i JOIN o_win o ON o.order_id = i.order_id JOIN p_win p ON p.id = i.product_id;
    `;
    for (const stmt of script.split(';').filter((x) => x.trim())) {
      const t = performance.now();
      await con.run(stmt);
      if (process.env.KPI_DUCK_TRACE)
        console.error(`${(performance.now() - t).toFixed(0)} ms ${stmt.trim().slice(0, 40)}`);
    }
    const cat = await con.runAndReadAll(`
      SELECT category, order_date, CAST(sum(cents) AS BIGINT) AS c, count(*)::BIGINT AS items, count(DISTINCT order_id)::BIGINT AS orders, sum(returned)::BIGINT AS ret
      FROM joined GROUP BY ALL ORDER BY category, order_date`);
    const day = await con.runAndReadAll(`
      SELECT order_date, CAST(sum(cents) AS BIGINT) AS c, count(*)::BIGINT AS items, count(DISTINCT order_id)::BIGINT AS orders,
        count(DISTINCT user_id)::BIGINT AS users, count(DISTINCT CASE WHEN order_returned THEN order_id END)::BIGINT AS ret_orders
      FROM joined GROUP BY ALL ORDER BY order_date`);
    const rej = await con.runAndReadAll(`
      SELECT reason, count(*)::BIGINT AS n FROM (
        SELECT reason FROM products_chk UNION ALL SELECT reason FROM orders_chk UNION ALL SELECT reason FROM items_chk)
      WHERE reason IS NOT NULL GROUP BY reason`);
    const num = (v: unknown) => Number(v);
    // Rounding here is done with BigInt arithmetic, separately from runtime/money.ts.
    const halfUp = (a: number, b: number) => Number((2n * BigInt(a) + BigInt(b)) / (2n * BigInt(b)));
    const rate = (n: number, d: number) => (d === 0 ? 0 : halfUp(n * 10000, d) / 10000);
    return {
      category_kpis: cat
        .getRowObjectsJS()
        .map((r) => {
          const c = num(r.c),
            items = num(r.items),
            orders = num(r.orders),
            ret = num(r.ret);
          return {
            category: String(r.category),
            order_date: String(r.order_date),
            daily_revenue: c / 100,
            avg_order_value: halfUp(c, items) / 100,
            return_rate: rate(ret, items),
            revenue_per_order: halfUp(c, orders) / 100,
            items,
            orders,
            returned_items: ret,
          };
        })
        .sort((x, y) =>
          x.category < y.category ? -1 : x.category > y.category ? 1 : x.order_date < y.order_date ? -1 : 1,
        ),
      order_kpis: day.getRowObjectsJS().map((r) => {
        const c = num(r.c),
          orders = num(r.orders);
        return {
          order_date: String(r.order_date),
          total_orders: orders,
          total_revenue: c / 100,
          total_items_sold: num(r.items),
          unique_customers: num(r.users),
          revenue_per_order: halfUp(c, orders) / 100,
          return_rate: rate(num(r.ret_orders), orders),
          returned_orders: num(r.ret_orders),
        };
      }),
      rejected: Object.fromEntries(rej.getRowObjectsJS().map((r) => [String(r.reason), num(r.n)])),
    };
  } finally {
    con.closeSync();
    db.closeSync();
  }
}
