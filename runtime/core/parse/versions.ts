// One archived file → its valid row versions as plain values, for the incremental transform (which
// compares them with the state's records key by key). The same scanner, rules and parser as
// `kpi compute` (the WebAssembly row scanner; the TypeScript reference for the rows it hands back,
// and csv-parse after a decline): the first row of a key in a file stands, later ones are
// duplicate_key; a file that is not CSV or lacks a required column counts nothing.
import { fieldsOf, NotCsv, readCsv, type CsvRecord } from './csv';
import type { Entity } from '../names';
import { HeaderError, mapHeader, RowRules, SCHEMAS, type Reason } from './rules';

import { BINARY_HEADER, binaryHeader, ITEM_STATUS_RETURNED, verdictSlots } from '../join/join';
import { Interner } from '../join/intern';
import { newVerdict, scanRows, verdictOf, type RowVerdict, type VerdictSlots } from './rowscan';

export interface OrderVersion {
  id: string;
  day: number;
  user: string;
  ret: boolean;
  line: number;
}
export interface ProductVersion {
  id: string;
  cat: string;
  line: number;
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
  /** which reader read it (as FileResult.parser) */
  parser?: 'wasm' | 'fast' | 'csv-parse';
  /** the rejected rows with their fields, when asked for (validate's err/ report) */
  rejectedRows?: RejectedVersion[];
}

export interface RejectedVersion {
  line: number;
  reason: Reason;
  fields: string[];
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const text = (b: Uint8Array, s: number, e: number) => decoder.decode(b.subarray(s, e));

const emptyVersions = (entity: Entity): FileVersions => ({
  entity,
  status: 'accepted',
  rows: 0,
  header: [],
  rejected: {},
  orders: [],
  products: [],
  items: [],
});

/** Keys met in a file, by their bytes: no string per row (decimals by value). */
class KeysMet {
  private readonly keys = new Interner();
  /** Whether v's key was met before in this file (interning it then makes no new id). */
  again(v: RowVerdict): boolean {
    const before = this.keys.size;
    this.keys.internRead(v.buf, v.ks, v.ke, v.kn, v.kh);
    return this.keys.size === before;
  }
}

/** `file` names the source in errors (and lets a test single one out). */
export async function readVersions(
  entity: Entity,
  file: string,
  open: (reuse?: boolean) => AsyncIterable<Uint8Array>,
  engine: 'wasm' | 'reference' = 'wasm',
  /** items keep the row as read (a held item's report); false leaves it out (the validated zone) */
  withFields = true,
  /** keep every rejected row with its fields (validate's err/ report) */
  keepRejected = false,
): Promise<FileVersions> {
  const schema = SCHEMAS[entity];
  let out: FileVersions;
  let rules: RowRules | null = null;
  let seen = new KeysMet();
  let slots: VerdictSlots = { key: 0, a: -1, b: -1, status: -1 };
  const v = newVerdict();
  const fresh = () => emptyVersions(entity);
  out = fresh();
  const header = (rec: CsvRecord): { rules: RowRules; slots: VerdictSlots } => {
    if (binaryHeader(rec)) throw new HeaderError(BINARY_HEADER);
    out.header = fieldsOf(rec);
    rules = new RowRules(schema, mapHeader(schema, out.header));
    slots = verdictSlots(entity, rules);
    return { rules, slots };
  };
  const row = (v: RowVerdict): void => {
    out.rows++;
    const b = v.buf;
    const dup = v.ks !== v.ke && seen.again(v);
    const reason: Reason | null = v.reason ?? (dup ? 'duplicate_key' : null);
    if (reason) {
      out.rejected[reason] = (out.rejected[reason] ?? 0) + 1;
      if (keepRejected) (out.rejectedRows ??= []).push({ line: v.line, reason, fields: v.fields() });
      return;
    }
    const id = v.ks !== v.ke ? text(b, v.ks, v.ke) : '';
    if (entity === 'products') out.products.push({ id, cat: text(b, v.as, v.ae), line: v.line });
    else if (entity === 'orders')
      out.orders.push({
        id,
        day: v.day,
        user: text(b, v.as, v.ae),
        ret: v.status === ITEM_STATUS_RETURNED,
        line: v.line,
      });
    else
      out.items.push({
        id,
        order: text(b, v.as, v.ae),
        product: text(b, v.bs, v.be),
        cents: v.cents,
        status: v.status,
        line: v.line,
        fields: withFields ? v.fields() : [],
      });
  };
  // The reference path (and csv-parse after a decline): the same verdict from the TypeScript rules.
  const onRecord = (rec: CsvRecord): void => {
    if (!rules) header(rec);
    else row(verdictOf(v, rec, rules, slots));
  };
  const restart = () => {
    out = fresh();
    rules = null;
    seen = new KeysMet();
  };
  try {
    const wasm = { name: 'wasm' as const, read: () => scanRows(open, { header, row }) };
    // (awaited first: a restart after a decline replaces `out` meanwhile)
    const parser = await readCsv(open, onRecord, restart, engine === 'wasm' ? wasm : undefined);
    out.parser = parser;
    if (!rules) throw new HeaderError('empty file (no header row)');
  } catch (err) {
    if (!(err instanceof HeaderError) && !(err instanceof NotCsv)) throw Object.assign(err as Error, { file });
    return {
      ...fresh(),
      status: 'rejected',
      note: err instanceof NotCsv ? `not readable as CSV: ${err.message}` : err.message,
    };
  }
  return out;
}
