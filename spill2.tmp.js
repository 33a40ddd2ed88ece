const { DuckDBInstance } = require('@duckdb/node-api');
const fs=require('fs');
(async () => {
  const mem = process.argv[2];
  const files = fs.readdirSync('/tmp/spillz-400000').map(f => `'/tmp/spillz-400000/${f}'`);
  fs.rmSync('/tmp/sp.db',{force:true});
  const db = await DuckDBInstance.create('/tmp/sp.db', { memory_limit: mem+'MB', temp_directory: '/tmp/spt', threads: '1', preserve_insertion_order: 'false' });
  const con = await db.connect();
  await con.run(`CREATE VIEW allv AS SELECT * FROM read_parquet([${files.join(',')}], union_by_name=true)`);
  await con.run(`CREATE VIEW v_items AS SELECT item_id, order_id, product_id, sale_price_cents, item_status, version_rank FROM allv WHERE item_id IS NOT NULL`);
  await con.run(`CREATE VIEW v_orders AS SELECT order_id, user_id, order_day, order_returned, version_rank FROM allv WHERE order_day IS NOT NULL`);
  const steps = {
    count: `SELECT count(*) FROM v_items`,
    orders_maxby: `CREATE OR REPLACE TABLE o AS SELECT order_id, max_by(user_id, version_rank) u, max_by(order_day, version_rank) d FROM v_orders GROUP BY order_id`,
    items_maxby: `CREATE OR REPLACE TABLE i AS SELECT item_id, max_by(order_id, version_rank) o, max_by(sale_price_cents, version_rank) c FROM v_items GROUP BY item_id`,
    items_rn: `CREATE OR REPLACE TABLE i2 AS SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY item_id ORDER BY version_rank DESC) rn FROM v_items) WHERE rn = 1`,
    distinct: `SELECT order_day, count(DISTINCT user_id) FROM v_orders GROUP BY order_day`,
  };
  for (const [k, q] of Object.entries(steps)) {
    const t = Date.now();
    try { await con.run(q); console.log('ok', k, Date.now()-t); } catch (e) { console.log('FAIL', k, String(e).slice(0,80)); }
  }
})();
