// The curated zone (SPEC "Curated zone (the lake)"): curated/joined_items/order_date=D/part-<hash>.parquet
// holds exactly the joined items of day D. Each file is named by the SHA-256 of its bytes (which
// depend only on the day's rows: they are in item_id order and the encoding is deterministic), so
// a day whose rows did not change is not written again, and a run knows a day is current by its name.
import { createHash } from 'node:crypto';
import type { JoinedRow, Tables } from '../core/join/join';
import { CURATED_PREFIX } from '../core/names';
import { encodeLakeColumns, encodeLakeFile, lakeCodecReady } from '../core/formats/parquet';
import { civilFromDays } from '../core/parse/timestamp';
import type { Bucket } from '../aws/s3store';

/** Changed days encoded and uploaded at once. */
const IN_FLIGHT = 8;

export const partitionPrefix = (date: string) => `${CURATED_PREFIX}order_date=${date}/`;

/** The day of a curated key, or null for anything else under curated/joined_items/. */
export function parseLakeKey(key: string): { date: string; file: string } | null {
  const m = /^curated\/joined_items\/order_date=(\d{4}-\d{2}-\d{2})\/(part-[0-9a-f]{16}\.parquet)$/.exec(key);
  return m ? { date: m[1]!, file: m[2]! } : null;
}

/** Rows in item_id order: the file's content, and so its name, depend only on the day's items. */
export function canonical(rows: JoinedRow[]): JoinedRow[] {
  return [...rows].sort((a, b) => (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0));
}

/** A day's file name (under its partition) from the file's bytes. */
/** A day's lake files other than `keep`: what a commit of that day deletes. */
export async function otherDayFiles(bucket: Bucket, date: string, keep: string): Promise<string[]> {
  return (await bucket.list(partitionPrefix(date))).map((o) => o.key).filter((k) => k !== keep);
}

export const lakeFileName = (date: string, bytes: Uint8Array) =>
  `${partitionPrefix(date)}part-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.parquet`;

export interface LakeDay {
  date: string;
  file: string;
  n: number;
  cents: number;
  /** the day's product ids, sorted, as a JSON array (one string per day, not one per product:
   * a bulk run holds every day's until its records are written) */
  productsJson: string;
}

/** A day's lake file, encoded, and what the day's record keeps of it. */
export interface EncodedDay {
  date: string;
  bytes: Uint8Array;
  n: number;
  cents: number;
  /** the day's product ids, sorted, as a JSON array */
  productsJson: string;
}

/** Days from the join's typed columns (the in-memory bulk path): no row object, no string per row. */
export function* daysFromTables(tables: Tables): Generator<EncodedDay> {
  const dicts = tables.lakeDicts;
  const productIds = new Int32Array(tables.productKeys.size).fill(-1);
  let d = 0;
  for (const { day, cols } of tables.joinedDayColumns()) {
    d++;
    let cents = 0;
    const products: string[] = [];
    for (let i = 0; i < cols.item.length; i++) {
      cents += cols.cents[i]!;
      const p = cols.product[i]!;
      if (productIds[p] !== d) {
        productIds[p] = d;
        products.push(tables.productKeys.str(p));
      }
    }
    const bytes = encodeLakeColumns(cols, dicts);
    yield {
      date: civilFromDays(day),
      bytes,
      n: cols.item.length,
      cents,
      productsJson: JSON.stringify(products.sort()),
    };
  }
}

/** Days from rows (the engine's bulk path), each put in the lake's order first. */
export async function* daysFromRows(
  days: AsyncIterable<{ date: string; rows: JoinedRow[] }>,
): AsyncGenerator<EncodedDay> {
  for await (const { date, rows } of days) {
    const sorted = canonical(rows);
    let cents = 0;
    const products = new Set<string>();
    for (const r of sorted) {
      cents += r.sale_price_cents;
      products.add(r.product_id);
    }
    const bytes = await encodeLakeFile(sorted);
    yield { date, bytes, n: sorted.length, cents, productsJson: JSON.stringify([...products].sort()) };
  }
}

export interface LakeStats {
  days: number;
  written: number;
  deleted: number;
  changedDates: string[];
  /** every day with items: its file and what the state index keeps about it */
  dayFiles: LakeDay[];
  /** files superseded, left for the caller to delete (deferDeletes) */
  garbage: string[];
}

/**
 * Makes curated/ equal the days given (in day order): a day's new file is put before the old ones
 * are deleted (a reader never sees a day with no file while it changes), days that no longer have
 * items lose their files. Idempotent: a rerun with the same state writes nothing (`rewrite`: puts
 * every day's file again, for kpi rebuild, which must repair a file whose bytes no longer match its name).
 */
export async function writeLake(
  bucket: Bucket,
  days: Iterable<EncodedDay> | AsyncIterable<EncodedDay>,
  opts: { deferDeletes?: boolean; rewrite?: boolean } = {},
): Promise<LakeStats> {
  await lakeCodecReady();
  const existing = new Map<string, string[]>();
  for (const o of await bucket.list(CURATED_PREFIX)) {
    const p = parseLakeKey(o.key);
    const date = p?.date ?? /order_date=([^/]+)\//.exec(o.key)?.[1] ?? '';
    (existing.get(date) ?? existing.set(date, []).get(date)!).push(o.key);
  }
  const stats: LakeStats = { days: 0, written: 0, deleted: 0, changedDates: [], dayFiles: [], garbage: [] };
  const drop = async (key: string) => {
    if (opts.deferDeletes) stats.garbage.push(key);
    else await bucket.delete(key);
    stats.deleted++;
  };
  // Day by day: a day's columns are encoded, hashed, and put if the day's file changed; up to
  // IN_FLIGHT changed days are uploaded at once while the next ones are encoded (the uploads wait
  // on S3, the encoding on this thread), so memory stays two groups of days' files.
  let batch: { date: string; key: string; bytes: Uint8Array; have: string[] }[] = [];
  let uploading: Promise<void> = Promise.resolve();
  const flush = async () => {
    const group = batch;
    batch = [];
    await Promise.all(
      group.map(async ({ date, key, bytes, have }) => {
        if (!have.includes(key) || opts.rewrite) {
          await bucket.put(key, bytes, { contentType: 'application/vnd.apache.parquet' });
          stats.written++;
        }
        for (const old of have) if (old !== key) await drop(old);
        stats.changedDates.push(date);
      }),
    );
  };
  for await (const { date, bytes, n, cents, productsJson } of days) {
    stats.days++;
    const key = lakeFileName(date, bytes);
    stats.dayFiles.push({ date, file: key, n, cents, productsJson });
    const have = existing.get(date) ?? [];
    existing.delete(date);
    if (have.length === 1 && have[0] === key && !opts.rewrite) continue;
    batch.push({ date, key, bytes, have });
    if (batch.length >= IN_FLIGHT) {
      await uploading;
      uploading = flush();
      // awaited above or after the loop; until then a failure must not count as unhandled
      uploading.catch(() => undefined);
    }
  }
  await uploading;
  await flush();
  for (const [date, keys] of existing) {
    for (const k of keys) await drop(k);
    if (keys.length) stats.changedDates.push(date);
  }
  stats.changedDates.sort();
  return stats;
}
