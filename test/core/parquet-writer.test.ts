// The minimal Parquet writer, read back by two independent readers (DuckDB and hyparquet) on
// random flat tables: strings of any Unicode, integers to 2^53, booleans, any row count.
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { writeParquet } from '../../runtime/core/formats/parquet-writer';
import {
  decodeLakeFile,
  DICTIONARY_COLUMNS,
  encodeLakeFile,
  LAKE_COLUMNS,
  LAKE_WRITE,
} from '../../runtime/core/formats/parquet';
import { zstdReady } from '../../runtime/core/formats/zstd';

const row = fc.record({
  s: fc.string({ unit: 'grapheme', maxLength: 12 }),
  n: fc.maxSafeInteger(),
  b: fc.boolean(),
});

test('property: DuckDB reads back exactly what was written, with the declared types', async (t) => {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-pq-'));
  let runs = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 300 }), async (rows) => {
        runs++;
        const file = path.join(dir, `${runs}.parquet`);
        writeFileSync(
          file,
          writeParquet([
            { name: 's', type: 'STRING', values: rows.map((r) => r.s) },
            { name: 'n', type: 'INT64', values: rows.map((r) => r.n) },
            { name: 'b', type: 'BOOLEAN', values: rows.map((r) => r.b) },
          ]),
        );
        const got = (await con.runAndReadAll(`SELECT s, n, b FROM read_parquet('${file}')`)).getRowObjectsJS();
        return (
          got.length === rows.length &&
          got.every((g, i) => g.s === rows[i]!.s && BigInt(g.n as bigint) === BigInt(rows[i]!.n) && g.b === rows[i]!.b)
        );
      }),
      { numRuns: 60 },
    );
    const types = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path.join(dir, '1.parquet')}')`))
      .getRowObjectsJS()
      .map((r) => [r.column_name, r.column_type]);
    t.deepEqual(types, [
      ['s', 'VARCHAR'],
      ['n', 'BIGINT'],
      ['b', 'BOOLEAN'],
    ]);
  } finally {
    con.closeSync();
    db.closeSync();
  }
  t.is(runs, 60);
});

test('property: lake files round-trip through hyparquet', async (t) => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          item_id: fc.string(),
          order_id: fc.string(),
          user_id: fc.string(),
          product_id: fc.string(),
          category: fc.string({ unit: 'grapheme' }),
          sale_price_cents: fc.nat(2 ** 43),
          returned: fc.boolean(),
          order_returned: fc.boolean(),
        }),
        { maxLength: 200 },
      ),
      async (rows) => {
        runs++;
        t.deepEqual(await decodeLakeFile(await encodeLakeFile(rows)), rows);
      },
    ),
    { numRuns: 100 },
  );
  t.is(runs, 100);
});

test('columns of different lengths are an error', (t) => {
  t.throws(
    () =>
      writeParquet([
        { name: 'a', type: 'INT64', values: [1, 2] },
        { name: 'b', type: 'BOOLEAN', values: [true] },
      ]),
    { message: /column b has 1 values, expected 2/ },
  );
});

test('property: a lake file written from dictionary columns has the bytes of the one written from strings', async (t) => {
  let runs = 0;
  const id = fc.oneof(fc.nat(3000).map(String), fc.string({ unit: 'grapheme', maxLength: 8 }));
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          item_id: id,
          order_id: id,
          user_id: id,
          product_id: id,
          category: fc.constantFrom('Jeans', 'Tops', 'Ärmel', '日本', ''),
          sale_price_cents: fc.integer({ min: -(2 ** 40), max: 2 ** 53 - 1 }),
          returned: fc.boolean(),
          order_returned: fc.boolean(),
        }),
        { maxLength: 200 },
      ),
      async (rows) => {
        runs++;
        await zstdReady();
        const fromStrings = writeParquet(
          LAKE_COLUMNS.map(([name, type]) => ({
            name,
            type,
            dictionary: DICTIONARY_COLUMNS.has(name),
            values: rows.map((r) => r[name]),
          })),
          LAKE_WRITE,
        );
        t.deepEqual(Buffer.from(await encodeLakeFile(rows)), Buffer.from(fromStrings));
      },
    ),
    { numRuns: 150 },
  );
  t.is(runs, 150);
});

test('property: ZSTD pages, dictionary columns and min/max statistics read back by DuckDB exactly', async (t) => {
  await zstdReady();
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-pqz-'));
  let runs = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            s: fc.string({ unit: 'grapheme', maxLength: 12 }),
            d: fc.constantFrom('a', 'Ärmel', '日本', '', 'zz'),
            n: fc.maxSafeInteger(),
            b: fc.boolean(),
          }),
          {
            minLength: 1,
            maxLength: 400,
          },
        ),
        async (rows) => {
          runs++;
          const file = path.join(dir, `${runs}.parquet`);
          const cols = [
            { name: 's', type: 'STRING' as const, values: rows.map((r) => r.s) },
            { name: 'd', type: 'STRING' as const, dictionary: true, values: rows.map((r) => r.d) },
            { name: 'n', type: 'INT64' as const, values: rows.map((r) => r.n) },
            { name: 'b', type: 'BOOLEAN' as const, values: rows.map((r) => r.b) },
          ];
          writeFileSync(file, writeParquet(cols, { codec: 'ZSTD', statistics: true }));
          const got = (await con.runAndReadAll(`SELECT s, d, n, b FROM read_parquet('${file}')`)).getRowObjectsJS();
          const same =
            got.length === rows.length &&
            got.every(
              (g, i) =>
                g.s === rows[i]!.s &&
                g.d === rows[i]!.d &&
                BigInt(g.n as bigint) === BigInt(rows[i]!.n) &&
                g.b === rows[i]!.b,
            );
          // statistics: byte order for strings, numeric for integers
          const meta = (
            await con.runAndReadAll(
              `SELECT path_in_schema AS c, stats_min_value AS lo, stats_max_value AS hi, compression FROM parquet_metadata('${file}')`,
            )
          ).getRowObjectsJS();
          const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
          const ss = rows.map((r) => r.s).sort(byBytes);
          const ns = rows.map((r) => r.n).sort((a, b) => a - b);
          const m = Object.fromEntries(meta.map((x) => [x.c, x]));
          const stats =
            m.s!.lo === ss[0] &&
            m.s!.hi === ss.at(-1) &&
            String(m.n!.lo) === String(ns[0]) &&
            String(m.n!.hi) === String(ns.at(-1));
          return same && stats && meta.every((x) => x.compression === 'ZSTD');
        },
      ),
      { numRuns: 60 },
    );
  } finally {
    con.closeSync();
    db.closeSync();
  }
  t.is(runs, 60);
});
