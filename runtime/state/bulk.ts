// The bulk path of the transform: when the pending files are at least as large as everything
// already applied (a first load, a backfill, kpi rebuild), the whole history is recomputed instead
// of looked up key by key. It runs on the history engine (runtime/history: DuckDB over the
// validated zone, spilling to disk past its memory limit), so its memory does not grow with the
// history: the lake files and the state's records are produced from the engine's sorted output,
// streamed. The result is the state the incremental path would reach: every winning record in one
// new index run, the lake equal to the joined items, the KPI tables replaced after the commit.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { laps } from '../core/laps';
import type { KpiTables } from '../core/aggregate/kpis';
import { fieldsAtLines, readFileChunks } from '../core/parse/csv';
import { civilFromDays } from '../core/parse/timestamp';
import type { Reason } from '../core/parse/rules';
import type { JoinedRow } from '../core/join/join';
import type { ItemVersion } from '../core/parse/versions';
import { parseArchive, versionOrder, type ArchivedVersion } from '../core/layout';
import { ENTITIES, type Entity } from '../core/names';
import type { Bucket } from '../aws/s3store';
import { HistoryEngine, textOf, textSql, type EngineOptions } from '../history/duckdb';
import { fetchZone } from '../history/zone';
import { cmp, type Rec, type RunWriter } from './runfile';
import { daysFromRows, writeLake } from './lake';
import { emptyState, type StateBody } from './incremental';
import { dayRecordsOf, fKey, hqKey, iKey, itemVal, oKey, orderVal, pKey } from './records';
import { rankOf } from './rank';
import { ValueFile, valueReader } from './spill';

export interface BulkOutcome {
  times: Record<string, number>;
  /** every record of the new state, in key order (streamed, or written by the caller's RunWriter) */
  records: AsyncIterable<Rec> | ((w: RunWriter) => Iterable<void>);
  body: StateBody;
  res: KpiTables;
  changedDates: string[];
  lakeWritten: number;
  /** superseded lake files, deleted after the commit */
  garbage: string[];
  /** how many records at most (sizes the run's Bloom filter up front, instead of keeping every key's hash) */
  expectedKeys?: number;
  /** the engine and its files: call once the records are written */
  close(): void;
}

/** More files became pending while a bulk run computed: it is cheaper to start again with them. */
export class BulkSuperseded extends Error {}

const byKey = (a: Rec, b: Rec) => cmp(a.key, b.key);

/**
 * `superseded` is asked once the engine has the history, before anything is written, and again
 * after the lake files: true makes the run throw BulkSuperseded (a load still arriving is
 * recomputed once at its end, not once per file).
 */
export async function bulkOnEngine(
  bucket: Bucket,
  versions: ArchivedVersion[],
  superseded: (() => Promise<boolean>) | undefined,
  rewriteLake: boolean,
  engineOpts: EngineOptions,
): Promise<BulkOutcome> {
  const { times, lap } = laps();
  const sorted = [...versions].sort(versionOrder);
  const dir = mkdtempSync(path.join(engineOpts.tempDir ?? os.tmpdir(), 'kpi-bulk-'));
  let engine: HistoryEngine | null = null;
  const close = () => {
    engine?.close();
    engine = null;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { files, meta } = await fetchZone(bucket, sorted, dir);
    lap('zone');
    const e = (engine = await HistoryEngine.open(files, { ...engineOpts, tempDir: dir }));
    lap('sql');
    if (superseded && (await superseded())) throw new BulkSuperseded('more files are pending');
    const res = await e.kpis();
    const lake = await writeLake(bucket, daysFromRows(lakeDays(e)), { deferDeletes: true, rewrite: rewriteLake });
    lap('lake');
    if (superseded && (await superseded())) throw new BulkSuperseded('more files are pending');
    const byEntity = Object.fromEntries(ENTITIES.map((x) => [x, sorted.filter((v) => v.entity === x)])) as Record<
      Entity,
      ArchivedVersion[]
    >;
    const ranks = Object.fromEntries(
      ENTITIES.map((x) => [x, byEntity[x].map((v) => rankOf(parseArchive(v.key)!))]),
    ) as Record<Entity, string[]>;
    const held = await heldRecords(e, bucket, byEntity.order_items, ranks.order_items, dir);
    lap('held');
    const rejected: Partial<Record<Reason, number>> = {};
    for (const m of meta)
      for (const [r, n] of Object.entries(m.rejected) as [Reason, number][]) rejected[r] = (rejected[r] ?? 0) + n;
    const body: StateBody = {
      ...emptyState(),
      files: sorted.length,
      bytes: sorted.reduce((n, v) => n + v.size, 0),
      rows: meta.reduce((n, m) => n + m.rows, 0),
      rejected,
      held: held.count,
      joined: lake.dayFiles.reduce((n, d) => n + d.n, 0),
      revenueCents: lake.dayFiles.reduce((n, d) => n + d.cents, 0),
      latestDate: lake.dayFiles.at(-1)?.date ?? null,
    };
    const small = [
      ...dayRecordsOf(lake.dayFiles, res),
      ...sorted.map((v) => ({ key: fKey(v.key), rank: '', val: '1' })).sort(byKey),
    ];
    const expectedKeys =
      small.length +
      held.count +
      (await e.scalar('SELECT (SELECT count(*) FROM i) + (SELECT count(*) FROM o) + (SELECT count(*) FROM p)'));
    return {
      times,
      records: records(e, small, held.odd, held.values, ranks),
      expectedKeys,
      body,
      res,
      changedDates: lake.changedDates,
      lakeWritten: lake.written,
      garbage: lake.garbage,
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}

/** The joined items one day at a time, in day order (the engine sorts, spilling if it must). */
async function* lakeDays(e: HistoryEngine): AsyncGenerator<{ date: string; rows: JoinedRow[] }> {
  let day = -Infinity;
  let rows: JoinedRow[] = [];
  const t = ['item_id', 'order_id', 'user_id', 'product_id', 'category'].map(textSql).join(', ');
  const sql = `SELECT order_day, ${t}, sale_price_cents, returned, order_returned FROM joined ORDER BY order_day`;
  for await (const chunk of e.rows(sql))
    for (const r of chunk) {
      const d = Number(r[0]);
      if (d !== day && rows.length) {
        yield { date: civilFromDays(day), rows };
        rows = [];
      }
      day = d;
      rows.push({
        item_id: textOf(r[1]),
        order_id: textOf(r[2]),
        user_id: textOf(r[3]),
        product_id: textOf(r[4]),
        category: textOf(r[5]),
        sale_price_cents: Number(r[6]),
        returned: r[7] === true,
        order_returned: r[8] === true,
      });
    }
  if (rows.length) yield { date: civilFromDays(day), rows };
}

/**
 * Item versions whose order or product does not exist, and whether the order does. LEFT JOINs,
 * not IN (SELECT …) in the projection and an OR: DuckDB runs those as mark joins, which do not
 * spill (at 20M items this query ran out of 488 MiB; at 1M, of 100 MiB).
 */
export const HELD_SQL = `SELECT ${['v.item_id', 'v.order_id', 'v.product_id'].map(textSql).join(', ')},
    v.sale_price_cents, v.item_status, v.version, v.line, oo.order_id IS NOT NULL AS has_order
  FROM v_items v
    LEFT JOIN (SELECT order_id FROM o) oo ON oo.order_id = v.order_id
    LEFT JOIN (SELECT product_id FROM p) pp ON pp.product_id = v.product_id
  WHERE oo.order_id IS NULL OR pp.product_id IS NULL`;

/**
 * Keys whose JS order (UTF-16 code units) may differ from their UTF-8 byte order, the order of a
 * DuckDB BLOB: those holding a surrogate (astral) or U+E000..U+FFFF character. Few; sorted in JS.
 */
const BYTE_ORDER_DIFFERS = /[\uD800-\uFFFF]/;

/**
 * Every item version whose order or product does not exist, as the records that hold it until they
 * come: what it waits for, and the row err/unmatched/ will report (read again from its archived
 * file by line; the zone keeps values, not rows). The records go into the engine's `held` table
 * (key as UTF-8 bytes, so DuckDB sorts them, spilling if it must), one archived file at a time:
 * nothing here grows with the history but the few keys whose byte order differs (`odd`).
 */
async function heldRecords(
  e: HistoryEngine,
  bucket: Bucket,
  files: ArchivedVersion[],
  ranks: string[],
  dir: string,
): Promise<{ count: number; odd: Rec[]; values: string }> {
  const table = await e.appendTo('held', 'key BLOB, version INTEGER, val_at BIGINT, val_len INTEGER');
  const vals = new ValueFile(path.join(dir, 'held-values'));
  const odd: Rec[] = [];
  let count = 0;
  const fileDone = async (version: number, mine: Waiting[]) => {
    const file = files[version]!;
    const rank = ranks[version]!;
    const local = path.join(dir, `held-${version}.csv`);
    if (!(await bucket.download(file.key, local)))
      throw new Error(`${file.key} disappeared while the bulk run read it`);
    // Only the held rows' fields: reading the whole file's rows as strings grew with the history.
    const v = await fieldsAtLines((reuse) => readFileChunks(local, reuse), new Set(mine.map((w) => w.line)));
    rmSync(local, { force: true });
    for (const w of mine) {
      const key = hqKey(w.waits, w.waits === 'o' ? w.order : w.product, w.id, rank);
      const val = JSON.stringify({
        rank,
        order: w.order,
        product: w.product,
        cents: w.cents,
        status: w.status,
        item: w.id,
        file: file.key,
        line: w.line,
        header: v.header,
        fields: v.rows.get(w.line) ?? [],
      });
      count++;
      if (BYTE_ORDER_DIFFERS.test(key)) odd.push({ key, rank, val });
      else {
        table.appender.appendBlob(Buffer.from(key, 'utf8'));
        table.appender.appendInteger(version);
        const [at, len] = vals.add(val);
        table.appender.appendBigInt(BigInt(at));
        table.appender.appendInteger(len);
        table.appender.endRow();
      }
    }
  };
  try {
    let version = -1;
    let mine: Waiting[] = [];
    for await (const chunk of e.rows(`${HELD_SQL} ORDER BY v.version, v.line`))
      for (const r of chunk) {
        const at = Number(r[5]);
        if (at !== version && mine.length) {
          await fileDone(version, mine);
          mine = [];
        }
        version = at;
        mine.push(waitingOf(r));
      }
    if (mine.length) await fileDone(version, mine);
  } finally {
    table.close();
    vals.close();
  }
  return { count, odd: odd.sort(byKey), values: vals.file };
}

/** An item version whose order (o) or product (p) does not exist. */
type Waiting = Omit<ItemVersion, 'fields'> & { waits: 'o' | 'p' };

/** One row of HELD_SQL (ordered by version, line) as the item that waits. */
function waitingOf(r: unknown[]): Waiting {
  return {
    id: textOf(r[0]),
    order: textOf(r[1]),
    product: textOf(r[2]),
    cents: Number(r[3]),
    status: Number(r[4]),
    line: Number(r[6]),
    waits: r[7] === true ? 'p' : 'o',
  };
}

/** A kind's winners: ASCII ids (no NUL) come sorted from the engine; the rest are sorted here. */
const ASCII = (col: string) => `regexp_full_match(${col}, '[\\x01-\\x7F]*')`;

/** A sorted stream of rows as records, with `odd` (sorted in JS order) merged in. */
async function* merged(rows: AsyncIterable<unknown[][]>, rec: (r: unknown[]) => Rec, odd: Rec[]): AsyncGenerator<Rec> {
  let k = 0;
  for await (const chunk of rows)
    for (const r of chunk) {
      const next = rec(r);
      while (k < odd.length && cmp(odd[k]!.key, next.key) < 0) yield odd[k++]!;
      yield next;
    }
  while (k < odd.length) yield odd[k++]!;
}

/** The state's records in key order: the small kinds (d, f), the held items (hq), then i, o and p streamed. */
async function* records(
  e: HistoryEngine,
  small: Rec[],
  heldOdd: Rec[],
  heldValues: string,
  ranks: Record<Entity, string[]>,
): AsyncGenerator<Rec> {
  yield* small;
  const utf8 = new TextDecoder();
  const vals = valueReader(heldValues);
  try {
    yield* merged(
      e.rows('SELECT key, version, val_at, val_len FROM held ORDER BY key'),
      (r) => ({
        key: utf8.decode(r[0] as Uint8Array),
        rank: ranks.order_items[Number(r[1])]!,
        val: vals.read(Number(r[2]), Number(r[3])),
      }),
      heldOdd,
    );
  } finally {
    vals.close();
  }
  const kinds: [string, string, (r: unknown[]) => Rec][] = [
    [
      'item_id',
      `SELECT ${textSql('item_id')}, ${textSql('order_id')}, ${textSql('product_id')}, sale_price_cents, item_status,
        version FROM i`,
      (r) => ({
        key: iKey(textOf(r[0])),
        rank: ranks.order_items[Number(r[5])]!,
        val: itemVal(textOf(r[1]), textOf(r[2]), Number(r[3]), Number(r[4])),
      }),
    ],
    [
      'order_id',
      `SELECT ${textSql('order_id')}, order_day, ${textSql('user_id')}, order_returned, version FROM o`,
      (r) => ({
        key: oKey(textOf(r[0])),
        rank: ranks.orders[Number(r[4])]!,
        val: orderVal(Number(r[1]), textOf(r[2]), r[3] === true),
      }),
    ],
    [
      'product_id',
      `SELECT ${textSql('product_id')}, ${textSql('category')}, version FROM p`,
      (r) => ({ key: pKey(textOf(r[0])), rank: ranks.products[Number(r[2])]!, val: JSON.stringify(textOf(r[1])) }),
    ],
  ];
  for (const [id, select, rec] of kinds) {
    // ids that are not plain ASCII are few: sorted here, then merged into the engine's sorted stream
    const odd: Rec[] = [];
    for await (const chunk of e.rows(`${select} WHERE NOT ${ASCII(id)}`)) for (const r of chunk) odd.push(rec(r));
    yield* merged(e.rows(`${select} WHERE ${ASCII(id)} ORDER BY strlen(${id}), ${id}`), rec, odd.sort(byKey));
  }
}
