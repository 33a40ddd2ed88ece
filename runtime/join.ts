// Stage 3 — valid rows → accepted state (upsert by key across files) → joined items.
// Every row version is appended to typed columns; a file's versions become the winners for their
// keys only when the whole file has been read, so a file rejected whole changes nothing.
import { readCsv, fieldsOf, NotCsv, type CsvRecord } from './csv';
import { Column, IdMap, Interner } from './intern';
import type { Entity } from './names';
import { HeaderError, mapHeader, RowRules, SCHEMAS, type Layout, type Reason } from './rules';

export interface RejectedRow {
  entity: Entity;
  file: string;
  line: number;
  reason: Reason;
  header: string[];
  fields: string[];
}

export interface FileResult {
  entity: Entity;
  file: string;
  status: 'accepted' | 'rejected';
  note?: string;
  rows: number;
  accepted: number;
  rejected: number;
  held: number;
  parser?: 'fast' | 'csv-parse';
}

/** Joined items, ordered by (order day, order), ready for the kernel. */
export interface Joined {
  n: number;
  cat: Int32Array;
  day: Int32Array;
  order: Int32Array;
  user: Int32Array;
  cents: Float64Array;
  /** bit 0: the item counts as returned; bit 1: its order's status is returned. */
  flags: Uint8Array;
  categories: Interner;
  orderKeys: Interner;
  users: Interner;
}

/** reject: unknown order/product rejected at once (kpi compute); hold: kept aside (the deployed
 * pipeline, until they arrive or expire); defer: not checked (validate stage: one file alone). */
export type UnknownMode = 'reject' | 'hold' | 'defer';

const ITEM_STATUS_NONE = 0;
const ITEM_STATUS_RETURNED = 1;
const ITEM_STATUS_OTHER = 2;

class FileRejected extends Error {}

/** Expected key counts, to size the dictionaries once instead of growing them. */
export interface SizeHint {
  orders?: number;
  products?: number;
  items?: number;
}

export class Tables {
  readonly orderKeys: Interner;
  readonly productKeys: Interner;
  readonly itemKeys: Interner;
  readonly users: Interner;
  readonly categories = new Interner();

  private readonly pCat = Column.int32();
  private readonly pKey = Column.int32();
  private readonly oKey = Column.int32();
  private readonly oDay = Column.int32();
  private readonly oUser = Column.int32();
  private readonly oRet = Column.uint8();
  private readonly iKey = Column.int32();
  private readonly iOrder = Column.int32();
  private readonly iProduct = Column.int32();
  private readonly iCents = Column.float64();
  private readonly iStatus = Column.uint8();

  private readonly pWin = new IdMap(-1);
  private readonly oWin = new IdMap(-1);
  private readonly iWin = new IdMap(-1);
  private readonly seen: Record<Entity, IdMap> = { orders: new IdMap(-1), order_items: new IdMap(-1), products: new IdMap(-1) };
  private fileNo = 0;

  readonly rejectedByReason: Partial<Record<Reason, number>> = {};
  readonly held: RejectedRow[] = [];

  constructor(
    private readonly unknownMode: UnknownMode = 'reject',
    private readonly onReject: (r: RejectedRow) => void = () => {},
    hint: SizeHint = {},
  ) {
    this.orderKeys = new Interner(hint.orders);
    this.productKeys = new Interner(hint.products);
    this.itemKeys = new Interner(hint.items);
    this.users = new Interner(hint.orders);
  }

  private keysOf(entity: Entity): Interner {
    return entity === 'orders' ? this.orderKeys : entity === 'products' ? this.productKeys : this.itemKeys;
  }

  /**
   * Reads one file of an entity. Files must come in version order (older first), and all
   * products and orders before any items, so unknown orders and products are known at once.
   */
  async readFile(entity: Entity, file: string, open: () => AsyncIterable<Uint8Array>): Promise<FileResult> {
    const schema = SCHEMAS[entity];
    const keys = this.keysOf(entity);
    const seen = this.seen[entity];
    const versions = entity === 'orders' ? this.oKey : entity === 'products' ? this.pKey : this.iKey;
    const mark = { pKey: this.pKey.length, oKey: this.oKey.length, iKey: this.iKey.length };
    let layout: Layout | null = null;
    let rules: RowRules | null = null;
    let rejected: RejectedRow[] = [];
    let held: RejectedRow[] = [];
    let rows = 0;
    let fileNo = ++this.fileNo;
    const keyCol = schema.key;
    const slots = { key: 0, a: 0, b: 0, c: 0 };

    const truncate = (): void => {
      for (const c of [this.pKey, this.pCat]) c.length = mark.pKey;
      for (const c of [this.oKey, this.oDay, this.oUser, this.oRet]) c.length = mark.oKey;
      for (const c of [this.iKey, this.iOrder, this.iProduct, this.iCents, this.iStatus]) c.length = mark.iKey;
    };
    const restart = (): void => {
      truncate();
      layout = null;
      rules = null;
      rejected = [];
      held = [];
      rows = 0;
      fileNo = ++this.fileNo;
    };

    const reject = (rec: CsvRecord, reason: Reason, into: RejectedRow[]): void => {
      into.push({ entity, file, line: rec.line, reason, header: layout!.header, fields: fieldsOf(rec) });
    };

    const onRecord = (rec: CsvRecord): void => {
      if (!layout) {
        for (let i = rec.starts[0]; i < rec.ends[rec.count - 1]; i++) {
          if (rec.buf[i] === 0) throw new FileRejected('not a text CSV file (binary content in the header)');
        }
        try {
          layout = mapHeader(schema, fieldsOf(rec));
        } catch (err) {
          if (err instanceof HeaderError) throw new FileRejected(err.message);
          throw err;
        }
        rules = new RowRules(schema, layout);
        slots.key = rules.slot(keyCol);
        if (entity === 'products') slots.a = rules.slot('category');
        if (entity === 'orders') (slots.a = rules.slot('user_id')), (slots.b = rules.slot('status'));
        if (entity === 'order_items') (slots.a = rules.slot('order_id')), (slots.b = rules.slot('product_id')), (slots.c = rules.slot('status'));
        return;
      }
      rows++;
      const r = rules!;
      const reason0 = r.check(rec);
      const b = rec.buf;
      let keyId = -1;
      let dup = false;
      if (r.present(slots.key)) {
        keyId = keys.intern(b, r.s[slots.key], r.e[slots.key]);
        dup = seen.get(keyId) === fileNo;
        seen.set(keyId, fileNo);
      }
      if (reason0) return reject(rec, reason0, rejected);
      if (dup) return reject(rec, 'duplicate_key', rejected);
      if (entity === 'products') {
        this.pKey.push(keyId);
        this.pCat.push(this.categories.intern(b, r.s[slots.a], r.e[slots.a]));
      } else if (entity === 'orders') {
        this.oKey.push(keyId);
        this.oDay.push(Math.floor(r.createdSec / 86400));
        this.oUser.push(this.users.intern(b, r.s[slots.a], r.e[slots.a]));
        this.oRet.push(r.is(rec, slots.b, 'returned') ? 1 : 0);
      } else {
        const defer = this.unknownMode === 'defer';
        const orderId = defer ? this.orderKeys.intern(b, r.s[slots.a], r.e[slots.a]) : this.orderKeys.lookup(b, r.s[slots.a], r.e[slots.a]);
        if (!defer && (orderId < 0 || this.oWin.get(orderId) < 0)) {
          return reject(rec, 'unknown_order', this.unknownMode === 'hold' ? held : rejected);
        }
        const productId = defer ? this.productKeys.intern(b, r.s[slots.b], r.e[slots.b]) : this.productKeys.lookup(b, r.s[slots.b], r.e[slots.b]);
        if (!defer && (productId < 0 || this.pWin.get(productId) < 0)) {
          return reject(rec, 'unknown_product', this.unknownMode === 'hold' ? held : rejected);
        }
        this.iKey.push(keyId);
        this.iOrder.push(orderId);
        this.iProduct.push(productId);
        this.iCents.push(r.cents);
        this.iStatus.push(!r.present(slots.c) ? ITEM_STATUS_NONE : r.is(rec, slots.c, 'returned') ? ITEM_STATUS_RETURNED : ITEM_STATUS_OTHER);
      }
    };

    const result: FileResult = { entity, file, status: 'accepted', rows: 0, accepted: 0, rejected: 0, held: 0 };
    try {
      result.parser = await readCsv(open, onRecord, restart);
      if (!layout) throw new FileRejected('empty file (no header row)');
    } catch (err) {
      if (!(err instanceof FileRejected) && !(err instanceof NotCsv)) throw err;
      truncate();
      return { ...result, status: 'rejected', note: err instanceof NotCsv ? `not readable as CSV: ${err.message}` : err.message };
    }
    const winners = entity === 'orders' ? this.oWin : entity === 'products' ? this.pWin : this.iWin;
    const start = entity === 'orders' ? mark.oKey : entity === 'products' ? mark.pKey : mark.iKey;
    for (let v = start; v < versions.length; v++) winners.set(versions.data[v], v);
    for (const r of rejected) {
      this.rejectedByReason[r.reason] = (this.rejectedByReason[r.reason] ?? 0) + 1;
      this.onReject(r);
    }
    this.held.push(...held);
    result.rows = rows;
    result.rejected = rejected.length;
    result.held = held.length;
    result.accepted = rows - rejected.length - held.length;
    return result;
  }

  /** Every winning item joined with its winning order and product, ordered by (day, order). */
  join(): Joined {
    const nKeys = this.itemKeys.size;
    const nOrders = this.orderKeys.size;
    this.iWin.ensure(nKeys);
    this.oWin.ensure(nOrders);
    const iWin = this.iWin.data;
    const oWin = this.oWin.data;
    const pWin = this.pWin.data;
    const iOrder = this.iOrder.data;
    const oDay = this.oDay.data;
    const perOrder = new Int32Array(nOrders + 1);
    let n = 0;
    for (let k = 0; k < nKeys; k++) {
      const v = iWin[k];
      if (v < 0) continue;
      perOrder[iOrder[v] + 1]++;
      n++;
    }
    for (let o = 0; o < nOrders; o++) perOrder[o + 1] += perOrder[o];
    const byOrder = new Int32Array(n);
    const fill = perOrder.slice(0, nOrders);
    for (let k = 0; k < nKeys; k++) {
      const v = iWin[k];
      if (v >= 0) byOrder[fill[iOrder[v]]++] = v;
    }
    // Orders with items, counting-sorted by their day.
    let minDay = Infinity;
    let maxDay = -Infinity;
    for (let o = 0; o < nOrders; o++) {
      if (perOrder[o + 1] === perOrder[o]) continue;
      const d = oDay[oWin[o]];
      if (d < minDay) minDay = d;
      if (d > maxDay) maxDay = d;
    }
    const span = n ? maxDay - minDay + 1 : 0;
    const perDay = new Int32Array(span + 1);
    for (let o = 0; o < nOrders; o++) {
      if (perOrder[o + 1] !== perOrder[o]) perDay[oDay[oWin[o]] - minDay + 1]++;
    }
    for (let d = 0; d < span; d++) perDay[d + 1] += perDay[d];
    const ordersByDay = new Int32Array(perDay[span] ?? 0);
    for (let o = 0; o < nOrders; o++) {
      if (perOrder[o + 1] !== perOrder[o]) ordersByDay[perDay[oDay[oWin[o]] - minDay]++] = o;
    }
    const out: Joined = {
      n,
      cat: new Int32Array(n),
      day: new Int32Array(n),
      order: new Int32Array(n),
      user: new Int32Array(n),
      cents: new Float64Array(n),
      flags: new Uint8Array(n),
      categories: this.categories,
      orderKeys: this.orderKeys,
      users: this.users,
    };
    let w = 0;
    const oUser = this.oUser.data, oRet = this.oRet.data, iStatus = this.iStatus.data, pCat = this.pCat.data, iProduct = this.iProduct.data;
    for (const o of ordersByDay) {
      const ov = oWin[o];
      const day = oDay[ov];
      const user = oUser[ov];
      const oret = oRet[ov];
      for (let j = perOrder[o]; j < perOrder[o + 1]; j++) {
        const v = byOrder[j];
        const st = iStatus[v];
        const ret = st === ITEM_STATUS_RETURNED || (st === ITEM_STATUS_NONE && oret === 1) ? 1 : 0;
        out.cat[w] = pCat[pWin[iProduct[v]]];
        out.day[w] = day;
        out.order[w] = o;
        out.user[w] = user;
        out.cents[w] = this.iCents.data[v];
        out.flags[w] = ret | (oret << 1);
        w++;
      }
    }
    return out;
  }
}
