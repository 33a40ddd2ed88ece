// The state's records: one module owns their format, for the incremental path (a record at a time,
// from strings) and the bulk path (millions of records from the join's typed columns, no string per
// record; the same bytes, held equal by test/state/records.test.ts). The state is a map in the state
// index (keyindex.ts) of:
//   o|order_id   → the winning order version (its rank; [day, user, returned])
//   p|product_id → the winning product version (rank; the category as JSON)
//   i|item_id    → the winning *joinable* item version (rank; [order, product, cents, status])
//   hq|o or p|id|item|rank → an item version waiting for its order (o) or product (p)
//   d|date       → that day's lake file, row count, revenue, products and KPI rows
//   f|archive key → the file is applied (a redo after a crash skips it)
// Keys sort as runfile.ts's key() encodes them; Interner.idsInKeyOrder yields ids in that order.
import type { DayKpis } from '../core/aggregate/daykpis';
import type { KpiTables } from '../core/aggregate/kpis';
import type { Interner } from '../core/join/intern';
import type { Tables } from '../core/join/join';
import type { Entity } from '../core/names';
import { key, type Rec, type RunWriter } from './runfile';

export interface OrderRec {
  rank: string;
  day: number;
  user: string;
  ret: boolean;
}
export interface ProductRec {
  rank: string;
  cat: string;
}
export interface ItemRec {
  rank: string;
  order: string;
  product: string;
  cents: number;
  status: number;
}
export interface HeldRec extends ItemRec {
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

// The state index's keys and values, written by this path and by the bulk path alike.
export const oKey = (id: string) => key('o', id);
export const pKey = (id: string) => key('p', id);
export const iKey = (id: string) => key('i', id);
export const dKey = (date: string) => key('d', date);
export const fKey = (archiveKey: string) => key('f', archiveKey);
export const hqKey = (waitsFor: 'o' | 'p', id: string, item: string, rank: string) =>
  key('hq', waitsFor, id, item, rank);

/** Text JSON.stringify leaves as it is between quotes (no quote, backslash, control character or
 * surrogate): the millions of id records of a bulk run are then built without a stringify call. */
function plain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}
/** A day's record value: JSON.stringify of its DayRec, the products already serialised. */
export const dayVal = (d: { file: string; n: number; cents: number; productsJson: string }, kpis: DayKpis) =>
  `{"file":${JSON.stringify(d.file)},"n":${JSON.stringify(d.n)},"cents":${JSON.stringify(d.cents)},` +
  `"products":${d.productsJson},"kpis":${JSON.stringify(kpis)}}`;

/** Both bulk paths' day records: each lake day with its KPI rows (categories in the tables' order). */
export function dayRecordsOf(
  days: readonly { date: string; file: string; n: number; cents: number; productsJson: string }[],
  kpis: KpiTables,
): Rec[] {
  const of = new Map<string, DayKpis>();
  for (const o of kpis.order_kpis) of.set(o.order_date, { order: o, categories: [] });
  for (const c of kpis.category_kpis) of.get(c.order_date)!.categories.push(c);
  return days.map((d) => ({ key: dKey(d.date), rank: '', val: dayVal(d, of.get(d.date)!) }));
}

/** An order record's value: [day, user, returned]. */
export const orderVal = (day: number, user: string, ret: boolean) =>
  plain(user) ? `[${day},"${user}",${ret ? 1 : 0}]` : JSON.stringify([day, user, ret ? 1 : 0]);
/** An item record's value: [order, product, cents, status]. */
export const itemVal = (order: string, product: string, cents: number, status: number) =>
  plain(order) && plain(product)
    ? `["${order}","${product}",${cents},${status}]`
    : JSON.stringify([order, product, cents, status]);

export const decodeOrder = (r: Rec): OrderRec => {
  const [day, user, ret] = JSON.parse(r.val!) as [number, string, number];
  return { rank: r.rank, day, user, ret: ret === 1 };
};
export const decodeProduct = (r: Rec): ProductRec => ({ rank: r.rank, cat: JSON.parse(r.val!) as string });
export const decodeItem = (r: Rec): ItemRec => {
  const [order, product, cents, status] = JSON.parse(r.val!) as [string, string, number, number];
  return { rank: r.rank, order, product, cents, status };
};
export const decodeHeld = (r: Rec): HeldRec => JSON.parse(r.val!) as HeldRec;

/** Records written between two yields (the caller lets its file drain and its timers run). */
const YIELD_EVERY = 50_000;
/** Bytes a record's fixed parts (brackets, quotes, commas, numbers) can take between two checks. */
const SLACK = 48;

class Scratch {
  buf = new Uint8Array(256);
  n = 0;
  room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
  /** One byte, unchecked: each record starts with room(SLACK), and id() leaves SLACK after its bytes. */
  byte(c: number): void {
    this.buf[this.n++] = c;
  }
  start(): void {
    this.n = 0;
    this.room(SLACK);
  }
  /** A string's UTF-8 (the slow path). */
  text(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  /** A safe integer in decimal, as String() prints it. */
  int(v: number): void {
    if (!Number.isSafeInteger(v) || Object.is(v, -0)) return this.text(String(v));
    this.room(SLACK);
    if (v < 0) {
      this.byte(45);
      v = -v;
    }
    let d = 1;
    for (let p = 10; p <= v; p *= 10) d++;
    this.room(d);
    for (let w = this.n + d - 1; w >= this.n; w--, v = Math.floor(v / 10)) this.buf[w] = 48 + (v % 10);
    this.n += d;
  }
  /**
   * A dictionary key's bytes; false when they are not text JSON and the run's key escaping leave
   * unchanged (a byte below 0x20, a quote or a backslash; a NUL; anything past ASCII in a key).
   */
  id(dict: Interner, id: number, inKey: boolean): boolean {
    const len = dict.byteLength(id);
    this.room(len + SLACK);
    const at = this.n;
    this.n = dict.writeUtf8(id, this.buf, at);
    if (dict.numberOf(id) >= 0) return true;
    for (let i = at; i < this.n; i++) {
      const c = this.buf[i]!;
      if (c < 0x20 || c === 0x22 || c === 0x5c || (inKey && c >= 0x80)) return false;
    }
    return true;
  }
}

/** key(kind, id) for a one-letter kind: kind, two NULs, the id's length + 1 as a character, the id. */
function keyOf(s: Scratch, kind: number, dict: Interner, id: number, slow: (id: string) => string): void {
  s.start();
  const len = dict.byteLength(id);
  if (len + 1 < 0x80) {
    s.byte(kind);
    s.byte(0);
    s.byte(0);
    s.byte(len + 1);
    if (s.id(dict, id, true)) return;
  }
  s.start();
  s.text(slow(dict.str(id)));
}

/**
 * Adds the i, o and p records (in that order, each in key order) to `w`; yields every
 * YIELD_EVERY records. `rank` gives a file's version rank.
 */
export function* idRecords(w: RunWriter, tables: Tables, rank: (file: string) => string): Generator<void> {
  const c = tables.winnerColumns();
  const k = new Scratch();
  const v = new Scratch();
  let n = 0;
  // A version's rank index in the run, per accepted file (versions of one file are contiguous).
  const rankIndexOf = (entity: Entity) => {
    const marks = tables.fileMarks[entity];
    const ri = new Int32Array(marks.length).fill(-1);
    return (version: number) => {
      const f = tables.fileIndexOf(entity, version);
      if (ri[f]! < 0) ri[f] = w.rankIndex(rank(marks[f]!.file));
      return ri[f]!;
    };
  };

  const items = tables.itemKeys;
  const itemRank = rankIndexOf('order_items');
  for (const key of items.idsInKeyOrder((id) => c.iWin[id]! >= 0)) {
    const ver = c.iWin[key]!;
    keyOf(k, 0x69, items, key, iKey);
    const order = c.iOrder[ver]!;
    const product = c.iProduct[ver]!;
    v.start();
    v.byte(0x5b);
    v.byte(0x22);
    let plain = v.id(tables.orderKeys, order, false);
    v.byte(0x22);
    v.byte(0x2c);
    v.byte(0x22);
    plain = v.id(tables.productKeys, product, false) && plain;
    v.byte(0x22);
    v.byte(0x2c);
    v.int(c.iCents[ver]!);
    v.byte(0x2c);
    v.int(c.iStatus[ver]!);
    v.byte(0x5d);
    if (!plain) {
      v.n = 0;
      v.text(itemVal(tables.orderKeys.str(order), tables.productKeys.str(product), c.iCents[ver]!, c.iStatus[ver]!));
    }
    w.addBytes(k.buf, k.n, itemRank(ver), v.buf, v.n);
    if (++n % YIELD_EVERY === 0) yield;
  }

  const orders = tables.orderKeys;
  const orderRank = rankIndexOf('orders');
  for (const key of orders.idsInKeyOrder((id) => c.oWin[id]! >= 0)) {
    const ver = c.oWin[key]!;
    keyOf(k, 0x6f, orders, key, oKey);
    v.start();
    v.byte(0x5b);
    v.int(c.oDay[ver]!);
    v.byte(0x2c);
    v.byte(0x22);
    const plain = v.id(tables.users, c.oUser[ver]!, false);
    v.byte(0x22);
    v.byte(0x2c);
    v.byte(c.oRet[ver] === 1 ? 0x31 : 0x30);
    v.byte(0x5d);
    if (!plain) {
      v.n = 0;
      v.text(orderVal(c.oDay[ver]!, tables.users.str(c.oUser[ver]!), c.oRet[ver] === 1));
    }
    w.addBytes(k.buf, k.n, orderRank(ver), v.buf, v.n);
    if (++n % YIELD_EVERY === 0) yield;
  }

  const products = tables.productKeys;
  const productRank = rankIndexOf('products');
  const category = Array.from({ length: tables.categories.size }, (_, i) =>
    Buffer.from(JSON.stringify(tables.categories.str(i)), 'utf8'),
  );
  for (const key of products.idsInKeyOrder((id) => c.pWin[id]! >= 0)) {
    const ver = c.pWin[key]!;
    keyOf(k, 0x70, products, key, pKey);
    const cat = category[c.pCat[ver]!]!;
    w.addBytes(k.buf, k.n, productRank(ver), cat, cat.length);
    if (++n % YIELD_EVERY === 0) yield;
  }
}
