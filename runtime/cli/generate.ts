// `kpi generate`: deterministic TheLook-shaped CSVs (products, orders, order_items in part files),
// with injected defects of every SPEC reason at a chosen rate.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { csvCell } from '../core/formats/rejects';
import { civilFromDays, daysFromCivil } from '../core/parse/timestamp';

export interface GenerateOptions {
  items: number;
  seed?: number;
  dirty?: number;
  /** rows per part file for orders and items */
  partRows?: number;
  onProgress?: (done: number, total: number) => void;
  /** how ids are spelt (decimal by default): what real shops have varies, and so does the cost */
  idStyle?: IdStyle;
}

export const ID_STYLES = ['decimal', 'uuid', 'prefixed', 'bigint'] as const;
export type IdStyle = (typeof ID_STYLES)[number];

/** The murmur3 finalizer: a bijection on 32-bit integers, so distinct inputs give distinct words. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const hex8 = (v: number) => v.toString(16).padStart(8, '0');

/**
 * An id of kind k (o order, i item, p product, u user) and number n in the chosen style: decimal
 * `n`; bigint `n + 10^12` (past the scanner's canonical range); prefixed `ORD-00000042`; uuid, a
 * version-4-shaped UUID derived from (k, n) — unique because its first word is a bijection of n.
 */
export function idOf(style: IdStyle, k: 'o' | 'i' | 'p' | 'u', n: number): string {
  switch (style) {
    case 'decimal':
      return String(n);
    case 'bigint':
      return String(1_000_000_000_000 + n);
    case 'prefixed':
      return `${{ o: 'ORD', i: 'ITM', p: 'PRD', u: 'USR' }[k]}-${String(n).padStart(8, '0')}`;
    case 'uuid': {
      const seed = k.charCodeAt(0) * 0x9e3779b1;
      const w = [fmix32(n ^ seed), fmix32(n + 0x68e31da4 + seed), fmix32(n * 3 + 0xb5297a4d), fmix32(n + 0x1b56c4e9)];
      const a = hex8(w[0]!);
      const b = hex8(w[1]!);
      const c = hex8(w[2]!);
      const d = hex8(w[3]!);
      return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${'89ab'[w[2]! & 3]}${c.slice(1, 4)}-${c.slice(4)}${d}`;
    }
  }
}

export interface GenerateSummary {
  products: number;
  orders: number;
  items: number;
  files: string[];
  defects: Record<string, number>;
}

const CATEGORIES = [
  'Accessories',
  'Active',
  'Blazers & Jackets',
  'Clothing Sets',
  'Dresses',
  'Fashion Hoodies & Sweatshirts',
  'Intimates',
  'Jeans',
  'Jumpsuits & Rompers',
  'Leggings',
  'Maternity',
  'Outerwear & Coats',
  'Pants',
  'Pants & Capris',
  'Plus',
  'Shorts',
  'Skirts',
  'Sleep & Lounge',
  'Socks',
  'Socks & Hosiery',
  'Suits',
  'Suits & Sport Coats',
  'Sweaters',
  'Swim',
  'Tops & Tees',
  'Underwear',
];
const BRANDS = [
  'Calvin Klein',
  'Carhartt',
  "Levi's",
  'Columbia',
  'Hanes',
  'Nike',
  'Allegra K',
  'Tommy Hilfiger',
  'Quiksilver',
  'Dockers',
];
const ADJECTIVES = ['Classic', 'Slim', 'Relaxed', 'Organic', 'Stretch', 'Vintage', 'Essential', 'Premium'];
const ORDER_STATUS = [
  'Complete',
  'Complete',
  'Complete',
  'Shipped',
  'Shipped',
  'Processing',
  'Cancelled',
  'Returned',
  'Returned',
];

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const p2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** Seconds since epoch → one of the timestamp spellings SPEC.md allows (all meaning the same instant). */
function stamp(sec: number, style: number): string {
  const day = Math.floor(sec / 86400);
  let rest = sec - day * 86400;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  const base = `${civilFromDays(day)}`;
  switch (style) {
    case 0:
      return `${base} ${p2(h)}:${p2(m)}:${p2(s)} UTC`;
    case 1:
      return `${base}T${p2(h)}:${p2(m)}:${p2(s)}`;
    case 2:
      return `${base}T${p2(h)}:${p2(m)}:${p2(s)}.000Z`;
    default: {
      // the same instant written in UTC+02:00
      const local = sec + 7200;
      const ld = Math.floor(local / 86400);
      let r = local - ld * 86400;
      const lh = Math.floor(r / 3600);
      r -= lh * 3600;
      return `${civilFromDays(ld)}T${p2(lh)}:${p2(Math.floor(r / 60))}:${p2(r % 60)}+02:00`;
    }
  }
}

class PartWriter {
  private fd = -1;
  private buf: string[] = [];
  private size = 0;
  private rowsInPart = 0;
  private part = 0;
  readonly files: string[] = [];
  constructor(
    private readonly dir: string,
    private readonly base: string,
    private readonly header: string,
    private readonly partRows: number,
  ) {
    mkdirSync(dir, { recursive: true });
  }
  private open(): void {
    this.part++;
    const name = path.join(this.dir, `${this.base}_part${String(this.part).padStart(3, '0')}.csv`);
    this.files.push(name);
    this.fd = openSync(name, 'w');
    this.write(this.header + '\n');
  }
  private write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    if (this.size > 1 << 20) this.flush();
  }
  private flush(): void {
    if (this.fd >= 0 && this.buf.length) writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.size = 0;
  }
  row(line: string): void {
    if (this.fd < 0 || this.rowsInPart >= this.partRows) {
      this.close();
      this.open();
      this.rowsInPart = 0;
    }
    this.write(line + '\n');
    this.rowsInPart++;
  }
  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export function generate(dir: string, opts: GenerateOptions): GenerateSummary {
  const rand = rng(opts.seed ?? 1);
  const dirty = opts.dirty ?? 0;
  const style = opts.idStyle ?? 'decimal';
  const id = (k: 'o' | 'i' | 'p' | 'u', n: number) => idOf(style, k, n);
  const partRows = opts.partRows ?? Math.max(1000, Math.ceil(opts.items / 8));
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)] as T; // a is never empty
  const defects: Record<string, number> = {};
  const defect = (kinds: string[]): string | null => {
    if (dirty <= 0 || rand() >= dirty) return null;
    const k = pick(kinds);
    defects[k] = (defects[k] ?? 0) + 1;
    return k;
  };

  // products
  const nProducts = Math.max(50, Math.min(30000, Math.ceil(opts.items / 4)));
  const products = new PartWriter(
    path.join(dir, 'products'),
    'products',
    'id,cost,category,name,brand,retail_price,department,sku',
    Math.ceil(nProducts / 2),
  );
  const price = new Float64Array(nProducts + 1);
  for (let pid = 1; pid <= nProducts; pid++) {
    const cat = pick(CATEGORIES);
    const brand = pick(BRANDS);
    const retail = Math.round((5 + rand() * 195) * 100) / 100;
    price[pid] = retail;
    let name = `${brand} ${pick(ADJECTIVES)} ${cat.replace(/s$/, '')}`;
    if (rand() < 0.05) name += `, size "${pick(['S', 'M', 'L', 'XL'])}"`;
    let idText = id('p', pid);
    let catText = cat;
    const d = defect(['missing_field', 'duplicate_key']);
    if (d === 'missing_field') catText = '';
    if (d === 'duplicate_key' && pid > 1) idText = id('p', pid - 1);
    products.row(
      [
        idText,
        (retail * 0.45).toFixed(2),
        csvCell(catText),
        csvCell(name),
        csvCell(brand),
        retail.toFixed(2),
        rand() < 0.5 ? 'Women' : 'Men',
        `SKU${pid}`,
      ].join(','),
    );
  }
  products.close();

  // orders and items
  const nOrders = Math.max(1, Math.round(opts.items / 1.6));
  const nUsers = Math.max(1, Math.round(nOrders / 1.4));
  const firstDay = daysFromCivil(2025, 1, 1);
  const spanDays = 181;
  const orders = new PartWriter(
    path.join(dir, 'orders'),
    'orders',
    'order_id,user_id,status,created_at,returned_at,shipped_at,delivered_at,num_of_item',
    partRows,
  );
  const items = new PartWriter(
    path.join(dir, 'order_items'),
    'order_items',
    'id,order_id,user_id,product_id,status,created_at,shipped_at,delivered_at,returned_at,sale_price',
    partRows,
  );
  // Items are written with a lag so an item file refers to orders of earlier and later order files.
  const pending: string[] = [];
  const lag = Math.max(1, Math.floor(partRows / 3));
  let itemId = 0;
  let ordersWritten = 0;
  for (let o = 1; itemId < opts.items; o++) {
    const user = 1 + Math.floor(rand() * nUsers);
    const status = pick(ORDER_STATUS);
    const created = (firstDay + Math.floor(rand() * spanDays)) * 86400 + Math.floor(rand() * 86400);
    const shipped =
      status === 'Processing' || status === 'Cancelled' ? NaN : created + 3600 + Math.floor(rand() * 86400 * 2);
    const delivered =
      status === 'Complete' || status === 'Returned' ? shipped + 3600 * 6 + Math.floor(rand() * 86400 * 4) : NaN;
    const returned = status === 'Returned' ? delivered + 86400 + Math.floor(rand() * 86400 * 5) : NaN;
    const remaining = opts.items - itemId;
    const count = Math.min(remaining, 1 + Math.floor(rand() * rand() * 4));
    const spelling = Math.floor(rand() * 4);
    const ts = (v: number) => (Number.isNaN(v) ? '' : stamp(v, spelling));
    let cols = [
      id('o', o),
      id('u', user),
      status,
      ts(created),
      ts(returned),
      ts(shipped),
      ts(delivered),
      String(count),
    ];
    switch (
      defect([
        'missing_field',
        'bad_timestamp',
        'bad_integer',
        'shipped_before_created',
        'delivered_before_shipped',
        'duplicate_key',
      ])
    ) {
      case 'missing_field':
        cols[1] = '';
        break;
      case 'bad_timestamp':
        cols[3] = `${civilFromDays(firstDay + 58)}`.replace(/-\d\d$/, '-30') + 'T10:00:00';
        break;
      case 'bad_integer':
        cols[7] = pick(['two', '-1', '1.5']);
        break;
      case 'shipped_before_created':
        cols[5] = stamp(created - 7200, 1);
        break;
      case 'delivered_before_shipped':
        cols[5] = stamp(created + 3600, 1);
        cols[6] = stamp(created + 1800, 1);
        break;
      case 'duplicate_key':
        if (o > 1) cols = [id('o', o - 1), ...cols.slice(1)];
        break;
    }
    orders.row(cols.join(','));
    ordersWritten++;
    for (let k = 0; k < count; k++) {
      itemId++;
      const product = 1 + Math.floor(rand() * nProducts);
      const noise = rand() < 0.2 ? 0.0000016784668 : 0;
      const sale = ((price[product] ?? 0) + noise).toString();
      const itemStatus = status === 'Returned' && rand() < 0.3 ? 'Complete' : status;
      const c = [
        id('i', itemId),
        id('o', o),
        id('u', user),
        id('p', product),
        itemStatus,
        ts(created),
        ts(shipped),
        ts(delivered),
        ts(returned),
        sale,
      ];
      switch (
        defect([
          'missing_field',
          'bad_price',
          'bad_timestamp',
          'shipped_before_created',
          'delivered_before_shipped',
          'duplicate_key',
          'unknown_order',
          'unknown_product',
        ])
      ) {
        case 'missing_field':
          c[3] = '';
          break;
        case 'bad_price':
          c[9] = pick(['12,50', '-3.00', 'abc', '']);
          if (c[9] === '') c[9] = 'N/A';
          break;
        case 'bad_timestamp':
          c[6] = pick(['2025-02-30T10:00:00', '2025-13-01 00:00:00', 'yesterday']);
          break;
        case 'shipped_before_created':
          c[5] = stamp(created + 86400 * 3, 1);
          c[6] = stamp(created, 1);
          c[7] = '';
          break;
        case 'delivered_before_shipped':
          c[6] = stamp(created + 7200, 1);
          c[7] = stamp(created + 3600, 1);
          break;
        case 'duplicate_key':
          if (itemId > 1) c[0] = id('i', itemId - 1);
          break;
        case 'unknown_order':
          c[1] = id('o', 900000000 + Math.floor(rand() * 1000));
          break;
        case 'unknown_product':
          c[3] = id('p', 900000000 + Math.floor(rand() * 1000));
          break;
      }
      pending.push(c.map(csvCell).join(','));
    }
    if (pending.length > 2 * lag) for (const line of pending.splice(0, pending.length - lag)) items.row(line);
    if (itemId % 100000 < count) opts.onProgress?.(itemId, opts.items);
  }
  for (const line of pending) items.row(line);
  orders.close();
  items.close();

  // A late corrections file: some orders re-sent with a new status (an upsert across files).
  const updates = new PartWriter(
    path.join(dir, 'orders'),
    'orders_zz_corrections',
    'order_id,user_id,status,created_at',
    Infinity,
  );
  const nUpdates = Math.max(1, Math.floor(ordersWritten / 200));
  const chosen = new Set<number>();
  while (chosen.size < Math.min(nUpdates, ordersWritten)) chosen.add(1 + Math.floor(rand() * ordersWritten));
  for (const o of chosen) {
    const created = (firstDay + Math.floor(rand() * spanDays)) * 86400 + Math.floor(rand() * 86400);
    updates.row([id('o', o), id('u', 1 + Math.floor(rand() * nUsers)), 'Returned', stamp(created, 0)].join(','));
  }
  updates.close();
  return {
    products: nProducts,
    orders: ordersWritten,
    items: itemId,
    files: [...products.files, ...orders.files, ...updates.files, ...items.files],
    defects,
  };
}
