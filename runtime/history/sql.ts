// The history as SQL: what the contract decides over every applied file, written once for the
// engines that run it (DuckDB in the task, and Athena/Trino past one task). Inputs are three
// relations over the validated zone (core/formats/validated.ts), one row per valid version:
//   v_orders(order_id, user_id, order_day, order_returned, line, version_rank)
//   v_products(product_id, category, line, version_rank)
//   v_items(item_id, order_id, product_id, sale_price_cents, item_status, line, version_rank)
// Row rules and the per-file duplicate rule were applied by validate; what is left is the upsert by
// rank, holds (an item counts once its order and product exist), the join and both aggregations.
//
// The dialect is the part DuckDB and Trino share: CTEs, max_by, count(DISTINCT), CASE, IN
// (SELECT), explicit GROUP BY lists and CAST. Avoided: arg_max, GROUP BY ALL, QUALIFY, `::` casts,
// `//` division, date functions (days stay integers; the caller formats them) and NUL in strings.

/** The winning version of each key; items among those whose order and product exist. */
export const JOINED = `
WITH o AS (
  SELECT order_id, max_by(user_id, version_rank) AS user_id, max_by(order_day, version_rank) AS order_day,
    max_by(order_returned, version_rank) AS order_returned
  FROM v_orders GROUP BY order_id
), p AS (
  SELECT product_id, max_by(category, version_rank) AS category FROM v_products GROUP BY product_id
), i AS (
  SELECT item_id, max_by(order_id, version_rank) AS order_id, max_by(product_id, version_rank) AS product_id,
    max_by(sale_price_cents, version_rank) AS sale_price_cents, max_by(item_status, version_rank) AS item_status
  FROM v_items
  WHERE order_id IN (SELECT order_id FROM o) AND product_id IN (SELECT product_id FROM p)
  GROUP BY item_id
)
SELECT o.order_day, i.item_id, i.order_id, o.user_id, i.product_id, p.category, i.sale_price_cents,
  CASE WHEN i.item_status = 1 OR (i.item_status = 0 AND o.order_returned) THEN true ELSE false END AS returned,
  o.order_returned
FROM i JOIN o ON o.order_id = i.order_id JOIN p ON p.product_id = i.product_id`;

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
