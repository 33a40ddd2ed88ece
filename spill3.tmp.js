const { DuckDBInstance } = require('@duckdb/node-api');
const { JOINED } = require('./dist/runtime/history/sql');
const { VALIDATED_COLUMNS } = require('./dist/runtime/core/formats/validated');
const fs=require('fs');
(async () => {
  const mem = process.argv[2];
  const dir='/tmp/spillz-400000';
  const byEnt = { orders: [], products: [], order_items: [] };
  // classify by schema: use column count
  const { DuckDBInstance: D } = require('@duckdb/node-api');
  fs.rmSync('/tmp/sp.db',{force:true});
  const db = await DuckDBInstance.create('/tmp/sp.db', { memory_limit: mem+'MB', temp_directory: '/tmp/spt', threads: '1', preserve_insertion_order: 'false' });
  const con = await db.connect();
  for (const f of fs.readdirSync(dir)) {
    const r = await con.runAndReadAll(`SELECT name FROM parquet_schema('${dir}/${f}')`);
    const names = r.getRowObjectsJS().map(x=>x.name);
    const e = names.includes('item_id') ? 'order_items' : names.includes('category') ? 'products' : 'orders';
    byEnt[e].push(`'${dir}/${f}'`);
  }
  const V = { orders: 'v_orders', products: 'v_products', order_items: 'v_items' };
  for (const e of Object.keys(V)) await con.run(`CREATE VIEW ${V[e]} AS SELECT ${VALIDATED_COLUMNS[e].map(c=>c[0]).join(',')} FROM read_parquet([${byEnt[e].join(',')}])`);
  const qs = process.argv.slice(3);
  for (const q of qs) {
    const t = Date.now();
    const sql = q === 'joined' ? `CREATE OR REPLACE TABLE joined AS ${JOINED}` : q;
    try { await con.run(sql); console.log('ok', q.slice(0,60), Date.now()-t); } catch (e) { console.log('FAIL', q.slice(0,60), String(e).slice(0,80)); }
  }
})();
