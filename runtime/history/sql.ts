// The history as SQL: what the contract decides over every applied file, written once for the
// engines that run it (DuckDB in the task, and Athena/Trino past one task). Inputs are three
// relations over the validated zone (core/formats/validated.ts), one row per valid version:
//   v_orders(order_id, user_id, order_day, order_returned, line, version)
//   v_products(product_id, category, line, version)
//   v_items(item_id, order_id, product_id, sale_price_cents, item_status, line, version)
// where `version` orders one key's versions as SPEC's version order: DuckDB's runner numbers the
// files (a BIGINT; the 60-byte version_rank string per row doubled the memory it needed), an engine
// reading the zone in place may use version_rank itself.
// Row rules and the per-file duplicate rule were applied by validate; what is left is the upsert by
// rank, holds (an item counts once its order and product exist), the join and both aggregations.
//
// The dialect is the part DuckDB and Trino share: CTEs, GROUP BY and joins, count(DISTINCT), CASE,
// IN (SELECT), explicit GROUP BY lists and CAST. Avoided: arg_max, GROUP BY ALL, QUALIFY, `::` casts,
// `//` division, date functions (days stay integers; the caller formats them) and NUL in strings.
import { byCategoryThenDate, categoryKpi, orderKpi, type KpiTables } from '../core/aggregate/kpis';
import { civilFromDays } from '../core/parse/timestamp';

/**
 * The latest version of each key of a relation, as a GROUP BY joined back. Measured on DuckDB at 2M
 * items: this runs in 64 MB (the aggregate and the join spill); row_number() OVER (PARTITION BY)
 * needed over 128 MB and several max_by on strings over 256 MB, growing with the history.
 */
const latest = (cols: string, key: string, from: string) => `
  SELECT ${cols
    .split(', ')
    .map((c) => `v.${c}`)
    .join(', ')} FROM ${from} v JOIN (SELECT ${key} AS k, max(version) AS latest FROM ${from} GROUP BY ${key}) m
    ON m.k = v.${key} AND m.latest = v.version`;

/**
 * The joined items as named steps, each a SELECT over the inputs and the steps before it: the winning
 * version of each order and product, the item versions whose order and product exist, the winning
 * one of each item, and the join. DuckDB materialises each step as a table (it spills a step's
 * operators; one statement of all of them ran out of memory where the steps did not); Trino can
 * run them as one WITH query.
 */
export const JOINED_STEPS: readonly (readonly [name: string, select: string])[] = [
  ['o', latest('order_id, user_id, order_day, order_returned, version', 'order_id', 'v_orders')],
  ['p', latest('product_id, category, version', 'product_id', 'v_products')],
  [
    'joinable',
    `SELECT * FROM v_items WHERE order_id IN (SELECT order_id FROM o) AND product_id IN (SELECT product_id FROM p)`,
  ],
  ['i', latest('item_id, order_id, product_id, sale_price_cents, item_status, version', 'item_id', 'joinable')],
  [
    'joined',
    `SELECT o.order_day, i.item_id, i.order_id, o.user_id, i.product_id, p.category, i.sale_price_cents,
  CASE WHEN i.item_status = 1 OR (i.item_status = 0 AND o.order_returned) THEN true ELSE false END AS returned,
  o.order_returned
FROM i JOIN o ON o.order_id = i.order_id JOIN p ON p.product_id = i.product_id`,
  ],
];

/** One row per (category, day): the inputs of the category KPI formulas. */
export const CATEGORY_COUNTS = `
SELECT category, order_day, sum(sale_price_cents) AS cents, count(*) AS items,
  count(DISTINCT order_id) AS orders, sum(CASE WHEN returned THEN 1 ELSE 0 END) AS returned_items
FROM joined GROUP BY category, order_day`;

/** One row per day: the inputs of the order KPI formulas. */
export const DAY_COUNTS = `
SELECT order_day, sum(sale_price_cents) AS cents, count(*) AS items, count(DISTINCT order_id) AS orders,
  count(DISTINCT user_id) AS users, count(DISTINCT CASE WHEN order_returned THEN order_id END) AS returned_orders
FROM joined GROUP BY order_day`;

/** The counts' rows of CATEGORY_COUNTS and DAY_COUNTS, as either engine returns them. */
export type CountRow = Record<string, unknown>;

/** Both KPI tables from the two aggregations' rows, by the contract's formulas (kpis.ts). */
export function kpisFromCounts(
  cats: CountRow[],
  days: CountRow[],
  category: (r: CountRow) => string,
  n: (v: unknown) => number,
): KpiTables {
  return {
    category_kpis: cats
      .map((r) =>
        categoryKpi(category(r), civilFromDays(n(r.order_day)), {
          cents: n(r.cents),
          items: n(r.items),
          orders: n(r.orders),
          returned: n(r.returned_items),
        }),
      )
      .sort(byCategoryThenDate),
    order_kpis: days
      .map((r) =>
        orderKpi(civilFromDays(n(r.order_day)), {
          cents: n(r.cents),
          items: n(r.items),
          orders: n(r.orders),
          users: n(r.users),
          returnedOrders: n(r.returned_orders),
        }),
      )
      .sort((a, b) => (a.order_date < b.order_date ? -1 : 1)),
  };
}
