// A stand-in for Athena (which cannot run here), to test the Athena runner end to end: it reads the
// Glue tables' locations from the embedded S3 at query time as Athena does (every object under the
// prefix, "$path" = its s3:// URI), runs the query text on DuckDB, and answers in Athena's shapes:
// QUEUED then RUNNING before SUCCEEDED, every value a string, the header as the first row of the
// first page, small pages joined by NextToken. The SQL is the same text Athena would get.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { AthenaApi, AthenaTarget } from '../runtime/history/athena';
import { LAKE_TABLE, ZONE_TABLES } from '../runtime/history/athena';
import { CURATED_PREFIX, ENTITIES } from '../runtime/core/names';
import { inPool } from '../runtime/core/pool';
import type { Bucket } from '../runtime/aws/s3store';

export interface FakeAthena extends AthenaApi {
  queries: string[];
  /** polls answered before a query finished */
  polls: number;
  pages: number;
}

export function fakeAthena(bucket: Bucket, bucketName: string, want: AthenaTarget, pageRows = 7): FakeAthena {
  const runs = new Map<
    string,
    { polls: number; result: Promise<{ header: string[]; rows: (string | undefined)[][] }>; error?: string }
  >();
  const fake: FakeAthena = {
    queries: [],
    polls: 0,
    pages: 0,
    async start(sql, target) {
      if (target.workgroup !== want.workgroup || target.database !== want.database)
        throw new Error(`fake Athena: unexpected target ${JSON.stringify(target)}`);
      fake.queries.push(sql);
      const id = `q${runs.size + 1}`;
      const run: {
        polls: number;
        result: Promise<{ header: string[]; rows: (string | undefined)[][] }>;
        error?: string;
      } = {
        polls: 0,
        result: execute(bucket, bucketName, want.database, sql),
      };
      run.result.catch((e: Error) => (run.error = e.message));
      runs.set(id, run);
      return id;
    },
    async status(id) {
      const run = runs.get(id)!;
      run.polls++;
      if (run.polls === 1) return { state: 'QUEUED' };
      await run.result.catch(() => {});
      if (run.error) return { state: 'FAILED', reason: run.error };
      if (run.polls === 2) {
        fake.polls += 2;
        return { state: 'RUNNING' };
      }
      return { state: 'SUCCEEDED' };
    },
    async page(id, token) {
      fake.pages++;
      const { header, rows } = await runs.get(id)!.result;
      const all = [header, ...rows];
      const from = token ? Number(token) : 0;
      const next = from + pageRows < all.length ? String(from + pageRows) : undefined;
      return { rows: all.slice(from, from + pageRows), next };
    },
  };
  return fake;
}

async function execute(bucket: Bucket, bucketName: string, database: string, sql: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-fake-athena-'));
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    await con.run(`CREATE SCHEMA "${database}"`);
    const locations: [string, string][] = [
      ...ENTITIES.map((e) => [ZONE_TABLES[e], `validated/${e}/`] as [string, string]),
      [LAKE_TABLE, CURATED_PREFIX],
    ];
    for (const [table, prefix] of locations) {
      const keys = (await bucket.list(prefix)).map((o) => o.key);
      // the key's folders kept: the lake's order_date=... is a Hive partition, as in its Glue table
      const files = keys.map((k) => path.join(dir, table, k));
      for (const f of files) mkdirSync(path.dirname(f), { recursive: true });
      await inPool(keys, 8, async (k, i) => void (await bucket.download(k, files[i]!)));
      if (!files.length) continue; // a table with no files: the query fails, as an empty location does not here
      await con.run(`CREATE TABLE paths (file VARCHAR, uri VARCHAR)`);
      await con.run(
        `INSERT INTO paths VALUES ${files.map((f, i) => `('${f}', 's3://${bucketName}/${keys[i]!.replace(/'/g, "''")}')`).join(',')}`,
      );
      await con.run(
        `CREATE TABLE "${database}"."${table}" AS SELECT t.* EXCLUDE (filename), p.uri AS "$path" FROM read_parquet([${files
          .map((f) => `'${f}'`)
          .join(
            ',',
          )}], filename = true, hive_partitioning = ${table === LAKE_TABLE}, hive_types_autocast = false) t JOIN paths p ON p.file = t.filename`,
      );
      await con.run(`DROP TABLE paths`);
    }
    // Text as Athena returns it: @duckdb/node-api drops a leading U+FEFF from a VARCHAR (history/duckdb.ts
    // textSql), so text columns are read with one character in front, cut off here.
    const shape = await con.runAndReadAll(`SELECT * FROM (${sql}) LIMIT 0`);
    const header = shape.columnNames();
    const text = shape.columnTypes().map((t) => String(t) === 'VARCHAR');
    const cols = header.map((h, i) => (text[i] ? `'~' || "${h}"` : `"${h}"`));
    const r = await con.runAndReadAll(`SELECT ${cols.join(', ')} FROM (${sql})`);
    const rows = r
      .getRows()
      .map((row) => row.map((v, i) => (v === null ? undefined : text[i] ? String(v).slice(1) : String(v))));
    return { header, rows };
  } finally {
    con.closeSync();
    db.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}
