// One archived file → its valid row versions as plain values, for the incremental transform (which
// compares them with the state's records key by key). The same rules and parser as `kpi compute`:
// the first row of a key in a file stands, later ones are duplicate_key; a file that is not CSV or
// lacks a required column counts nothing.
import { fieldsOf, NotCsv, readCsv, type CsvRecord } from './csv';
import type { Entity } from './names';
import { HeaderError, mapHeader, RowRules, SCHEMAS, type Reason } from './rules';

import { BINARY_HEADER, binaryHeader, ITEM_STATUS_NONE, ITEM_STATUS_OTHER, ITEM_STATUS_RETURNED, slotsOf, type Slots } from './join';

export interface OrderVersion {
  id: string;
  day: number;
  user: string;
  ret: boolean;
}
export interface ProductVersion {
  id: string;
  cat: string;
}
export interface ItemVersion {
  id: string;
  order: string;
  product: string;
  cents: number;
  status: number;
  line: number;
  /** the row as read (kept for the err/unmatched/ report if the item has to wait) */
  fields: string[];
}

export interface FileVersions {
  entity: Entity;
  status: 'accepted' | 'rejected';
  note?: string;
  rows: number;
  header: string[];
  rejected: Partial<Record<Reason, number>>;
  orders: OrderVersion[];
  products: ProductVersion[];
  items: ItemVersion[];
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** `file` names the source in errors (and lets a test single one out). */
export async function readVersions(entity: Entity, file: string, open: (reuse?: boolean) => AsyncIterable<Uint8Array>): Promise<FileVersions> {
  const schema = SCHEMAS[entity];
  let out: FileVersions;
  let rules: RowRules | null = null;
  let seen = new Set<string>();
  let slots: Slots = { key: 0, a: 0, b: 0, c: 0 };
  const fresh = (): FileVersions => ({ entity, status: 'accepted', rows: 0, header: [], rejected: {}, orders: [], products: [], items: [] });
  out = fresh();
  const text = (b: Uint8Array, k: number) => decoder.decode(b.subarray(rules!.s[k], rules!.e[k]));
  const onRecord = (rec: CsvRecord): void => {
    if (!rules) {
      if (binaryHeader(rec)) throw new HeaderError(BINARY_HEADER);
      out.header = fieldsOf(rec);
      rules = new RowRules(schema, mapHeader(schema, out.header));
      slots = slotsOf(entity, rules);
      return;
    }
    out.rows++;
    const r = rules;
    const reason0 = r.check(rec);
    const b = rec.buf;
    let dup = false;
    let id = '';
    if (r.present(slots.key)) {
      id = text(b, slots.key);
      dup = seen.has(id);
      seen.add(id);
    }
    const reason: Reason | null = reason0 ?? (dup ? 'duplicate_key' : null);
    if (reason) {
      out.rejected[reason] = (out.rejected[reason] ?? 0) + 1;
      return;
    }
    if (entity === 'products') out.products.push({ id, cat: text(b, slots.a) });
    else if (entity === 'orders') out.orders.push({ id, day: Math.floor(r.createdSec / 86400), user: text(b, slots.a), ret: r.is(rec, slots.b, 'returned') });
    else
      out.items.push({
        id,
        order: text(b, slots.a),
        product: text(b, slots.b),
        cents: r.cents,
        status: !r.present(slots.c) ? ITEM_STATUS_NONE : r.is(rec, slots.c, 'returned') ? ITEM_STATUS_RETURNED : ITEM_STATUS_OTHER,
        line: rec.line,
        fields: fieldsOf(rec),
      });
  };
  const restart = () => {
    out = fresh();
    rules = null;
    seen = new Set();
  };
  try {
    await readCsv(open, onRecord, restart);
    if (!rules) throw new HeaderError('empty file (no header row)');
  } catch (err) {
    if (!(err instanceof HeaderError) && !(err instanceof NotCsv)) throw Object.assign(err as Error, { file });
    return { ...fresh(), status: 'rejected', note: err instanceof NotCsv ? `not readable as CSV: ${err.message}` : err.message };
  }
  return out;
}
