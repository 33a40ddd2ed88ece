// Stages 1 and 2 through the WebAssembly row scanner (assembly/rows.ts): file chunks are copied into
// its linear memory, and each row comes back as a verdict with byte ranges of the columns the join
// reads. The TypeScript scanner and rules stay the reference; they also read the rare row the module
// hands back (SLOW: a doubled quote), and everything after a decline (csv-parse).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Declined, FastCsvScanner, fieldsOf, type CsvRecord } from './csv';
import { canonicalDecimal, idHash } from './idhash';
import { REASONS, type Reason, type RowRules } from './rules';

type RowsExports = {
  memory: WebAssembly.Memory;
  init(capacity: number, rowCapacity: number): number;
  growInput(capacity: number, keep: number): number;
  configure(
    slots: number,
    required: number,
    key: number,
    a: number,
    b: number,
    status: number,
    price: number,
    integer: number,
    created: number,
    shipped: number,
    delivered: number,
    returned: number,
  ): void;
  scan(start: number, end: number, final: number): number;
  rowCount(): number;
  scanStatus(): number;
} & Record<
  | 'inBuf'
  | 'inCap'
  | 'cfgCol'
  | 'cfgMax'
  | 'vReason'
  | 'vLine'
  | 'vRecStart'
  | 'vRecEnd'
  | 'vKeyStart'
  | 'vKeyEnd'
  | 'vKeyNum'
  | 'vAStart'
  | 'vAEnd'
  | 'vANum'
  | 'vBStart'
  | 'vBEnd'
  | 'vBNum'
  | 'vKeyHash'
  | 'vAHash'
  | 'vBHash'
  | 'vCents'
  | 'vDay'
  | 'vStatus'
  | 'OK'
  | 'NEED_INPUT'
  | 'ROWS_FULL'
  | 'DECLINED'
  | 'HEADER_READ'
  | 'SLOW',
  WebAssembly.Global
>;

/** One row's verdict: the ranges are of `buf`, valid only during the callback. */
export interface RowVerdict {
  buf: Uint8Array;
  line: number;
  reason: Reason | null;
  /** trimmed key range (s === e: empty), its value when a canonical decimal below 1e9, else -1,
   * and then its id hash (idhash.ts) */
  ks: number;
  ke: number;
  kn: number;
  kh: number;
  /** products: category; orders: user_id; items: order_id */
  as: number;
  ae: number;
  an: number;
  ah: number;
  /** items: product_id */
  bs: number;
  be: number;
  bn: number;
  bh: number;
  cents: number;
  /** orders: UTC day of created_at */
  day: number;
  /** the status column: 0 empty, 1 "returned" (any case), 2 anything else */
  status: number;
  /** the row's fields as text (for rejected and held rows: the common row never needs them) */
  fields(): string[];
}

/** Rule slots the scanner fills: key, a, b (see RowVerdict), the status column. */
export interface VerdictSlots {
  key: number;
  a: number;
  b: number;
  status: number;
}

/** A scan call's verdicts as columns (valid until the handler returns); ranges are of `buf`. */
export interface VerdictColumns {
  buf: Uint8Array;
  reason: Uint8Array;
  ks: Int32Array;
  ke: Int32Array;
  kn: Int32Array;
  kh: Int32Array;
  as: Int32Array;
  ae: Int32Array;
  an: Int32Array;
  ah: Int32Array;
  bs: Int32Array;
  be: Int32Array;
  bn: Int32Array;
  bh: Int32Array;
  cents: Float64Array;
  day: Int32Array;
  status: Uint8Array;
}

export interface RowHandlers {
  /** The header record; returns the rules for the rows after it (or throws to reject the file). */
  header(rec: CsvRecord): { rules: RowRules; slots: VerdictSlots };
  row(v: RowVerdict): void;
  /** Takes the rows it can straight from the columns, in order; each other row goes through
   * generic(i), which calls row(). Without it every row goes through row(). */
  batch?(c: VerdictColumns, n: number, generic: (i: number) => void): void;
}

export const newVerdict = (): RowVerdict => ({
  buf: new Uint8Array(0),
  line: 0,
  reason: null,
  ks: 0,
  ke: 0,
  kn: -1,
  kh: 0,
  as: 0,
  ae: 0,
  an: -1,
  ah: 0,
  bs: 0,
  be: 0,
  bn: -1,
  bh: 0,
  cents: 0,
  day: 0,
  status: 0,
  fields: () => [],
});

/** Fills `v` from the reference rules' verdict on a record (the TypeScript path). */
export function verdictOf(v: RowVerdict, rec: CsvRecord, rules: RowRules, slots: VerdictSlots): RowVerdict {
  v.reason = rules.check(rec);
  v.buf = rec.buf;
  v.line = rec.line;
  v.ks = rules.s[slots.key];
  v.ke = rules.e[slots.key];
  v.as = slots.a >= 0 ? rules.s[slots.a] : 0;
  v.ae = slots.a >= 0 ? rules.e[slots.a] : 0;
  v.bs = slots.b >= 0 ? rules.s[slots.b] : 0;
  v.be = slots.b >= 0 ? rules.e[slots.b] : 0;
  // The same id values and hashes the module computes.
  v.kn = canonicalDecimal(rec.buf, v.ks, v.ke);
  v.kh = v.kn < 0 ? idHash(rec.buf, v.ks, v.ke) : 0;
  v.an = canonicalDecimal(rec.buf, v.as, v.ae);
  v.ah = v.an < 0 ? idHash(rec.buf, v.as, v.ae) : 0;
  v.bn = canonicalDecimal(rec.buf, v.bs, v.be);
  v.bh = v.bn < 0 ? idHash(rec.buf, v.bs, v.be) : 0;
  v.cents = rules.cents;
  v.day = Math.floor(rules.createdSec / 86400);
  v.status = slots.status < 0 || !rules.present(slots.status) ? 0 : rules.is(rec, slots.status, 'returned') ? 1 : 2;
  v.fields = () => fieldsOf(rec);
  return v;
}

let compiled: WebAssembly.Module | null = null;
const idle: RowsExports[] = [];

function instance(): RowsExports {
  const hit = idle.pop();
  if (hit) return hit;
  compiled ??= new WebAssembly.Module(readFileSync(path.join(__dirname, '..', '..', '..', 'assembly', 'rows.wasm')));
  return new WebAssembly.Instance(compiled, {}).exports as unknown as RowsExports;
}

/** Input buffer (grown for a longer record) and verdicts per scan call. */
const CAPACITY = 1 << 20;
const ROWS = 8192;

// One reference scanner re-reads single records (rejected, held or SLOW rows): making one per row
// cost more than reading the row.
let recordUse: (rec: CsvRecord) => void = () => {};
let recordLine = 0;
const recordScanner = new FastCsvScanner((rec) => {
  rec.line = recordLine;
  recordUse(rec);
}, false);

/** The record at [s, e) of `bytes`, read by the reference scanner (a copy: it unescapes in place). */
function recordAt(bytes: Uint8Array, s: number, e: number, line: number, use: (rec: CsvRecord) => void): void {
  recordUse = use;
  recordLine = line;
  recordScanner.reset();
  recordScanner.push(bytes.slice(s, e));
  recordScanner.end();
}

/**
 * Reads a CSV source through the WebAssembly scanner, calling `handlers.header` once and
 * `handlers.row` per data row. Throws Declined (nothing is undone here) when the input is not
 * RFC 4180 as the fast scanners read it: the caller starts again with csv-parse.
 */
export async function scanRows(
  open: (reuse?: boolean) => AsyncIterable<Uint8Array>,
  handlers: RowHandlers,
  chunkCapacity = CAPACITY,
): Promise<void> {
  const k = instance();
  if (k.init(chunkCapacity, ROWS) !== k.OK.value) throw new Error('the row scanner could not allocate its buffers');
  const g = (name: keyof RowsExports) => (k[name] as WebAssembly.Global).value as number;
  let mem = new Uint8Array(k.memory.buffer);
  let base = g('inBuf');
  let cap = g('inCap');
  const cols = () => {
    const b = k.memory.buffer;
    const i32 = (name: keyof RowsExports) => new Int32Array(b, g(name), ROWS);
    return {
      reason: new Uint8Array(b, g('vReason'), ROWS),
      line: i32('vLine'),
      recS: i32('vRecStart'),
      recE: i32('vRecEnd'),
      buf: new Uint8Array(b),
      ks: i32('vKeyStart'),
      ke: i32('vKeyEnd'),
      kn: i32('vKeyNum'),
      kh: i32('vKeyHash'),
      as: i32('vAStart'),
      ae: i32('vAEnd'),
      an: i32('vANum'),
      ah: i32('vAHash'),
      bs: i32('vBStart'),
      be: i32('vBEnd'),
      bn: i32('vBNum'),
      bh: i32('vBHash'),
      cents: new Float64Array(b, g('vCents'), ROWS),
      day: i32('vDay'),
      status: new Uint8Array(b, g('vStatus'), ROWS),
    };
  };
  let c = cols();
  const SLOW = g('SLOW');
  const [NEED_INPUT, ROWS_FULL, DECLINED, HEADER_READ] = [
    g('NEED_INPUT'),
    g('ROWS_FULL'),
    g('DECLINED'),
    g('HEADER_READ'),
  ];
  let rules: RowRules | null = null;
  let slots: VerdictSlots = { key: 0, a: -1, b: -1, status: -1 };
  const v = newVerdict();
  let at = 0;
  v.fields = () => {
    let out: string[] = [];
    recordAt(mem, c.recS[at], c.recE[at], c.line[at], (rec) => (out = fieldsOf(rec)));
    return out;
  };
  const slow = newVerdict();

  const header = (): void => {
    recordAt(mem, c.recS[0], c.recE[0], c.line[0], (rec) => {
      const h = handlers.header(rec);
      rules = h.rules;
      slots = h.slots;
      const layout = rules.wasmLayout();
      new Int32Array(k.memory.buffer, g('cfgCol'), layout.fileCol.length).set(layout.fileCol);
      new Int32Array(k.memory.buffer, g('cfgMax'), layout.maxBytes.length).set(layout.maxBytes);
      k.configure(
        layout.fileCol.length,
        layout.required,
        slots.key,
        slots.a,
        slots.b,
        slots.status,
        layout.price,
        layout.integer,
        layout.created,
        layout.shipped,
        layout.delivered,
        layout.returned,
      );
    });
  };

  const one = (i: number): void => {
    const r = c.reason[i];
    if (r === SLOW) {
      recordAt(mem, c.recS[i], c.recE[i], c.line[i], (rec) => handlers.row(verdictOf(slow, rec, rules!, slots)));
      return;
    }
    at = i;
    v.buf = mem;
    v.line = c.line[i];
    v.reason = r === 0 ? null : REASONS[r - 1]!;
    v.ks = c.ks[i];
    v.ke = c.ke[i];
    v.kn = c.kn[i];
    v.kh = c.kh[i];
    if (r === 0) {
      v.as = c.as[i];
      v.ae = c.ae[i];
      v.an = c.an[i];
      v.ah = c.ah[i];
      v.bs = c.bs[i];
      v.be = c.be[i];
      v.bn = c.bn[i];
      v.bh = c.bh[i];
      v.cents = c.cents[i];
      v.day = c.day[i];
      v.status = c.status[i];
    }
    handlers.row(v);
  };
  const deliver = (n: number): void => {
    if (handlers.batch) handlers.batch(c, n, one);
    else for (let i = 0; i < n; i++) one(i);
  };

  let len = 0;
  let first = true;
  /** Reads every complete record in the buffer; keeps the incomplete tail at its start. */
  const drain = (final: boolean): void => {
    let pos = 0;
    if (first) {
      first = false;
      if (len >= 3 && mem[base] === 0xef && mem[base + 1] === 0xbb && mem[base + 2] === 0xbf) pos = 3;
    }
    for (;;) {
      const next = k.scan(pos, len, final ? 1 : 0);
      const status = k.scanStatus();
      if (status === DECLINED) throw new Declined('the row scanner declined this input');
      if (status === HEADER_READ) header();
      else deliver(k.rowCount());
      pos = next;
      if (status === NEED_INPUT) break;
      if (status !== ROWS_FULL && status !== HEADER_READ) throw new Error(`row scanner status ${status}`);
    }
    if (pos === 0 && len === cap) {
      // One record longer than the buffer: double it (rescanning from its start stays linear).
      if (k.growInput(cap * 2, len) !== k.OK.value) throw new Error('the row scanner could not grow its buffer');
      mem = new Uint8Array(k.memory.buffer);
      base = g('inBuf');
      cap = g('inCap');
      c = cols();
      return;
    }
    mem.copyWithin(base, base + pos, base + len);
    len -= pos;
  };

  try {
    for await (const chunk of open(true)) {
      let off = 0;
      while (off < chunk.length) {
        const take = Math.min(cap - len, chunk.length - off);
        mem.set(chunk.subarray(off, off + take), base + len);
        len += take;
        off += take;
        if (len === cap) drain(false);
      }
    }
    drain(true);
  } finally {
    idle.push(k);
  }
}
