// Stage 3 — valid rows → accepted state (upsert by key across files) → joined items.
// Every row version is appended to typed columns; a file's versions become the winners for their
// keys only when the whole file has been read, so a file rejected whole changes nothing.
import { readCsv, fieldsOf, NotCsv, type CsvRecord } from '../parse/csv';
import {
  newVerdict,
  scanRows,
  verdictOf,
  type RowHandlers,
  type RowVerdict,
  type VerdictColumns,
  type VerdictSlots,
} from '../parse/rowscan';
import { Column, IdMap } from './column';
import { Interner } from './intern';
import { groupItemsByOrder, orderPositions } from './sorts';
import type { Entity } from '../names';
import type { LakeColumns, LakeDicts } from '../formats/parquet';
import { HeaderError, mapHeader, RowRules, SCHEMAS, type Layout, type Reason } from '../parse/rules';

export interface RejectedRow {
  entity: Entity;
  file: string;
  line: number;
  reason: Reason;
  header: string[];
  fields: string[];
  /** a held item's parsed version (what it waits with, to join once its order and product come) */
  item?: { id: string; order: string; product: string; cents: number; status: number };
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
  parser?: 'wasm' | 'fast' | 'csv-parse';
}

export type { JoinedRow } from './joined-row';

/** Joined items as whole arrays, ordered by (order day, order). */
export interface Joined extends ChunkColumns {
  n: number;
  categories: Interner;
}

/** reject: unknown order/product rejected at once (kpi compute); hold: kept aside (the deployed
 * pipeline, until they arrive or expire). */
export type UnknownMode = 'reject' | 'hold';

/** wasm: the WebAssembly row scanner (assembly/rows.ts); reference: the TypeScript scanner and rules. */
export type RowEngine = 'wasm' | 'reference';

export const ITEM_STATUS_NONE = 0;
export const ITEM_STATUS_RETURNED = 1;
export const ITEM_STATUS_OTHER = 2;

class FileRejected extends Error {}

const fieldDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const fieldText = (b: Uint8Array, s: number, e: number) => fieldDecoder.decode(b.subarray(s, e));

export const BINARY_HEADER = 'not a text CSV file (binary content in the header)';
/** A NUL byte in the header row: the file is not text (the rest of it is not looked at). */
export function binaryHeader(rec: CsvRecord): boolean {
  for (let i = rec.starts[0]; i < rec.ends[rec.count - 1]; i++) if (rec.buf[i] === 0) return true;
  return false;
}

/** The rule slots of the columns each entity reads: the key, a and b as in RowVerdict (products:
 * a = category; orders: a = user_id; items: a = order_id, b = product_id), and the status column. */
export function verdictSlots(entity: Entity, rules: RowRules): VerdictSlots {
  const key = rules.slot(SCHEMAS[entity].key);
  if (entity === 'products') return { key, a: rules.slot('category'), b: -1, status: -1 };
  if (entity === 'orders') return { key, a: rules.slot('user_id'), b: -1, status: rules.slot('status') };
  return { key, a: rules.slot('order_id'), b: rules.slot('product_id'), status: rules.slot('status') };
}

/** Winner-slot mark of a key already met in the file being read. */
const SEEN = -2;

/** The file being read: winners it displaced (to restore) and its versions' keys, in order. */
interface FileLog {
  undoKey: Column<Int32Array>;
  undoOld: Column<Int32Array>;
  staged: Column<Int32Array>;
}

/** Marks key `keyId` (winner slot w) met in this file; its version is the next one staged. */
function stage(log: FileLog, wins: Int32Array, keyId: number, w: number): void {
  const at = log.undoKey.length++;
  log.undoOld.length++;
  log.undoKey.data[at] = keyId;
  log.undoOld.data[at] = w;
  wins[keyId] = SEEN;
  log.staged.data[log.staged.length++] = keyId;
}

/** Rows whose hashed keys are loaded ahead together (prefetch). */
const BLOCK = 32;
/** Where prefetch folds what it loaded: a store the compiler must keep, so the loads stay. */
const sink = new Int32Array(1);

/** Interner.touch for the hashed key and first reference (a) of rows [i, end). */
function prefetch(c: VerdictColumns, i: number, end: number, keys: Interner, refs: Interner): void {
  const { kn, kh, an, ah } = c;
  let s = 0;
  for (let j = i; j < end; j++) {
    if (kn[j] < 0) s += keys.touch(kh[j]);
    if (an[j] < 0) s += refs.touch(ah[j]);
  }
  sink[0] ^= s;
}

/**
 * Takes the common item rows of a scan batch from `from` on — valid, decimal keys, a key new to
 * the file, a known order and product — into the columns; returns the first row
 * that is not one (the caller hands it to the generic path). Columns and logs have room for the
 * batch, `wins` covers every key id the batch can make.
 */
function takeItems(
  c: VerdictColumns,
  from: number,
  n: number,
  keys: Interner,
  wins: Int32Array,
  O: Interner,
  P: Interner,
  oWin: Int32Array,
  pWin: Int32Array,
  iOrder: Column<Int32Array>,
  iProduct: Column<Int32Array>,
  iCents: Column<Float64Array>,
  iStatus: Column<Uint8Array>,
  log: FileLog,
): number {
  const { buf, reason, ks, ke, kn, kh, as, ae, an, ah, bs, be, bn, bh, cents, status } = c;
  for (let i = from; i < n; i++) {
    if ((i - from) % BLOCK === 0) prefetch(c, i, Math.min(n, i + BLOCK), keys, O);
    if (reason[i] !== 0) return i;
    const keyId = keys.internRead(buf, ks[i], ke[i], kn[i], kh[i]);
    const w = wins[keyId];
    if (w === SEEN) return i;
    const orderId = O.lookupRead(buf, as[i], ae[i], an[i], ah[i]);
    const productId = P.lookupRead(buf, bs[i], be[i], bn[i], bh[i]);
    if (orderId < 0 || !(oWin[orderId] >= 0) || productId < 0 || !(pWin[productId] >= 0)) return i;
    const at = iOrder.length++;
    iProduct.length++;
    iCents.length++;
    iStatus.length++;
    iOrder.data[at] = orderId;
    iProduct.data[at] = productId;
    iCents.data[at] = cents[i];
    iStatus.data[at] = status[i];
    stage(log, wins, keyId, w);
  }
  return n;
}

/** takeItems for orders: valid, decimal order and user ids, an order id new to the file. */
function takeOrders(
  c: VerdictColumns,
  from: number,
  n: number,
  keys: Interner,
  wins: Int32Array,
  users: Interner,
  oDay: Column<Int32Array>,
  oUser: Column<Int32Array>,
  oRet: Column<Uint8Array>,
  log: FileLog,
): number {
  const { buf, reason, ks, ke, kn, kh, as, ae, an, ah, day, status } = c;
  for (let i = from; i < n; i++) {
    if ((i - from) % BLOCK === 0) prefetch(c, i, Math.min(n, i + BLOCK), keys, users);
    if (reason[i] !== 0) return i;
    const keyId = keys.internRead(buf, ks[i], ke[i], kn[i], kh[i]);
    const w = wins[keyId];
    if (w === SEEN) return i;
    const at = oDay.length++;
    oUser.length++;
    oRet.length++;
    oDay.data[at] = day[i];
    oUser.data[at] = users.internRead(buf, as[i], ae[i], an[i], ah[i]);
    oRet.data[at] = status[i] === ITEM_STATUS_RETURNED ? 1 : 0;
    stage(log, wins, keyId, w);
  }
  return n;
}

/** The winners' typed columns (Tables.winnerColumns). */
export interface WinnerColumns {
  iWin: Int32Array;
  iOrder: Int32Array;
  iProduct: Int32Array;
  iCents: Float64Array;
  iStatus: Uint8Array;
  oWin: Int32Array;
  oDay: Int32Array;
  oUser: Int32Array;
  oRet: Uint8Array;
  pWin: Int32Array;
  pCat: Int32Array;
}

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

  private readonly pCat: Column<Int32Array>;
  private readonly oDay: Column<Int32Array>;
  private readonly oUser: Column<Int32Array>;
  private readonly oRet: Column<Uint8Array>;
  private readonly iOrder: Column<Int32Array>;
  private readonly iProduct: Column<Int32Array>;
  private readonly iCents: Column<Float64Array>;
  private readonly iStatus: Column<Uint8Array>;

  private readonly pWin: IdMap;
  private readonly oWin: IdMap;
  private readonly iWin: IdMap;

  readonly rejectedByReason: Partial<Record<Reason, number>> = {};
  /** per entity, where each accepted file's versions start (in reading order): a version's file */
  readonly fileMarks: Record<Entity, { file: string; start: number }[]> = { products: [], orders: [], order_items: [] };
  readonly held: RejectedRow[] = [];

  constructor(
    private readonly unknownMode: UnknownMode = 'reject',
    /** every rejected row, once its file is read; without it rejected rows are only counted */
    private readonly onReject?: (r: RejectedRow) => void,
    hint: SizeHint = {},
    private readonly rowEngine: RowEngine = 'wasm',
  ) {
    this.orderKeys = new Interner(hint.orders);
    this.productKeys = new Interner(hint.products);
    this.itemKeys = new Interner(hint.items);
    this.users = new Interner(hint.orders);
    const p = hint.products ?? 0,
      o = hint.orders ?? 0,
      i = hint.items ?? 0;
    this.pCat = Column.int32(p);
    this.oDay = Column.int32(o);
    this.oUser = Column.int32(o);
    this.oRet = Column.uint8(o);
    this.iOrder = Column.int32(i);
    this.iProduct = Column.int32(i);
    this.iCents = Column.float64(i);
    this.iStatus = Column.uint8(i);
    this.pWin = new IdMap(-1, p);
    this.oWin = new IdMap(-1, o);
    this.iWin = new IdMap(-1, i);
  }

  private keysOf(entity: Entity): Interner {
    return entity === 'orders' ? this.orderKeys : entity === 'products' ? this.productKeys : this.itemKeys;
  }

  /**
   * Reads one file of an entity. Files must come in version order (older first), and all
   * products and orders before any items, so unknown orders and products are known at once.
   */
  async readFile(
    entity: Entity,
    file: string,
    open: (reuse?: boolean) => AsyncIterable<Uint8Array>,
  ): Promise<FileResult> {
    const schema = SCHEMAS[entity];
    const keys = this.keysOf(entity);
    const winners = entity === 'orders' ? this.oWin : entity === 'products' ? this.pWin : this.iWin;
    // While a file is read, a key met in it has SEEN in its winner slot (so a second row with that
    // key is duplicate_key), and the winner it had is kept in an undo log restored at the end:
    // one file's worth of memory instead of a second per-key map.
    const undoKey = Column.int32();
    const undoOld = Column.int32();
    const restoreWinners = (): void => {
      for (let k = undoKey.length - 1; k >= 0; k--) winners.set(undoKey.data[k], undoOld.data[k]);
      undoKey.length = 0;
      undoOld.length = 0;
    };
    // Keys of this file's versions, in order: they become winners at the end of the file. Only
    // one file's worth is kept (the version columns themselves need no key column).
    const staged = Column.int32();
    const mark = { p: this.pCat.length, o: this.oDay.length, i: this.iOrder.length };
    let layout: Layout | null = null;
    let rules: RowRules | null = null;
    let slots: VerdictSlots = { key: 0, a: -1, b: -1, status: -1 };
    let rejected: RejectedRow[] = [];
    let rejectedN = 0;
    let byReason: Partial<Record<Reason, number>> = {};
    let held: RejectedRow[] = [];
    let rows = 0;

    const truncate = (): void => {
      this.pCat.length = mark.p;
      for (const c of [this.oDay, this.oUser, this.oRet]) c.length = mark.o;
      for (const c of [this.iOrder, this.iProduct, this.iCents, this.iStatus]) c.length = mark.i;
      staged.length = 0;
      restoreWinners();
    };
    const restart = (): void => {
      truncate();
      layout = null;
      rules = null;
      rejected = [];
      rejectedN = 0;
      byReason = {};
      held = [];
      rows = 0;
    };

    // Nobody listening (kpi compute without --rejected): a rejected row is only counted, its
    // fields never decoded.
    const listening = this.onReject !== undefined;
    const reject = (v: RowVerdict, reason: Reason, into: RejectedRow[] | null): void => {
      if (into === null) {
        rejectedN++;
        byReason[reason] = (byReason[reason] ?? 0) + 1;
        if (!listening) return;
        into = rejected;
      }
      into.push({ entity, file, line: v.line, reason, header: layout!.header, fields: v.fields() });
    };

    const header = (rec: CsvRecord): { rules: RowRules; slots: VerdictSlots } => {
      if (binaryHeader(rec)) throw new FileRejected(BINARY_HEADER);
      try {
        layout = mapHeader(schema, fieldsOf(rec));
      } catch (err) {
        if (err instanceof HeaderError) throw new FileRejected(err.message);
        throw err;
      }
      rules = new RowRules(schema, layout);
      slots = verdictSlots(entity, rules);
      return { rules, slots };
    };

    const keyOf = (v: RowVerdict): number => keys.internRead(v.buf, v.ks, v.ke, v.kn, v.kh);
    const onRow = (v: RowVerdict): void => {
      rows++;
      let keyId = -1;
      let dup = false;
      if (v.ks !== v.ke) {
        keyId = keyOf(v);
        const w = winners.get(keyId);
        dup = w === SEEN;
        if (!dup) {
          undoKey.push(keyId);
          undoOld.push(w);
          winners.set(keyId, SEEN);
        }
      }
      if (v.reason) return reject(v, v.reason, null);
      if (dup) return reject(v, 'duplicate_key', null);
      // The version is valid: append it (an item may still not join: unknown order or product).
      const unknown =
        entity === 'products' ? this.appendProduct(v) : entity === 'orders' ? this.appendOrder(v) : this.appendItem(v);
      if (unknown && this.unknownMode === 'hold') {
        reject(v, unknown, held);
        held[held.length - 1]!.item = {
          id: fieldText(v.buf, v.ks, v.ke),
          order: fieldText(v.buf, v.as, v.ae),
          product: fieldText(v.buf, v.bs, v.be),
          cents: v.cents,
          status: v.status,
        };
        return;
      }
      if (unknown) return reject(v, unknown, null);
      staged.push(keyId);
    };

    // The common row straight from the scanner's columns: valid, decimal keys, joinable, a key not
    // yet met in this file. Anything else goes through onRow (generic), which decides it the same way.
    const batch = (c: VerdictColumns, n: number, generic: (i: number) => void): void => {
      if (entity === 'products') {
        for (let i = 0; i < n; i++) generic(i);
        return;
      }
      // Room for every row of the batch up front: the loops store straight into the arrays.
      const cols =
        entity === 'order_items'
          ? [this.iOrder, this.iProduct, this.iCents, this.iStatus]
          : [this.oDay, this.oUser, this.oRet];
      for (const col of [...cols, undoKey, undoOld, staged]) col.reserve(n);
      winners.ensure(keys.size + n);
      const log: FileLog = { undoKey, undoOld, staged };
      for (let i = 0; i < n;) {
        const stop =
          entity === 'order_items'
            ? takeItems(
                c,
                i,
                n,
                keys,
                winners.data,
                this.orderKeys,
                this.productKeys,
                this.oWin.data,
                this.pWin.data,
                this.iOrder,
                this.iProduct,
                this.iCents,
                this.iStatus,
                log,
              )
            : takeOrders(c, i, n, keys, winners.data, this.users, this.oDay, this.oUser, this.oRet, log);
        rows += stop - i;
        i = stop;
        if (i < n) generic(i++);
      }
    };

    // The reference path (and csv-parse after a decline): records → RowRules → the same verdicts.
    const verdict = newVerdict();
    const onRecord = (rec: CsvRecord): void => {
      if (!layout) {
        header(rec);
        return;
      }
      onRow(verdictOf(verdict, rec, rules!, slots));
    };

    const result: FileResult = { entity, file, status: 'accepted', rows: 0, accepted: 0, rejected: 0, held: 0 };
    try {
      result.parser = await this.readRows(open, { header, row: onRow, batch }, onRecord, restart);
      if (!layout) throw new FileRejected('empty file (no header row)');
    } catch (err) {
      if (!(err instanceof FileRejected) && !(err instanceof NotCsv)) throw err;
      truncate();
      return {
        ...result,
        status: 'rejected',
        note: err instanceof NotCsv ? `not readable as CSV: ${err.message}` : err.message,
      };
    }
    restoreWinners();
    const start = entity === 'orders' ? mark.o : entity === 'products' ? mark.p : mark.i;
    for (let k = 0; k < staged.length; k++) winners.set(staged.data[k], start + k);
    for (const [reason, n] of Object.entries(byReason) as [Reason, number][])
      this.rejectedByReason[reason] = (this.rejectedByReason[reason] ?? 0) + n;
    for (const r of rejected) this.onReject?.(r);
    for (const h of held) this.held.push(h); // no spread: a file can hold millions of rows
    this.fileMarks[entity].push({ file, start });
    result.rows = rows;
    result.rejected = rejectedN;
    result.held = held.length;
    result.accepted = rows - rejectedN - held.length;
    return result;
  }

  /** The WebAssembly scanner, or the TypeScript one (the reference); csv-parse when either declines. */
  private readRows(
    open: (reuse?: boolean) => AsyncIterable<Uint8Array>,
    handlers: RowHandlers,
    onRecord: (rec: CsvRecord) => void,
    restart: () => void,
  ): Promise<FileResult['parser']> {
    if (this.rowEngine === 'reference') return readCsv(open, onRecord, restart);
    return readCsv(open, onRecord, restart, { name: 'wasm', read: () => scanRows(open, handlers) });
  }

  private appendProduct(v: RowVerdict): null {
    this.pCat.push(this.categories.internRead(v.buf, v.as, v.ae, v.an, v.ah));
    return null;
  }

  private appendOrder(v: RowVerdict): null {
    this.oDay.push(v.day);
    this.oUser.push(this.users.internRead(v.buf, v.as, v.ae, v.an, v.ah));
    this.oRet.push(v.status === ITEM_STATUS_RETURNED ? 1 : 0);
    return null;
  }

  /** Appends a joining item; returns the reason when its order or product is not (yet) known. */
  private appendItem(v: RowVerdict): 'unknown_order' | 'unknown_product' | null {
    const b = v.buf;
    const O = this.orderKeys;
    const P = this.productKeys;
    const orderId = O.lookupRead(b, v.as, v.ae, v.an, v.ah);
    if (orderId < 0 || this.oWin.get(orderId) < 0) return 'unknown_order';
    const productId = P.lookupRead(b, v.bs, v.be, v.bn, v.bh);
    if (productId < 0 || this.pWin.get(productId) < 0) return 'unknown_product';
    this.iOrder.push(orderId);
    this.iProduct.push(productId);
    this.iCents.push(v.cents);
    this.iStatus.push(v.status);
    return null;
  }

  /** Which accepted file of the entity (an index into fileMarks[entity]) version v came from. */
  fileIndexOf(entity: Entity, v: number): number {
    const marks = this.fileMarks[entity];
    let lo = 0,
      hi = marks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (marks[mid]!.start <= v) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The winners' typed columns, to read only: key id → winning version (-1: none) per entity, and
   * each version's values. For writers that make no string per record (the bulk state index).
   */
  winnerColumns(): WinnerColumns {
    this.iWin.ensure(this.itemKeys.size);
    this.oWin.ensure(this.orderKeys.size);
    this.pWin.ensure(this.productKeys.size);
    return {
      iWin: this.iWin.data,
      iOrder: this.iOrder.data,
      iProduct: this.iProduct.data,
      iCents: this.iCents.data,
      iStatus: this.iStatus.data,
      oWin: this.oWin.data,
      oDay: this.oDay.data,
      oUser: this.oUser.data,
      oRet: this.oRet.data,
      pWin: this.pWin.data,
      pCat: this.pCat.data,
    };
  }

  /** Winning item version → its item key (the version columns carry no key). */
  itemKeyOfVersion(): Int32Array {
    const iWin = this.iWin.data;
    const keyOf = new Int32Array(this.iOrder.length);
    for (let k = 0; k < this.itemKeys.size; k++) if (iWin[k]! >= 0) keyOf[iWin[k]!] = k;
    return keyOf;
  }

  /** The dictionaries lake columns refer to. */
  get lakeDicts(): LakeDicts {
    return {
      items: this.itemKeys,
      orders: this.orderKeys,
      users: this.users,
      products: this.productKeys,
      categories: this.categories,
    };
  }

  /**
   * joinedDays as columns of dictionary ids (over lakeDicts), rows already in the lake's order
   * (item_id text): the curated zone's files are written from these without a string per value.
   * The items come from the join's windowed scatter (no random read per item); a day is gathered
   * in its own buffers, then put in item_id order.
   */
  *joinedDayColumns(window = 1 << 20): Generator<{ day: number; cols: LakeColumns }> {
    const plan = this.joinPlan();
    const keyOf = this.itemKeyOfVersion();
    const cap = Math.max(1, Math.min(window, plan.n));
    const out: ChunkColumns = {
      cat: new Int32Array(cap),
      day: new Int32Array(cap),
      order: new Int32Array(cap),
      user: new Int32Array(cap),
      cents: new Float64Array(cap),
      flags: new Uint8Array(cap),
    };
    const keys = { keyOf, item: new Int32Array(cap), product: new Int32Array(cap) };
    const acc = new DayBuffers();
    let day = NaN;
    for (const count of this.scatter(plan, out, keys)) {
      for (let a = 0; a < count;) {
        let b = a;
        while (b < count && out.day[b] === out.day[a]) b++;
        if (out.day[a] !== day) {
          if (acc.n) yield { day, cols: acc.sorted(this.itemKeys) };
          acc.n = 0;
          day = out.day[a]!;
        }
        acc.append(out, keys, a, b);
        a = b;
      }
    }
    if (acc.n) yield { day, cols: acc.sorted(this.itemKeys) };
  }

  /**
   * Every winning item joined with its winning order and product, ordered by (day, order), as a
   * stream of chunks written into the caller's arrays: the joined items never exist all at once.
   */
  joinSource(): JoinSource {
    const plan = this.joinPlan();
    return {
      n: plan.n,
      nCats: this.categories.size,
      nUsers: this.users.size,
      days: plan.days,
      categories: this.categories,
      forEachChunk: (out: ChunkColumns, onChunk: (count: number) => void): void => {
        for (const count of this.scatter(plan, out)) onChunk(count);
      },
    };
  }

  /** Where each winning item goes in the (day, order) order. */
  private joinPlan() {
    const nKeys = this.itemKeys.size;
    const nOrders = this.orderKeys.size;
    this.iWin.ensure(nKeys);
    this.oWin.ensure(nOrders);
    const { byOrder, perOrder, n } = groupItemsByOrder(this.iWin.data, this.iOrder.data, nKeys, nOrders);
    const { dest, days } = orderPositions(perOrder, this.oDay.data, this.oWin.data, nOrders, n);
    return { byOrder, perOrder, n, dest, days, nOrders };
  }

  /**
   * Fills `out` with the joined items window after window (yielding each window's count). With
   * `keys`, also each item's key and product (`keyOf`: version → item key).
   */
  private *scatter(
    plan: ReturnType<Tables['joinPlan']>,
    out: ChunkColumns,
    keys?: { keyOf: Int32Array; item: Int32Array; product: Int32Array },
  ): Generator<number> {
    const { byOrder, perOrder, n, dest, nOrders } = plan;
    const oWin = this.oWin.data,
      pWin = this.pWin.data,
      oDay = this.oDay.data,
      oUser = this.oUser.data,
      oRet = this.oRet.data,
      iStatus = this.iStatus.data,
      pCat = this.pCat.data,
      iProduct = this.iProduct.data,
      iCents = this.iCents.data;
    // Items are read in order-id order (about the order they were read in) and written to their
    // (day, order) position inside the current window of the output: scattered writes into a
    // buffer that stays in cache, instead of a random read per item in day order.
    const cap = out.cat.length;
    // Each order's window (255: none, or it spans two): a pass skips other windows' orders on
    // one byte each.
    const windows = Math.ceil(n / cap);
    const winOf = new Uint8Array(nOrders).fill(255);
    if (windows < 255) {
      for (let o = 0; o < nOrders; o++) {
        const d0 = dest[o];
        if (d0 < 0) continue;
        const w = Math.floor(d0 / cap);
        if (Math.floor((d0 + perOrder[o + 1] - perOrder[o] - 1) / cap) === w) winOf[o] = w;
      }
    }
    for (let w0 = 0, w = 0; w0 < n; w0 += cap, w++) {
      const w1 = Math.min(n, w0 + cap);
      for (let o = 0; o < nOrders; o++) {
        const wo = winOf[o];
        if (wo !== w && wo !== 255) continue;
        const d0 = dest[o];
        const j0 = perOrder[o];
        const j1 = perOrder[o + 1];
        if (d0 < 0 || d0 >= w1 || d0 + (j1 - j0) <= w0) continue;
        const ov = oWin[o];
        const day = oDay[ov];
        const user = oUser[ov];
        const oret = oRet[ov];
        for (let j = j0; j < j1; j++) {
          const x = d0 + (j - j0) - w0;
          if (x < 0 || x >= cap) continue;
          const v = byOrder[j];
          const st = iStatus[v];
          const p = iProduct[v];
          out.cat[x] = pCat[pWin[p]];
          out.day[x] = day;
          out.order[x] = o;
          out.user[x] = user;
          out.cents[x] = iCents[v];
          out.flags[x] = (st === ITEM_STATUS_RETURNED || (st === ITEM_STATUS_NONE && oret === 1) ? 1 : 0) | (oret << 1);
          if (keys) {
            keys.item[x] = keys.keyOf[v];
            keys.product[x] = p;
          }
        }
      }
      yield w1 - w0;
    }
  }
}

/** One day's joined items as gathered from the scatter's windows (a day may span two). */
class DayBuffers {
  n = 0;
  private readonly item = Column.int32();
  private readonly order = Column.int32();
  private readonly user = Column.int32();
  private readonly product = Column.int32();
  private readonly cat = Column.int32();
  private readonly cents = Column.float64();
  private readonly flags = Column.uint8();

  append(c: ChunkColumns, k: { item: Int32Array; product: Int32Array }, a: number, b: number): void {
    const parts: [
      Column<Int32Array> | Column<Float64Array> | Column<Uint8Array>,
      Int32Array | Float64Array | Uint8Array,
    ][] = [
      [this.item, k.item],
      [this.order, c.order],
      [this.user, c.user],
      [this.product, k.product],
      [this.cat, c.cat],
      [this.cents, c.cents],
      [this.flags, c.flags],
    ];
    for (const [col, src] of parts) {
      col.length = this.n;
      col.reserve(b - a);
      col.data.set(src.subarray(a, b) as never, this.n);
    }
    this.n += b - a;
  }

  /** The day's columns in item_id text order. */
  sorted(items: Interner): LakeColumns {
    const m = this.n;
    const item = this.item.data,
      order = this.order.data,
      user = this.user.data,
      product = this.product.data,
      cat = this.cat.data,
      cents = this.cents.data,
      flags = this.flags.data;
    const pos = items.textOrder(item.subarray(0, m));
    const cols: LakeColumns = {
      item: new Int32Array(m),
      order: new Int32Array(m),
      user: new Int32Array(m),
      product: new Int32Array(m),
      category: new Int32Array(m),
      cents: new Float64Array(m),
      returned: new Uint8Array(m),
      orderReturned: new Uint8Array(m),
    };
    for (let i = 0; i < m; i++) {
      const x = pos[i]!;
      cols.item[i] = item[x]!;
      cols.order[i] = order[x]!;
      cols.user[i] = user[x]!;
      cols.product[i] = product[x]!;
      cols.category[i] = cat[x]!;
      cols.cents[i] = cents[x]!;
      cols.returned[i] = flags[x]! & 1;
      cols.orderReturned[i] = flags[x]! >> 1;
    }
    return cols;
  }
}

/** Columns of joined items (one chunk, or all of them). */
export interface ChunkColumns {
  cat: Int32Array;
  day: Int32Array;
  order: Int32Array;
  user: Int32Array;
  cents: Float64Array;
  /** bit 0: the item counts as returned; bit 1: its order's status is returned. */
  flags: Uint8Array;
}

/** Joined items, produced chunk by chunk in (day, order) order. */
export interface JoinSource {
  n: number;
  nCats: number;
  nUsers: number;
  /** distinct order days */
  days: number;
  categories: Interner;
  forEachChunk(out: ChunkColumns, onChunk: (count: number) => void): void;
}

/** A JoinSource over whole arrays already in (day, order) order. */
export function arraySource(j: Pick<Joined, 'n' | 'cat' | 'day' | 'order' | 'user' | 'cents' | 'flags'>): JoinSource {
  let nCats = 0;
  let nUsers = 0;
  let days = 0;
  for (let i = 0; i < j.n; i++) {
    if (j.cat[i] >= nCats) nCats = j.cat[i] + 1;
    if (j.user[i] >= nUsers) nUsers = j.user[i] + 1;
    if (i === 0 || j.day[i] !== j.day[i - 1]) days++;
  }
  return {
    n: j.n,
    nCats,
    nUsers,
    days,
    categories: new Interner(),
    forEachChunk(out, onChunk) {
      const cap = out.cat.length;
      for (let off = 0; off < j.n; off += cap) {
        const end = Math.min(j.n, off + cap);
        out.cat.set(j.cat.subarray(off, end));
        out.day.set(j.day.subarray(off, end));
        out.order.set(j.order.subarray(off, end));
        out.user.set(j.user.subarray(off, end));
        out.cents.set(j.cents.subarray(off, end));
        out.flags.set(j.flags.subarray(off, end));
        onChunk(end - off);
      }
    },
  };
}
