#!/usr/bin/env node
// `node scripts/duckdb.js "SQL"`: runs one query in an in-memory DuckDB (the @duckdb/node-api
// development dependency) and prints the result as tab-separated lines with a header — for the
// README's tour of the lake, where no duckdb binary may be installed.
const sql = process.argv[2];
if (!sql) {
  console.error('usage: node scripts/duckdb.js "SQL"');
  process.exit(2);
}
(async () => {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const reader = await con.runAndReadAll(sql);
  const rows = reader.getRowObjectsJson(); // dates as YYYY-MM-DD, exact decimals as text
  const cols = reader.columnNames();
  console.log(cols.join('\t'));
  for (const r of rows) console.log(cols.map((c) => String(r[c])).join('\t'));
})().catch((err) => {
  console.error(`duckdb: ${err.message}`);
  process.exit(1);
});
