// The bulk run's state index records of every winning item, order and product, written from the
// typed columns: each record's key and value bytes are put together in scratch buffers, with no
// string per record. The bytes are those of the Rec path (iKey/itemVal, oKey/orderVal, pKey and
// the category as JSON); a key or value that is not plain ASCII-safe text goes through that path.
import type { Interner } from '../core/join/intern';
import type { Tables } from '../core/join/join';
import type { Entity } from '../core/names';
import type { RunWriter } from './runfile';
import { iKey, itemVal, oKey, orderVal, pKey } from './incremental';

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
