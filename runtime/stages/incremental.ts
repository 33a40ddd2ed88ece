// The incremental transform's core step: a batch of newly archived files applied to the state.
//
// The state is a map of records in the state index (aws/keyindex.ts):
//   o|order_id   → the winning order version (its rank; day, user, returned)
//   p|product_id → the winning product version (rank; category)
//   i|item_id    → the winning *joinable* item version (rank; order, product, cents, status)
//   hq|o or p|id|item|rank → an item version waiting for its order (o) or product (p)
//   d|date       → that day's lake file, row count, revenue, products and KPI rows
//   f|archive key → the file is applied (a redo after a crash skips it)
// A version wins when its rank (upload time, then landing key: SPEC's version order) is the
// highest; an item version counts only once its order and product exist, exactly as a full
// recompute over every archived file would decide. The cost of a batch is its rows, the look-ups of
// their keys, and the days whose joined items change — never the whole history.
import { SourceFailed } from '../core/compute';
import { cmp, key, prefix, type Rec } from '../core/runfile';
import * as versions from '../core/versions';
import { type ItemVersion, type OrderVersion, type ProductVersion } from '../core/versions';
import { ITEM_STATUS_NONE, ITEM_STATUS_RETURNED } from '../core/join';
import { dayKpis, type DayKpis } from '../core/daykpis';
import { decodeLakeFile, encodeLakeFile } from '../core/parquet';
import { civilFromDays } from '../core/timestamp';
import type { JoinedRow, RejectedRow } from '../core/join';
import type { Entity } from '../core/names';
import type { Reason } from '../core/rules';
import { canonical, lakeFileName, partitionPrefix } from './lake';
import { laps } from '../core/laps';
import type { KeyIndex, RunRef } from '../aws/keyindex';
import type { Bucket } from '../aws/s3store';

export interface StateBody {
  runs: RunRef[];
  files: number;
  /** archive bytes applied: the bulk path is taken when the pending bytes are at least this */
  bytes: number;
  rows: number;
  rejected: Partial<Record<Reason, number>>;
  held: number;
  joined: number;
  revenueCents: number;
  /** the newest order day with joined items (the dashboard's "latest day" metrics) */
  latestDate: string | null;
  /** when held items were last checked against the hold time (ms) */
  expiredAt?: number;
  /** when unreferenced objects were last collected (ms; garbage.ts) */
  collectedAt?: number;
  /** state/commits/<id>.json: what is left to do after the last commit (KPI rows, lake clean-up) */
  post: string | null;
}

export const emptyState = (): StateBody => ({ runs: [], files: 0, bytes: 0, rows: 0, rejected: {}, held: 0, joined: 0, revenueCents: 0, latestDate: null, post: null });

export interface BatchFile {
  key: string;
  size: number;
  entity: Entity;
  /** 13-digit upload millis + NUL + landing key: string order is SPEC's version order */
  rank: string;
  open: (reuse?: boolean) => AsyncIterable<Uint8Array>;
}

interface OrderRec {
  rank: string;
  day: number;
  user: string;
  ret: boolean;
}
interface ProductRec {
  rank: string;
  cat: string;
}
interface ItemRec {
  rank: string;
  order: string;
  product: string;
  cents: number;
  status: number;
}
interface HeldRec extends ItemRec {
  item: string;
  file: string;
  line: number;
  header: string[];
  fields: string[];
}
export interface DayRec {
  file: string;
  n: number;
  cents: number;
  products: string[];
  kpis: DayKpis;
}

/** What a commit leaves to do once it is the state: idempotent, redone by the next run after a crash. */
export interface Post {
  /**
   * per changed day: its KPI rows now (null: the day has none), the categories it had before, and
   * the day's other lake files to delete (its old file, and any a killed run left), listed under
   * the lease before the commit: the clean-up deletes exactly these, never a later run's file
   */
  days: { date: string; file: string; kpis: DayKpis | null; hadCategories: string[]; delete?: string[] }[];
  /** pending markers of the applied files */
  markers: string[];
  /** a bulk commit: the KPI tables are replaced from the day records, these objects deleted */
  full?: boolean;
  garbage?: string[];
}

export interface BatchOutcome {
  times: Record<string, number>;
  recs: Rec[];
  body: StateBody;
  post: Post;
  changedDates: string[];
  lakeWritten: number;
  skippedFiles: number;
  lookups: number;
}

// The state index's keys and values, written by this path and by the bulk path alike.
export const oKey = (id: string) => key('o', id);
export const pKey = (id: string) => key('p', id);
export const iKey = (id: string) => key('i', id);
export const dKey = (date: string) => key('d', date);
export const fKey = (archiveKey: string) => key('f', archiveKey);
export const hqKey = (waitsFor: 'o' | 'p', id: string, item: string, rank: string) => key('hq', waitsFor, id, item, rank);

/** Text JSON.stringify leaves as it is between quotes (no quote, backslash, control character or
 * surrogate): the millions of id records of a bulk run are then built without a stringify call. */
function plain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}
/** An order record's value: [day, user, returned]. */
export const orderVal = (day: number, user: string, ret: boolean) => (plain(user) ? `[${day},"${user}",${ret ? 1 : 0}]` : JSON.stringify([day, user, ret ? 1 : 0]));
/** An item record's value: [order, product, cents, status]. */
export const itemVal = (order: string, product: string, cents: number, status: number) =>
  plain(order) && plain(product) ? `["${order}","${product}",${cents},${status}]` : JSON.stringify([order, product, cents, status]);

const decodeOrder = (r: Rec): OrderRec => {
  const [day, user, ret] = JSON.parse(r.val!) as [number, string, number];
  return { rank: r.rank, day, user, ret: ret === 1 };
};
const decodeProduct = (r: Rec): ProductRec => ({ rank: r.rank, cat: JSON.parse(r.val!) as string });
const decodeItem = (r: Rec): ItemRec => {
  const [order, product, cents, status] = JSON.parse(r.val!) as [string, string, number, number];
  return { rank: r.rank, order, product, cents, status };
};
const decodeHeld = (r: Rec): HeldRec => JSON.parse(r.val!) as HeldRec;

const itemRow = (item: string, v: Omit<ItemRec, 'rank'>, o: OrderRec, category: string): JoinedRow => ({
  item_id: item,
  order_id: v.order,
  user_id: o.user,
  product_id: v.product,
  category,
  sale_price_cents: v.cents,
  returned: v.status === ITEM_STATUS_RETURNED || (v.status === ITEM_STATUS_NONE && o.ret),
  order_returned: o.ret,
});

/** Held versions as the rows err/unmatched/ reports. */
export function heldRows(recs: Rec[]): RejectedRow[] {
  return recs.map((r) => {
    const h = decodeHeld(r);
    const waits = r.key.startsWith(prefix('hq', 'o')) ? 'unknown_order' : 'unknown_product';
    return { entity: 'order_items', file: h.file, line: h.line, reason: waits, header: h.header, fields: h.fields };
  });
}

export async function applyBatch(bucket: Bucket, ix: KeyIndex, state: StateBody, files: BatchFile[]): Promise<BatchOutcome> {
  const body: StateBody = { ...state, rejected: { ...state.rejected } };
  // Milliseconds per step, for the logs (where a batch's time goes).
  const { times, lap } = laps();
  const recs = new Map<string, Rec>();
  const put = (k: string, rank: string, val: string | null) => recs.set(k, { key: k, rank, val });
  let lookups = 0;
  const get = async (keys: Iterable<string>) => {
    const ks = [...keys];
    lookups += ks.length;
    return ix.get(ks);
  };

  // 1. The batch's valid versions, files in version order (a later file's version of a key wins).
  const applied = await get(files.map((f) => fKey(f.key)));
  const todo = files.filter((f) => !applied.has(fKey(f.key))).sort((a, b) => cmp(a.rank, b.rank));
  const O = new Map<string, OrderVersion & { rank: string }>();
  const P = new Map<string, ProductVersion & { rank: string }>();
  const I = new Map<string, (ItemVersion & { rank: string; file: string; header: string[] })[]>();
  for (const f of todo) {
    let v: versions.FileVersions;
    try {
      v = await (0, versions.readVersions)(f.entity, f.key, f.open);
    } catch (err) {
      throw new SourceFailed(f.key, err);
    }
    body.files++;
    body.bytes += f.size;
    body.rows += v.rows;
    for (const [r, n] of Object.entries(v.rejected)) body.rejected[r as Reason] = (body.rejected[r as Reason] ?? 0) + (n ?? 0);
    for (const o of v.orders) O.set(o.id, { ...o, rank: f.rank });
    for (const p of v.products) P.set(p.id, { ...p, rank: f.rank });
    for (const it of v.items) (I.get(it.id) ?? I.set(it.id, []).get(it.id)!).push({ ...it, rank: f.rank, file: f.key, header: v.header });
    put(fKey(f.key), '', '1');
  }

  lap('read');
  // 2. Orders and products: the state's records of the batch's keys.
  const got = await get([...[...O.keys()].map(oKey), ...[...P.keys()].map(pKey), ...[...I.keys()].map(iKey)]);
  const oldOrders = new Map<string, OrderRec | null>();
  const oldProducts = new Map<string, ProductRec | null>();
  const noteOrder = (id: string, r: Rec | undefined) => oldOrders.set(id, r ? decodeOrder(r) : null);
  const noteProduct = (id: string, r: Rec | undefined) => oldProducts.set(id, r ? decodeProduct(r) : null);
  for (const id of O.keys()) noteOrder(id, got.get(oKey(id)));
  for (const id of P.keys()) noteProduct(id, got.get(pKey(id)));
  const newOrders = new Map<string, OrderRec>();
  const newProducts = new Map<string, ProductRec>();
  const movedOrders = new Set<string>(); // existed, and its day, customer or status changed
  const recategorized = new Set<string>(); // existed, and its category changed
  const arrivedOrders: string[] = [];
  const arrivedProducts: string[] = [];
  for (const [id, v] of O) {
    const old = oldOrders.get(id)!;
    if (old && old.rank >= v.rank) continue;
    newOrders.set(id, { rank: v.rank, day: v.day, user: v.user, ret: v.ret });
    put(oKey(id), v.rank, orderVal(v.day, v.user, v.ret));
    if (!old) arrivedOrders.push(id);
    else if (old.day !== v.day || old.user !== v.user || old.ret !== v.ret) movedOrders.add(id);
  }
  for (const [id, v] of P) {
    const old = oldProducts.get(id)!;
    if (old && old.rank >= v.rank) continue;
    newProducts.set(id, { rank: v.rank, cat: v.cat });
    put(pKey(id), v.rank, JSON.stringify(v.cat));
    if (!old) arrivedProducts.push(id);
    else if (old.cat !== v.cat) recategorized.add(id);
  }

  lap('lookup');
  // 3. Items waiting for an order or product that has just arrived.
  const released: Rec[] = [];
  if (state.held > 0) {
    for (const id of arrivedOrders) released.push(...(await ix.scan(prefix('hq', 'o', id))));
    for (const id of arrivedProducts) released.push(...(await ix.scan(prefix('hq', 'p', id))));
  }
  const releasedByItem = new Map<string, { rec: Rec; h: HeldRec }[]>();
  for (const rec of released) {
    const h = decodeHeld(rec);
    (releasedByItem.get(h.item) ?? releasedByItem.set(h.item, []).get(h.item)!).push({ rec, h });
  }

  lap('release');
  // 4. Every order and product the item versions (new, released, and current winners) refer to.
  const oldItems = new Map<string, ItemRec | null>();
  for (const id of I.keys()) oldItems.set(id, got.has(iKey(id)) ? decodeItem(got.get(iKey(id))!) : null);
  const more = await get([...releasedByItem.keys()].filter((id) => !oldItems.has(id)).map(iKey));
  for (const id of releasedByItem.keys()) if (!oldItems.has(id)) oldItems.set(id, more.has(iKey(id)) ? decodeItem(more.get(iKey(id))!) : null);
  const needO = new Set<string>();
  const needP = new Set<string>();
  const wantO = (id: string) => !oldOrders.has(id) && needO.add(id);
  const wantP = (id: string) => !oldProducts.has(id) && needP.add(id);
  for (const vs of I.values())
    for (const v of vs) {
      wantO(v.order);
      wantP(v.product);
    }
  for (const rs of releasedByItem.values())
    for (const { h } of rs) {
      wantO(h.order);
      wantP(h.product);
    }
  for (const old of oldItems.values()) if (old) wantO(old.order);
  const got2 = await get([...[...needO].map(oKey), ...[...needP].map(pKey)]);
  for (const id of needO) noteOrder(id, got2.get(oKey(id)));
  for (const id of needP) noteProduct(id, got2.get(pKey(id)));
  const orderNow = (id: string) => newOrders.get(id) ?? oldOrders.get(id) ?? null;
  const productNow = (id: string) => newProducts.get(id) ?? oldProducts.get(id) ?? null;

  lap('refs');
  // 5. Each touched item's winner: the highest-ranked version whose order and product exist.
  const changedItems = new Map<string, { old: ItemRec | null; now: ItemRec }>();
  const heldPuts: { k: string; h: HeldRec }[] = [];
  for (const id of new Set([...I.keys(), ...releasedByItem.keys()])) {
    const old = oldItems.get(id) ?? null;
    let best: ItemRec | null = old;
    const consider = (v: ItemRec) => {
      if (!best || v.rank > best.rank) best = v;
    };
    for (const v of I.get(id) ?? []) {
      const iv: ItemRec = { rank: v.rank, order: v.order, product: v.product, cents: v.cents, status: v.status };
      if (orderNow(v.order) && productNow(v.product)) consider(iv);
      else {
        const waits = orderNow(v.order) ? 'p' : 'o';
        heldPuts.push({ k: hqKey(waits, waits === 'o' ? v.order : v.product, id, v.rank), h: { ...iv, item: id, file: v.file, line: v.line, header: v.header, fields: v.fields } });
      }
    }
    for (const { rec, h } of releasedByItem.get(id) ?? []) {
      if (!orderNow(h.order)) continue; // still waiting for the same order
      if (productNow(h.product)) {
        put(rec.key, '', null);
        body.held--;
        consider({ rank: h.rank, order: h.order, product: h.product, cents: h.cents, status: h.status });
      } else if (rec.key.startsWith(prefix('hq', 'o'))) {
        // its order came, its product has not: it now waits for the product
        put(rec.key, '', null);
        heldPuts.push({ k: hqKey('p', h.product, id, h.rank), h });
        body.held--;
      }
    }
    if (best && best !== old) {
      const b: ItemRec = best;
      changedItems.set(id, { old, now: b });
      put(iKey(id), b.rank, itemVal(b.order, b.product, b.cents, b.status));
    }
  }
  // A held version already stored (a replayed batch) is not counted twice.
  const heldThere = await get(heldPuts.map((x) => x.k));
  for (const { k, h } of heldPuts) {
    if (!heldThere.has(k) && !recs.has(k)) body.held++;
    put(k, h.rank, JSON.stringify(h));
  }

  lap('winners');
  // 6. The days whose joined items change.
  const dateOf = (day: number) => civilFromDays(day);
  const affected = new Set<string>();
  for (const { old, now } of changedItems.values()) {
    if (old) {
      const o = oldOrders.get(old.order);
      if (o) affected.add(dateOf(o.day));
    }
    affected.add(dateOf(orderNow(now.order)!.day));
  }
  for (const id of movedOrders) {
    affected.add(dateOf(oldOrders.get(id)!.day));
    affected.add(dateOf(newOrders.get(id)!.day));
  }
  if (recategorized.size) {
    // Rare (a product's category changed): which days hold its items is in each day's record.
    for (const date of await daysHolding(ix, recategorized)) affected.add(date);
  }
  const dates = [...affected].sort();
  const dayRecs = await get(dates.map(dKey));
  const oldDay = new Map<string, DayRec | null>(dates.map((d) => [d, dayRecs.has(dKey(d)) ? (JSON.parse(dayRecs.get(dKey(d))!.val!) as DayRec) : null]));
  const readDay = async (date: string) => {
    const d = oldDay.get(date);
    return d ? decodeLakeFile(await bucket.readBytes(d.file)) : [];
  };

  // 7. Rows in: the changed items, and the items of orders that moved day (read from their old
  // days first, a few days at a time). Rows out are dropped as each day is rewritten (8).
  const incoming = new Map<string, JoinedRow[]>();
  const add = (row: JoinedRow, day: number) => {
    const date = dateOf(day);
    if (!affected.has(date)) throw new Error(`internal: day ${date} not affected`);
    (incoming.get(date) ?? incoming.set(date, []).get(date)!).push(row);
  };
  for (const [id, { now }] of changedItems) {
    const o = orderNow(now.order)!;
    add(itemRow(id, now, o, productNow(now.product)!.cat), o.day);
  }
  if (movedOrders.size) {
    const refresh: JoinedRow[] = [];
    const from = [...new Set([...movedOrders].map((id) => dateOf(oldOrders.get(id)!.day)))].sort();
    for (const group of groupsOf(from, DAYS_AT_ONCE)) {
      for (const rows of await Promise.all(group.map(readDay))) {
        for (const r of rows) if (movedOrders.has(r.order_id) && !changedItems.has(r.item_id)) refresh.push(r);
      }
    }
    // Items of a moved order keep their own fields; their status decides `returned` with the order's.
    const its = await get(refresh.map((r) => iKey(r.item_id)));
    for (const r of refresh) {
      const it = decodeItem(its.get(iKey(r.item_id))!);
      const o = orderNow(r.order_id)!;
      add(itemRow(r.item_id, it, o, productNow(r.product_id)?.cat ?? r.category), o.day);
    }
  }

  lap('rows');
  // 8. Each changed day, a few at a time (memory: those days' rows, whatever the history): its
  // rows now, its new lake file (put before the commit; named by content) and record.
  const post: Post = { days: [], markers: [] };
  const changedDates: string[] = [];
  let lakeWritten = 0;
  const rewrite = async (date: string) => {
    const kept: JoinedRow[] = [];
    for (const r of await readDay(date)) {
      if (changedItems.has(r.item_id) || movedOrders.has(r.order_id)) continue;
      if (recategorized.has(r.product_id)) r.category = productNow(r.product_id)!.cat;
      kept.push(r);
    }
    for (const r of incoming.get(date) ?? []) kept.push(r);
    incoming.delete(date);
    const rows = canonical(kept);
    const old = oldDay.get(date) ?? null;
    const bytes = rows.length ? await encodeLakeFile(rows) : null;
    const file = bytes ? lakeFileName(date, bytes) : '';
    if ((old?.file ?? '') === file) return;
    changedDates.push(date);
    let rec: DayRec | null = null;
    if (bytes) {
      await bucket.put(file, bytes, { contentType: 'application/vnd.apache.parquet' });
      lakeWritten++;
      const cents = rows.reduce((c, r) => c + r.sale_price_cents, 0);
      rec = { file, n: rows.length, cents, products: [...new Set(rows.map((r) => r.product_id))].sort(), kpis: dayKpis(date, rows) };
    }
    body.joined += (rec?.n ?? 0) - (old?.n ?? 0);
    body.revenueCents += (rec?.cents ?? 0) - (old?.cents ?? 0);
    put(dKey(date), '', rec ? JSON.stringify(rec) : null);
    const others = (await bucket.list(partitionPrefix(date))).map((o) => o.key).filter((k) => k !== file);
    post.days.push({ date, file, kpis: rec?.kpis ?? null, hadCategories: old?.kpis.categories.map((c) => c.category) ?? [], delete: others });
  };
  for (const group of groupsOf(dates, DAYS_AT_ONCE)) await Promise.all(group.map(rewrite));
  changedDates.sort();
  for (const d of post.days) if (d.kpis && (!body.latestDate || d.date > body.latestDate)) body.latestDate = d.date;
  if (body.latestDate && post.days.some((d) => d.date === body.latestDate && !d.kpis)) {
    // The newest day lost its last item (rare): the newest day that still has items.
    const left = (await dayRecords(ix)).map((d) => d.date).filter((d) => d !== body.latestDate && !post.days.some((x) => x.date === d && !x.kpis));
    for (const d of post.days) if (d.kpis) left.push(d.date);
    body.latestDate = left.sort().at(-1) ?? null;
  }
  post.days.sort((a, b) => (a.date < b.date ? -1 : 1));
  lap('write');
  return {
    times,
    recs: [...recs.values()].sort((a, b) => cmp(a.key, b.key)),
    body,
    post,
    changedDates,
    lakeWritten,
    skippedFiles: files.length - todo.length,
    lookups,
  };
}

/** Days rewritten at once: bounds a batch's memory when a change touches many days (a category). */
export const DAYS_AT_ONCE = 16;

function groupsOf<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** The days whose record lists one of these products (each record parsed, then dropped). */
async function daysHolding(ix: KeyIndex, products: Set<string>): Promise<string[]> {
  const out: string[] = [];
  for (const r of await ix.scan(prefix('d'))) {
    const rec = JSON.parse(r.val!) as DayRec;
    if (rec.products.some((p) => products.has(p))) out.push(r.key.slice(-10));
  }
  return out;
}

/** Every day record, in date order (the keys end with the date). */
export async function dayRecords(ix: KeyIndex): Promise<{ date: string; rec: DayRec }[]> {
  return (await ix.scan(prefix('d'))).map((r) => ({ date: r.key.slice(-10), rec: JSON.parse(r.val!) as DayRec }));
}

/** One day's record, or null when the day has no joined items. */
export async function dayRecord(ix: KeyIndex, date: string): Promise<DayRec | null> {
  const r = (await ix.get([dKey(date)])).get(dKey(date));
  return r ? (JSON.parse(r.val!) as DayRec) : null;
}
