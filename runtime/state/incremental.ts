// The incremental transform's core step: a batch of newly archived files applied to the state
// (records.ts: what the state's records are). A version wins when its rank (upload time, then landing
// key: SPEC's version order) is the highest; an item version counts only once its order and product
// exist, exactly as a full recompute over every archived file would decide. The cost of a batch is
// its rows, the look-ups of their keys, and the days whose joined items change — never the history.
import { SourceFailed } from '../core/compute';
import { cmp, prefix, type Rec } from './runfile';
import {
  dKey,
  decodeHeld,
  decodeItem,
  decodeOrder,
  decodeProduct,
  fKey,
  hqKey,
  iKey,
  itemVal,
  oKey,
  orderVal,
  pKey,
  type DayRec,
  type HeldRec,
  type ItemRec,
  type OrderRec,
  type ProductRec,
} from './records';
import * as versions from '../core/parse/versions';
import { type ItemVersion, type OrderVersion, type ProductVersion } from '../core/parse/versions';
import { ITEM_STATUS_NONE, ITEM_STATUS_RETURNED } from '../core/join/join';
import { dayKpis, type DayKpis } from '../core/aggregate/daykpis';
import { decodeLakeFile, encodeLakeFile } from '../core/formats/parquet';
import { civilFromDays } from '../core/parse/timestamp';
import type { JoinedRow, RejectedRow } from '../core/join/join';
import type { Entity } from '../core/names';
import type { Reason } from '../core/parse/rules';
import { canonical, lakeFileName, otherDayFiles } from './lake';
import { laps } from '../core/laps';
import type { KeyIndex, RunRef } from './keyindex';
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

export const emptyState = (): StateBody => ({
  runs: [],
  files: 0,
  bytes: 0,
  rows: 0,
  rejected: {},
  held: 0,
  joined: 0,
  revenueCents: 0,
  latestDate: null,
  post: null,
});

export interface BatchFile {
  key: string;
  size: number;
  entity: Entity;
  /** 13-digit upload millis + NUL + landing key: string order is SPEC's version order */
  rank: string;
  open: (reuse?: boolean) => AsyncIterable<Uint8Array>;
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

/** A held version as the row err/unmatched/ reports. */
export function heldRow(r: Rec): RejectedRow {
  const h = decodeHeld(r);
  const waits = r.key.startsWith(prefix('hq', 'o')) ? 'unknown_order' : 'unknown_product';
  return { entity: 'order_items', file: h.file, line: h.line, reason: waits, header: h.header, fields: h.fields };
}

type ItemVersionAt = ItemVersion & { rank: string; file: string; header: string[] };

/**
 * One batch applied to the state, as the named steps of "What a batch does"
 * (docs/state-and-commits.md): read, look up, release held items, load what they refer to, decide
 * winners, find the changed days, gather the rows coming in, rewrite the days.
 */
class Batch {
  readonly body: StateBody;
  readonly recs = new Map<string, Rec>();
  lookups = 0;
  todo: BatchFile[] = [];
  // the batch's versions, by key
  readonly O = new Map<string, OrderVersion & { rank: string }>();
  readonly P = new Map<string, ProductVersion & { rank: string }>();
  readonly I = new Map<string, ItemVersionAt[]>();
  // the state's records of the keys concerned, and what the batch changes
  readonly oldOrders = new Map<string, OrderRec | null>();
  readonly oldProducts = new Map<string, ProductRec | null>();
  readonly oldItems = new Map<string, ItemRec | null>();
  readonly newOrders = new Map<string, OrderRec>();
  readonly newProducts = new Map<string, ProductRec>();
  /** existed, and its day, customer or status changed */
  readonly movedOrders = new Set<string>();
  /** existed, and its category changed */
  readonly recategorized = new Set<string>();
  readonly arrivedOrders: string[] = [];
  readonly arrivedProducts: string[] = [];
  readonly releasedByItem = new Map<string, { rec: Rec; h: HeldRec }[]>();
  readonly changedItems = new Map<string, { old: ItemRec | null; now: ItemRec }>();
  // the days
  dates: string[] = [];
  affected = new Set<string>();
  readonly oldDay = new Map<string, DayRec | null>();
  readonly incoming = new Map<string, JoinedRow[]>();
  readonly post: Post = { days: [], markers: [] };
  readonly changedDates: string[] = [];
  lakeWritten = 0;
  private batchItems: Map<string, Rec> = new Map();

  constructor(
    private readonly bucket: Bucket,
    private readonly ix: KeyIndex,
    private readonly state: StateBody,
  ) {
    this.body = { ...state, rejected: { ...state.rejected } };
  }

  put(k: string, rank: string, val: string | null): void {
    this.recs.set(k, { key: k, rank, val });
  }

  async get(keys: Iterable<string>): Promise<Map<string, Rec>> {
    const ks = [...keys];
    this.lookups += ks.length;
    return this.ix.get(ks);
  }

  orderNow = (id: string): OrderRec | null => this.newOrders.get(id) ?? this.oldOrders.get(id) ?? null;
  productNow = (id: string): ProductRec | null => this.newProducts.get(id) ?? this.oldProducts.get(id) ?? null;
  private noteOrder = (id: string, r: Rec | undefined) => this.oldOrders.set(id, r ? decodeOrder(r) : null);
  private noteProduct = (id: string, r: Rec | undefined) => this.oldProducts.set(id, r ? decodeProduct(r) : null);

  /** 1. The batch's valid versions, files in version order (a later file's version of a key wins). */
  async read(files: BatchFile[]): Promise<void> {
    const applied = await this.get(files.map((f) => fKey(f.key)));
    this.todo = files.filter((f) => !applied.has(fKey(f.key))).sort((a, b) => cmp(a.rank, b.rank));
    const body = this.body;
    for (const f of this.todo) {
      let v: versions.FileVersions;
      try {
        v = await (0, versions.readVersions)(f.entity, f.key, f.open);
      } catch (err) {
        throw new SourceFailed(f.key, err);
      }
      body.files++;
      body.bytes += f.size;
      body.rows += v.rows;
      for (const [r, n] of Object.entries(v.rejected))
        body.rejected[r as Reason] = (body.rejected[r as Reason] ?? 0) + (n ?? 0);
      for (const o of v.orders) this.O.set(o.id, { ...o, rank: f.rank });
      for (const p of v.products) this.P.set(p.id, { ...p, rank: f.rank });
      for (const it of v.items)
        (this.I.get(it.id) ?? this.I.set(it.id, []).get(it.id)!).push({
          ...it,
          rank: f.rank,
          file: f.key,
          header: v.header,
        });
      this.put(fKey(f.key), '', '1');
    }
  }

  /** 2. The state's records of the batch's keys; new order and product winners. */
  async lookUp(): Promise<void> {
    const { O, P, I } = this;
    this.batchItems = await this.get([
      ...[...O.keys()].map(oKey),
      ...[...P.keys()].map(pKey),
      ...[...I.keys()].map(iKey),
    ]);
    const got = this.batchItems;
    for (const id of O.keys()) this.noteOrder(id, got.get(oKey(id)));
    for (const id of P.keys()) this.noteProduct(id, got.get(pKey(id)));
    for (const [id, v] of O) {
      const old = this.oldOrders.get(id)!;
      if (old && old.rank >= v.rank) continue;
      this.newOrders.set(id, { rank: v.rank, day: v.day, user: v.user, ret: v.ret });
      this.put(oKey(id), v.rank, orderVal(v.day, v.user, v.ret));
      if (!old) this.arrivedOrders.push(id);
      else if (old.day !== v.day || old.user !== v.user || old.ret !== v.ret) this.movedOrders.add(id);
    }
    for (const [id, v] of P) {
      const old = this.oldProducts.get(id)!;
      if (old && old.rank >= v.rank) continue;
      this.newProducts.set(id, { rank: v.rank, cat: v.cat });
      this.put(pKey(id), v.rank, JSON.stringify(v.cat));
      if (!old) this.arrivedProducts.push(id);
      else if (old.cat !== v.cat) this.recategorized.add(id);
    }
  }

  /** 3. Items waiting for an order or product that has just arrived. */
  async release(): Promise<void> {
    const released: Rec[] = [];
    if (this.state.held > 0) {
      for (const id of this.arrivedOrders) released.push(...(await this.ix.scan(prefix('hq', 'o', id))));
      for (const id of this.arrivedProducts) released.push(...(await this.ix.scan(prefix('hq', 'p', id))));
    }
    for (const rec of released) {
      const h = decodeHeld(rec);
      (this.releasedByItem.get(h.item) ?? this.releasedByItem.set(h.item, []).get(h.item)!).push({ rec, h });
    }
  }

  /** 4. Every order and product the item versions (new, released, and current winners) refer to. */
  async refs(): Promise<void> {
    const { I, oldItems, releasedByItem } = this;
    const got = this.batchItems;
    for (const id of I.keys()) oldItems.set(id, got.has(iKey(id)) ? decodeItem(got.get(iKey(id))!) : null);
    const more = await this.get([...releasedByItem.keys()].filter((id) => !oldItems.has(id)).map(iKey));
    for (const id of releasedByItem.keys())
      if (!oldItems.has(id)) oldItems.set(id, more.has(iKey(id)) ? decodeItem(more.get(iKey(id))!) : null);
    const needO = new Set<string>();
    const needP = new Set<string>();
    const want = (order: string, product?: string) => {
      if (!this.oldOrders.has(order)) needO.add(order);
      if (product !== undefined && !this.oldProducts.has(product)) needP.add(product);
    };
    for (const vs of I.values()) for (const v of vs) want(v.order, v.product);
    for (const rs of releasedByItem.values()) for (const { h } of rs) want(h.order, h.product);
    for (const old of oldItems.values()) if (old) want(old.order);
    const got2 = await this.get([...[...needO].map(oKey), ...[...needP].map(pKey)]);
    for (const id of needO) this.noteOrder(id, got2.get(oKey(id)));
    for (const id of needP) this.noteProduct(id, got2.get(pKey(id)));
  }

  /** 5. Each touched item's winner: the highest-ranked version whose order and product exist. */
  async winners(): Promise<void> {
    const heldPuts: { k: string; h: HeldRec }[] = [];
    for (const id of new Set([...this.I.keys(), ...this.releasedByItem.keys()])) {
      const old = this.oldItems.get(id) ?? null;
      const best = this.winnerOf(id, old, heldPuts);
      if (best && best !== old) {
        this.changedItems.set(id, { old, now: best });
        this.put(iKey(id), best.rank, itemVal(best.order, best.product, best.cents, best.status));
      }
    }
    // A held version already stored (a replayed batch) is not counted twice.
    const heldThere = await this.get(heldPuts.map((x) => x.k));
    for (const { k, h } of heldPuts) {
      if (!heldThere.has(k) && !this.recs.has(k)) this.body.held++;
      this.put(k, h.rank, JSON.stringify(h));
    }
  }

  /** One item's winner among its current one, the batch's versions and its released holds. */
  private winnerOf(id: string, old: ItemRec | null, heldPuts: { k: string; h: HeldRec }[]): ItemRec | null {
    let best: ItemRec | null = old;
    const consider = (v: ItemRec) => {
      if (!best || v.rank > best.rank) best = v;
    };
    for (const v of this.I.get(id) ?? []) {
      const iv: ItemRec = { rank: v.rank, order: v.order, product: v.product, cents: v.cents, status: v.status };
      if (this.orderNow(v.order) && this.productNow(v.product)) consider(iv);
      else {
        const waits = this.orderNow(v.order) ? 'p' : 'o';
        heldPuts.push({
          k: hqKey(waits, waits === 'o' ? v.order : v.product, id, v.rank),
          h: { ...iv, item: id, file: v.file, line: v.line, header: v.header, fields: v.fields },
        });
      }
    }
    for (const { rec, h } of this.releasedByItem.get(id) ?? []) {
      if (!this.orderNow(h.order)) continue; // still waiting for the same order
      if (this.productNow(h.product)) {
        this.put(rec.key, '', null);
        this.body.held--;
        consider({ rank: h.rank, order: h.order, product: h.product, cents: h.cents, status: h.status });
      } else if (rec.key.startsWith(prefix('hq', 'o'))) {
        // its order came, its product has not: it now waits for the product
        this.put(rec.key, '', null);
        heldPuts.push({ k: hqKey('p', h.product, id, h.rank), h });
        this.body.held--;
      }
    }
    return best;
  }

  /** 6. The days whose joined items change, and their records. */
  async changedDays(): Promise<void> {
    const affected = this.affected;
    for (const { old, now } of this.changedItems.values()) {
      if (old) {
        const o = this.oldOrders.get(old.order);
        if (o) affected.add(civilFromDays(o.day));
      }
      affected.add(civilFromDays(this.orderNow(now.order)!.day));
    }
    for (const id of this.movedOrders) {
      affected.add(civilFromDays(this.oldOrders.get(id)!.day));
      affected.add(civilFromDays(this.newOrders.get(id)!.day));
    }
    // Rare (a product's category changed): which days hold its items is in each day's record.
    if (this.recategorized.size) for (const date of await daysHolding(this.ix, this.recategorized)) affected.add(date);
    this.dates = [...affected].sort();
    const dayRecs = await this.get(this.dates.map(dKey));
    for (const d of this.dates)
      this.oldDay.set(d, dayRecs.has(dKey(d)) ? (JSON.parse(dayRecs.get(dKey(d))!.val!) as DayRec) : null);
  }

  private async readDay(date: string): Promise<JoinedRow[]> {
    const d = this.oldDay.get(date);
    return d ? decodeLakeFile(await this.bucket.readBytes(d.file)) : [];
  }

  private add(row: JoinedRow, day: number): void {
    const date = civilFromDays(day);
    if (!this.affected.has(date)) throw new Error(`internal: day ${date} not affected`);
    (this.incoming.get(date) ?? this.incoming.set(date, []).get(date)!).push(row);
  }

  /**
   * 7. Rows in: the changed items, and the items of orders that moved day (read from their old
   * days first, a few days at a time). Rows out are dropped as each day is rewritten (8).
   */
  async rowsIn(): Promise<void> {
    for (const [id, { now }] of this.changedItems) {
      const o = this.orderNow(now.order)!;
      this.add(itemRow(id, now, o, this.productNow(now.product)!.cat), o.day);
    }
    if (!this.movedOrders.size) return;
    const refresh: JoinedRow[] = [];
    const from = [...new Set([...this.movedOrders].map((id) => civilFromDays(this.oldOrders.get(id)!.day)))].sort();
    for (const group of groupsOf(from, DAYS_AT_ONCE)) {
      for (const rows of await Promise.all(group.map((d) => this.readDay(d)))) {
        for (const r of rows)
          if (this.movedOrders.has(r.order_id) && !this.changedItems.has(r.item_id)) refresh.push(r);
      }
    }
    // Items of a moved order keep their own fields; their status decides `returned` with the order's.
    const its = await this.get(refresh.map((r) => iKey(r.item_id)));
    for (const r of refresh) {
      const it = decodeItem(its.get(iKey(r.item_id))!);
      const o = this.orderNow(r.order_id)!;
      this.add(itemRow(r.item_id, it, o, this.productNow(r.product_id)?.cat ?? r.category), o.day);
    }
  }

  /**
   * 8. Each changed day, a few at a time (memory: those days' rows, whatever the history): its
   * rows now, its new lake file (put before the commit; named by content) and record.
   */
  async rewriteDays(): Promise<void> {
    for (const group of groupsOf(this.dates, DAYS_AT_ONCE)) await Promise.all(group.map((d) => this.rewrite(d)));
    this.changedDates.sort();
    this.post.days.sort((a, b) => (a.date < b.date ? -1 : 1));
  }

  private async rewrite(date: string): Promise<void> {
    const kept: JoinedRow[] = [];
    for (const r of await this.readDay(date)) {
      if (this.changedItems.has(r.item_id) || this.movedOrders.has(r.order_id)) continue;
      if (this.recategorized.has(r.product_id)) r.category = this.productNow(r.product_id)!.cat;
      kept.push(r);
    }
    for (const r of this.incoming.get(date) ?? []) kept.push(r);
    this.incoming.delete(date);
    const rows = canonical(kept);
    const old = this.oldDay.get(date) ?? null;
    const bytes = rows.length ? await encodeLakeFile(rows) : null;
    const file = bytes ? lakeFileName(date, bytes) : '';
    if ((old?.file ?? '') === file) return;
    this.changedDates.push(date);
    let rec: DayRec | null = null;
    if (bytes) {
      await this.bucket.put(file, bytes, { contentType: 'application/vnd.apache.parquet' });
      this.lakeWritten++;
      const cents = rows.reduce((c, r) => c + r.sale_price_cents, 0);
      rec = {
        file,
        n: rows.length,
        cents,
        products: [...new Set(rows.map((r) => r.product_id))].sort(),
        kpis: dayKpis(date, rows),
      };
    }
    this.body.joined += (rec?.n ?? 0) - (old?.n ?? 0);
    this.body.revenueCents += (rec?.cents ?? 0) - (old?.cents ?? 0);
    this.put(dKey(date), '', rec ? JSON.stringify(rec) : null);
    const others = await otherDayFiles(this.bucket, date, file);
    this.post.days.push({
      date,
      file,
      kpis: rec?.kpis ?? null,
      hadCategories: old?.kpis.categories.map((c) => c.category) ?? [],
      delete: others,
    });
  }

  /** The newest order day with joined items, after the batch. */
  async latestDay(): Promise<void> {
    const body = this.body;
    for (const d of this.post.days)
      if (d.kpis && (!body.latestDate || d.date > body.latestDate)) body.latestDate = d.date;
    if (!body.latestDate || !this.post.days.some((d) => d.date === body.latestDate && !d.kpis)) return;
    // The newest day lost its last item (rare): the newest day that still has items.
    const gone = (date: string) => this.post.days.some((x) => x.date === date && !x.kpis);
    const left = (await dayRecords(this.ix)).map((d) => d.date).filter((d) => d !== body.latestDate && !gone(d));
    for (const d of this.post.days) if (d.kpis) left.push(d.date);
    body.latestDate = left.sort().at(-1) ?? null;
  }
}

export async function applyBatch(
  bucket: Bucket,
  ix: KeyIndex,
  state: StateBody,
  files: BatchFile[],
): Promise<BatchOutcome> {
  const b = new Batch(bucket, ix, state);
  // Milliseconds per step, for the logs (where a batch's time goes).
  const { times, lap } = laps();
  await b.read(files);
  lap('read');
  await b.lookUp();
  lap('lookup');
  await b.release();
  lap('release');
  await b.refs();
  lap('refs');
  await b.winners();
  lap('winners');
  await b.changedDays();
  await b.rowsIn();
  lap('rows');
  await b.rewriteDays();
  await b.latestDay();
  lap('write');
  return {
    times,
    recs: [...b.recs.values()].sort((x, y) => cmp(x.key, y.key)),
    body: b.body,
    post: b.post,
    changedDates: b.changedDates,
    lakeWritten: b.lakeWritten,
    skippedFiles: files.length - b.todo.length,
    lookups: b.lookups,
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
