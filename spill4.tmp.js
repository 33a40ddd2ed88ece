const { DuckDBInstance } = require('@duckdb/node-api');
const { JOINED_STEPS, CATEGORY_COUNTS, DAY_COUNTS } = require('./dist/runtime/history/sql');
const { VALIDATED_COLUMNS } = require('./dist/runtime/core/formats/validated');
const fs=require('fs');
(async () => {
  const [dir, mem, threads] = process.argv.slice(2);
  const byEnt = { orders: [], products: [], order_items: [] };
  fs.rmSync('/tmp/sp.db',{force:true}); fs.rmSync('/tmp/sp.db.wal',{force:true});
  const db = await DuckDBInstance.create('/tmp/sp.db', { memory_limit: mem+'MB', temp_directory: '/tmp/spt', threads: threads||'1', preserve_insertion_order: 'false' });
  const con = await db.connect();
  for (const f of fs.readdirSync(dir)) {
    const r = await con.runAndReadAll(`SELECT name FROM parquet_schema('${dir}/${f}')`);
    const names = r.getRowObjectsJS().map(x=>x.name);
    const e = names.includes('item_id') ? 'order_items' : names.includes('category') ? 'products' : 'orders';
    byEnt[e].push(`'${dir}/${f}'`);
  }
  const V = { orders: 'v_orders', products: 'v_products', order_items: 'v_items' };
  for (const e of Object.keys(V)) await con.run(`CREATE VIEW ${V[e]} AS SELECT ${VALIDATED_COLUMNS[e].map(c=>c[0]).join(',')} FROM read_parquet([${byEnt[e].join(',')}])`);
  const steps = [...JOINED_STEPS.map(([n,s]) => [n, `CREATE TABLE ${n} AS ${s}`]), ['cat', CATEGORY_COUNTS], ['day', DAY_COUNTS]];
  for (const [n, q] of steps) {
    const t = Date.now();
    try { await con.run(q); console.log('ok', n, Date.now()-t); } catch (e) { console.log('FAIL', n, String(e).slice(0,100)); break; }
  }
})();
