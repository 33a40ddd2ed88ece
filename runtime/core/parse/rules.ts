// Stage 2 — records → valid rows or a reason. The row rules of SPEC.md, in their order, on bytes.
import type { Entity } from '../names';
import type { CsvRecord } from './csv';
import { lastNanos, parseCents, parseNonNegInt, parseTimestamp } from './timestamp';
import { isValidUtf8 } from './utf8';

export const REASONS = [
  'bad_encoding',
  'missing_field',
  'field_too_long',
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
  /** longest value accepted, in bytes (field_too_long): the columns that become keys */
  maxBytes: Readonly<Record<string, number>>;
}

/**
 * Identifiers become DynamoDB-free state keys and lake values, categories a DynamoDB partition key
 * (at most 2,048 bytes); unbounded, one huge value fails every commit that carries it. The bounds
 * leave room for any real id (a UUID is 36 bytes) and category.
 */
export const MAX_ID_BYTES = 256;
export const MAX_CATEGORY_BYTES = 1024;

const TIMES = ['created_at', 'shipped_at', 'delivered_at', 'returned_at'] as const;

export const SCHEMAS: Record<Entity, Schema> = {
  orders: {
    entity: 'orders',
    key: 'order_id',
    required: ['order_id', 'user_id', 'created_at', 'status'],
    optional: ['shipped_at', 'delivered_at', 'returned_at', 'num_of_item'],
    maxBytes: { order_id: MAX_ID_BYTES, user_id: MAX_ID_BYTES },
  },
  order_items: {
    entity: 'order_items',
    key: 'id',
    required: ['id', 'order_id', 'product_id', 'sale_price'],
    optional: ['user_id', 'status', 'created_at', 'shipped_at', 'delivered_at', 'returned_at'],
    maxBytes: { id: MAX_ID_BYTES, order_id: MAX_ID_BYTES, product_id: MAX_ID_BYTES },
  },
  products: {
    entity: 'products',
    key: 'id',
    required: ['id', 'category'],
    optional: ['sku', 'cost', 'name', 'brand', 'retail_price', 'department'],
    maxBytes: { id: MAX_ID_BYTES, category: MAX_CATEGORY_BYTES },
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
 * Columns are addressed by slot (their position in required + optional), never by name per row.
 */
export class RowRules {
  /** Trimmed [s, e) of each slot in the current record; s === e when empty or absent. */
  readonly s: Int32Array;
  readonly e: Int32Array;
  cents = 0;
  createdSec = 0;
  private readonly names: string[];
  private readonly fileCol: Int32Array;
  private readonly requiredSlots: number[];
  /** per slot: the longest value in bytes, 0 when unbounded */
  private readonly maxBytes: Int32Array;
  private readonly timeSlots: number[];
  private readonly priceSlot: number;
  private readonly intSlot: number;
  private readonly createdSlot: number;
  private readonly shippedSlot: number;
  private readonly deliveredSlot: number;

  constructor(schema: Schema, layout: Layout) {
    this.names = [...schema.required, ...schema.optional];
    this.fileCol = Int32Array.from(this.names, (n) => layout.col[n]);
    this.s = new Int32Array(this.names.length);
    this.e = new Int32Array(this.names.length);
    this.requiredSlots = schema.required.map((_, i) => i);
    this.maxBytes = Int32Array.from(this.names, (n) => schema.maxBytes[n] ?? 0);
    const present = (n: string) => (this.names.includes(n) && layout.col[n] >= 0 ? this.names.indexOf(n) : -1);
    this.timeSlots = TIMES.map(present).filter((i) => i >= 0);
    this.priceSlot = present('sale_price');
    this.intSlot = present('num_of_item');
    this.createdSlot = present('created_at');
    this.shippedSlot = present('shipped_at');
    this.deliveredSlot = present('delivered_at');
  }

  /** What the WebAssembly row scanner needs to apply these rules (slots; -1 where absent). */
  wasmLayout(): {
    fileCol: Int32Array;
    maxBytes: Int32Array;
    required: number;
    price: number;
    integer: number;
    created: number;
    shipped: number;
    delivered: number;
    returned: number;
  } {
    const present = (n: string) =>
      this.names.includes(n) && this.fileCol[this.names.indexOf(n)] >= 0 ? this.names.indexOf(n) : -1;
    return {
      fileCol: this.fileCol,
      maxBytes: this.maxBytes,
      required: this.requiredSlots.length,
      price: this.priceSlot,
      integer: this.intSlot,
      created: this.createdSlot,
      shipped: this.shippedSlot,
      delivered: this.deliveredSlot,
      returned: present('returned_at'),
    };
  }

  /** The slot of a column name of this schema. */
  slot(name: string): number {
    const i = this.names.indexOf(name);
    if (i < 0) throw new Error(`no column ${name}`);
    return i;
  }

  private locate(rec: CsvRecord): void {
    const b = rec.buf;
    const cols = this.fileCol;
    for (let k = 0; k < cols.length; k++) {
      const i = cols[k];
      if (i < 0 || i >= rec.count) {
        this.s[k] = 0;
        this.e[k] = 0;
        continue;
      }
      let s = rec.starts[i];
      let e = rec.ends[i];
      while (s < e && (b[s] === SPACE || b[s] === TAB)) s++;
      while (e > s && (b[e - 1] === SPACE || b[e - 1] === TAB)) e--;
      this.s[k] = s;
      this.e[k] = e;
    }
  }

  check(rec: CsvRecord): Reason | null {
    const b = rec.buf;
    // Trimmed before any verdict: a rejected row still claims its key (duplicate_key, SPEC).
    this.locate(rec);
    // Checked first, on every field (extra columns too): text that does not decode is not data.
    for (let i = 0; i < rec.count; i++) if (!isValidUtf8(b, rec.starts[i], rec.ends[i])) return 'bad_encoding';
    const S = this.s;
    const E = this.e;
    for (const k of this.requiredSlots) if (S[k] === E[k]) return 'missing_field';
    const max = this.maxBytes;
    for (let k = 0; k < max.length; k++) if (max[k] > 0 && E[k] - S[k] > max[k]) return 'field_too_long';
    if (this.priceSlot >= 0) {
      this.cents = parseCents(b, S[this.priceSlot], E[this.priceSlot]);
      if (this.cents < 0) return 'bad_price';
    }
    let created = NaN;
    let createdNs = 0;
    let shipped = NaN;
    let shippedNs = 0;
    let delivered = NaN;
    let deliveredNs = 0;
    for (const k of this.timeSlots) {
      if (S[k] === E[k]) continue;
      const v = parseTimestamp(b, S[k], E[k]);
      if (Number.isNaN(v)) return 'bad_timestamp';
      if (k === this.createdSlot) {
        created = v;
        createdNs = lastNanos;
      } else if (k === this.shippedSlot) {
        shipped = v;
        shippedNs = lastNanos;
      } else if (k === this.deliveredSlot) {
        delivered = v;
        deliveredNs = lastNanos;
      }
    }
    this.createdSec = created;
    const n = this.intSlot;
    if (n >= 0 && S[n] !== E[n] && parseNonNegInt(b, S[n], E[n]) < 0) return 'bad_integer';
    if (before(shipped, shippedNs, created, createdNs)) return 'shipped_before_created';
    if (before(delivered, deliveredNs, shipped, shippedNs)) return 'delivered_before_shipped';
    return null;
  }

  /** Whether a slot's trimmed value equals `word` (lower case), ignoring ASCII case. */
  is(rec: CsvRecord, slot: number, word: string): boolean {
    const s = this.s[slot];
    if (this.e[slot] - s !== word.length) return false;
    for (let i = 0; i < word.length; i++) if ((rec.buf[s + i] | 0x20) !== word.charCodeAt(i)) return false;
    return true;
  }

  present(slot: number): boolean {
    return this.s[slot] !== this.e[slot];
  }
}

function before(a: number, aNs: number, b: number, bNs: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  return a < b || (a === b && aNs < bNs);
}
