// The history engine on one machine: DuckDB over the validated zone's objects (downloaded to local
// disk), with a memory limit and a temporary directory so it spills instead of dying, and a thread
// per core. Loaded only by the commands that look at the whole history (its native module is
// about 70 MB of the image).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { KpiTables } from '../core/aggregate/kpis';
import { VALIDATED_COLUMNS } from '../core/formats/validated';
import { LAKE_COLUMNS } from '../core/formats/parquet';
import { ENTITIES, type Entity } from '../core/names';
import { CATEGORY_COUNTS, DAY_COUNTS, JOINED_STEPS, kpisFromCounts } from './sql';

export interface EngineOptions {
  /** DuckDB's memory_limit; past it, joins and aggregations spill to tempDir */
  memoryMiB: number;
  /** where it spills (the task's ephemeral storage: TMPDIR) */
  tempDir?: string;
  threads?: number;
}

/** Local Parquet files of the validated zone, per entity, each list in version order. */
export type ZoneFiles = Record<Entity, string[]>;

/** A lake day's local files (curated/joined_items/order_date=D/part-*.parquet). */
export interface LakeDay {
  day: number;
  files: string[];
}

export interface LakeDifference {
  day: number;
  /** rows stored for the day, and rows the history gives it */
  stored: number;
  expected: number;
  /** items whose row is missing, extra or different (the first few) */
  items: string[];
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * A text column as read into JavaScript: @duckdb/node-api drops a leading U+FEFF when it converts a
 * VARCHAR (1.5.6; a category "\uFEFFJeans" came back as "Jeans"), so text is selected with one
 * character in front (textSql) and that character cut off here (textOf).
 */
export const textSql = (col: string) => `('~' || ${col})`;
export const textOf = (v: unknown) => String(v).slice(1);
const SQL_TYPE = { STRING: 'VARCHAR', INT64: 'BIGINT', BOOLEAN: 'BOOLEAN' } as const;
const VIEW: Record<Entity, string> = { orders: 'v_orders', products: 'v_products', order_items: 'v_items' };

/** The engine's defaults for this machine: a quarter of its memory up to 512 MiB, a thread per core. */
export function defaultEngineOptions(memoryMiB?: number): EngineOptions {
  return {
    memoryMiB: memoryMiB ?? Math.min(512, Math.floor(os.totalmem() / 2 ** 20 / 4)),
    threads: os.availableParallelism(),
  };
}

export class HistoryEngine {
  private constructor(
    private readonly db: DuckDBInstance,
    private readonly con: DuckDBConnection,
    private readonly spill: string,
  ) {}

  /** Opens DuckDB over the zone's files and builds the joined items (spilling past the limit). */
  static async open(zone: ZoneFiles, opts: EngineOptions): Promise<HistoryEngine> {
    const { DuckDBInstance } = require('@duckdb/node-api') as typeof import('@duckdb/node-api');
    const spill = mkdtempSync(path.join(opts.tempDir ?? os.tmpdir(), 'kpi-duckdb-'));
    const settings: Record<string, string> = {
      memory_limit: `${Math.max(64, Math.floor(opts.memoryMiB))}MB`,
      temp_directory: spill,
      preserve_insertion_order: 'false',
    };
    if (opts.threads) settings.threads = String(opts.threads);
    const db = await DuckDBInstance.create(path.join(spill, 'history.duckdb'), settings);
    const engine = new HistoryEngine(db, await db.connect(), spill);
    try {
      await engine.con.run(`CREATE TABLE zone_files (path VARCHAR, version BIGINT)`);
      for (const e of ENTITIES) {
        await engine.insert(
          'zone_files',
          zone[e].map((f, i) => `(${q(f)}, ${i})`),
        );
        await engine.con.run(`CREATE VIEW ${VIEW[e]} AS ${source(e, zone[e])}`);
      }
      for (const [name, select] of JOINED_STEPS) await engine.con.run(`CREATE TABLE ${name} AS ${select}`);
      await engine.con.run(`DROP TABLE joinable`);
    } catch (err) {
      engine.close();
      throw err;
    }
    return engine;
  }

  /** Both KPI tables, by the contract's formulas (core/aggregate/kpis.ts) on the SQL's counts. */
  async kpis(): Promise<KpiTables> {
    const n = (v: unknown) => Number(v);
    const cats = (
      await this.con.runAndReadAll(`SELECT ${textSql('category')} AS text_category, * FROM (${CATEGORY_COUNTS})`)
    ).getRowObjectsJS();
    const days = (await this.con.runAndReadAll(`${DAY_COUNTS} ORDER BY order_day`)).getRowObjectsJS();
    return kpisFromCounts(cats, days, (r) => textOf(r.text_category), n);
  }

  private perDay?: Promise<Map<number, number>>;

  /** Joined items per day, as the history gives them (one query, however often asked). */
  itemsPerDay(): Promise<Map<number, number>> {
    this.perDay ??= this.con
      .runAndReadAll(`SELECT order_day, count(*) AS n FROM joined GROUP BY order_day`)
      .then((r) => new Map(r.getRowObjectsJS().map((x) => [Number(x.order_day), Number(x.n)])));
    return this.perDay;
  }

  /** The days whose stored lake rows differ from the history's joined items (both ways, as multisets). */
  async lakeDifferences(lake: LakeDay[]): Promise<LakeDifference[]> {
    const files = lake.flatMap((d) => d.files.map((f) => [f, d.day] as const));
    await this.con.run(`CREATE OR REPLACE TABLE lake_files (path VARCHAR, order_day BIGINT)`);
    await this.insert(
      'lake_files',
      files.map(([f, d]) => `(${q(f)}, ${d})`),
    );
    const cols = LAKE_COLUMNS.map(([c]) => c);
    const rows = files.length
      ? `SELECT f.order_day, ${cols.map((c) => `l.${c}`).join(', ')} FROM read_parquet([${files
          .map(([f]) => q(f))
          .join(',')}], filename = true) l JOIN lake_files f ON f.path = l.filename`
      : `SELECT * FROM joined WHERE false`;
    await this.con.run(`CREATE OR REPLACE TABLE lake_rows AS ${rows}`);
    const list = `order_day, ${cols.join(', ')}`;
    const diff = (
      await this.con.runAndReadAll(`
      WITH d AS (
        SELECT ${list} FROM (SELECT ${list} FROM joined EXCEPT ALL SELECT ${list} FROM lake_rows)
        UNION ALL SELECT ${list} FROM (SELECT ${list} FROM lake_rows EXCEPT ALL SELECT ${list} FROM joined)
      )
      SELECT order_day, list(DISTINCT item_id ORDER BY item_id)[1:10] AS items FROM d GROUP BY order_day ORDER BY order_day`)
    ).getRowObjectsJS();
    if (!diff.length) return [];
    const stored = new Map(
      (await this.con.runAndReadAll(`SELECT order_day, count(*) AS n FROM lake_rows GROUP BY order_day`))
        .getRowObjectsJS()
        .map((r) => [Number(r.order_day), Number(r.n)]),
    );
    const expected = await this.itemsPerDay();
    return diff.map((r) => {
      const day = Number(r.order_day);
      return {
        day,
        stored: stored.get(day) ?? 0,
        expected: expected.get(day) ?? 0,
        items: (r.items as unknown[]).map(String),
      };
    });
  }

  /** A query's rows, a chunk (about 2,048 rows) at a time, as JS values: nothing held but the chunk. */
  async *rows(sql: string): AsyncGenerator<unknown[][]> {
    const result = await this.con.stream(sql);
    for await (const chunk of result.yieldRowsJs()) yield chunk;
  }

  /**
   * A new table filled row by row from JavaScript. The appender has a connection of its own, so a
   * stream open on the engine's (rows()) stays valid while it appends. Close it before querying.
   */
  async appendTo(table: string, columns: string): Promise<{ appender: DuckDBAppender; close(): void }> {
    await this.con.run(`CREATE TABLE ${table} (${columns})`);
    const con = await this.db.connect();
    const appender = await con.createAppender(table);
    return {
      appender,
      close() {
        appender.closeSync();
        con.closeSync();
      },
    };
  }

  /** One number from a query (a count). */
  async scalar(sql: string): Promise<number> {
    return Number((await this.con.runAndReadAll(sql)).getRows()[0]?.[0] ?? 0);
  }

  private async insert(table: string, rows: string[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 1000)
      await this.con.run(`INSERT INTO ${table} VALUES ${rows.slice(i, i + 1000).join(',')}`);
  }

  close(): void {
    this.con.closeSync();
    this.db.closeSync();
    rmSync(this.spill, { recursive: true, force: true });
  }
}

/** A relation over an entity's local zone files, with each file's number as `version` (typed, and
 * empty when there are none). */
function source(e: Entity, files: string[]): string {
  const cols = VALIDATED_COLUMNS[e].filter(([c]) => c !== 'version_rank');
  if (!files.length)
    return `SELECT ${cols.map(([c, t]) => `CAST(NULL AS ${SQL_TYPE[t]}) AS ${c}`).join(', ')}, CAST(NULL AS BIGINT) AS version WHERE false`;
  return `SELECT ${cols.map(([c]) => `z.${c}`).join(', ')}, f.version FROM read_parquet([${files
    .map(q)
    .join(',')}], filename = true) z JOIN zone_files f ON f.path = z.filename`;
}
