// Stage 2 — records → valid rows or a reason. The row rules of SPEC.md, in their order, on bytes.
import type { Entity } from './names';
import type { CsvRecord } from './csv';
import { lastNanos, parseCents, parseNonNegInt, parseTimestamp } from './timestamp';

export const REASONS = [
  'missing_field',
  'bad_price',
  'bad_timestamp',
  'bad_integer',
  'shipped_before_created',
  'delivered_before_shipped',
  'duplicate_key',
  'unknown_order',
  'unknown_product',
] as const;
export type Reason = (typeof REASONS)[number];

export interface Schema {
  entity: Entity;
  key: string;
  required: readonly string[];
  optional: readonly string[];
}

const TIMES = ['created_at', 'shipped_at', 'delivered_at', 'returned_at'] as const;

export const SCHEMAS: Record<Entity, Schema> = {
  orders: {
    entity: 'orders',
    key: 'order_id',
    required: ['order_id', 'user_id', 'created_at', 'status'],
    optional: ['shipped_at', 'delivered_at', 'returned_at', 'num_of_item'],
  },
  order_items: {
    entity: 'order_items',
    key: 'id',
    required: ['id', 'order_id', 'product_id', 'sale_price'],
    optional: ['user_id', 'status', 'created_at', 'shipped_at', 'delivered_at', 'returned_at'],
  },
  products: {
    entity: 'products',
    key: 'id',
    required: ['id', 'category'],
    optional: ['sku', 'cost', 'name', 'brand', 'retail_price', 'department'],
  },
};

/** A file whose header lacks required columns: rejected whole. */
export class HeaderError extends Error {}

/** Where each known column sits in the file (-1 when absent). */
export interface Layout {
  col: Record<string, number>;
  header: string[];
}

export function mapHeader(schema: Schema, header: string[]): Layout {
  const col: Record<string, number> = {};
  const names = header.map((h) => h.trim().toLowerCase());
  for (const name of [...schema.required, ...schema.optional]) col[name] = names.indexOf(name);
  const missing = schema.required.filter((n) => col[n] < 0);
  if (missing.length) {
    throw new HeaderError(
      `missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
        `(a ${schema.entity} file needs ${schema.required.join(', ')}; header was: ${header.join(',').slice(0, 200)})`,
    );
  }
  return { col, header };
}

const SPACE = 32;
const TAB = 9;

/**
 * Checks one record against the rules that need only the row itself (everything but
 * duplicate_key and unknown_*), leaving trimmed field ranges and parsed values behind for the caller.
 */
export class RowRules {
  readonly s: Record<string, number> = {};
  readonly e: Record<string, number> = {};
  cents = 0;
  createdSec = 0;
  private readonly names: string[];
  private readonly required: string[];
  private readonly times: string[];
  private readonly hasPrice: boolean;
  private readonly hasInteger: boolean;

  constructor(private readonly schema: Schema, private readonly layout: Layout) {
    this.names = [...schema.required, ...schema.optional];
    this.required = [...schema.required];
    this.times = TIMES.filter((t) => layout.col[t] !== undefined && layout.col[t] >= 0);
    this.hasPrice = layout.col['sale_price'] !== undefined;
    this.hasInteger = (layout.col['num_of_item'] ?? -1) >= 0;
  }

  /** Trimmed byte range of a column in the record; empty (s === e) when absent. */
  private locate(rec: CsvRecord): void {
    const b = rec.buf;
    for (const name of this.names) {
      const i = this.layout.col[name];
      if (i < 0 || i >= rec.count) {
        this.s[name] = 0;
        this.e[name] = 0;
        continue;
      }
      let s = rec.starts[i];
      let e = rec.ends[i];
      while (s < e && (b[s] === SPACE || b[s] === TAB)) s++;
      while (e > s && (b[e - 1] === SPACE || b[e - 1] === TAB || b[e - 1] === 13)) e--;
      this.s[name] = s;
      this.e[name] = e;
    }
  }

  check(rec: CsvRecord): Reason | null {
    this.locate(rec);
    const b = rec.buf;
    for (const name of this.required) if (this.s[name] === this.e[name]) return 'missing_field';
    if (this.hasPrice) {
      this.cents = parseCents(b, this.s.sale_price, this.e.sale_price);
      if (this.cents < 0) return 'bad_price';
    }
    let created = NaN;
    let createdNs = 0;
    let shipped = NaN;
    let shippedNs = 0;
    let delivered = NaN;
    let deliveredNs = 0;
    for (const t of this.times) {
      const s = this.s[t];
      const e = this.e[t];
      if (s === e) continue;
      const v = parseTimestamp(b, s, e);
      if (Number.isNaN(v)) return 'bad_timestamp';
      if (t === 'created_at') (created = v), (createdNs = lastNanos);
      else if (t === 'shipped_at') (shipped = v), (shippedNs = lastNanos);
      else if (t === 'delivered_at') (delivered = v), (deliveredNs = lastNanos);
    }
    this.createdSec = created;
    if (this.hasInteger && this.s.num_of_item !== this.e.num_of_item) {
      if (parseNonNegInt(b, this.s.num_of_item, this.e.num_of_item) < 0) return 'bad_integer';
    }
    if (before(shipped, shippedNs, created, createdNs)) return 'shipped_before_created';
    if (before(delivered, deliveredNs, shipped, shippedNs)) return 'delivered_before_shipped';
    return null;
  }

  /** Whether a column's trimmed value equals `word`, ignoring ASCII case. */
  is(rec: CsvRecord, name: string, word: string): boolean {
    const s = this.s[name];
    const e = this.e[name];
    if (e - s !== word.length) return false;
    for (let i = 0; i < word.length; i++) if ((rec.buf[s + i] | 0x20) !== word.charCodeAt(i)) return false;
    return true;
  }

  present(name: string): boolean {
    return this.s[name] !== this.e[name];
  }
}

function before(a: number, aNs: number, b: number, bNs: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  return a < b || (a === b && aNs < bNs);
}
