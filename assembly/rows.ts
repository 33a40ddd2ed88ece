// Stages 1 and 2 in linear memory: CSV bytes → records → one verdict per row (SPEC's row rules,
// on byte ranges). JavaScript copies file chunks into `inBuf`, calls scan(), and reads the verdicts
// back from typed columns; it only interns keys and reports the rejected rows.
// The TypeScript scanner (runtime/core/csv.ts) and rules (runtime/core/rules.ts) are the reference
// this module is property-tested against. A record the module does not read the same way cheaply
// (a doubled quote inside a quoted field) comes back as SLOW: the reference reads that one row.

import { alloc, fill, outOfMemory, reset } from './alloc';

export const OK: i32 = 0;
export const FAILED: i32 = 1;

// scan() status: every complete record was read (feed more bytes), the verdict columns are full
// (call again from the returned position), or the input is not RFC 4180 (the caller falls back).
export const NEED_INPUT: i32 = 0;
export const ROWS_FULL: i32 = 1;
export const DECLINED: i32 = 2;
export const HEADER_READ: i32 = 3;

// Verdict codes: 0 the row passes, 1.. a reason in SPEC's order, then two that are not reasons.
export const BAD_ENCODING: u8 = 1;
export const MISSING_FIELD: u8 = 2;
export const FIELD_TOO_LONG: u8 = 3;
export const BAD_PRICE: u8 = 4;
export const BAD_TIMESTAMP: u8 = 5;
export const BAD_INTEGER: u8 = 6;
export const SHIPPED_BEFORE_CREATED: u8 = 7;
export const DELIVERED_BEFORE_SHIPPED: u8 = 8;
export const SLOW: u8 = 254;

const COMMA: u8 = 44;
const LF: u8 = 10;
const CR: u8 = 13;
const QUOTE: u8 = 34;
const SPACE: u8 = 32;
const TAB: u8 = 9;
const D0: i32 = 48;

/** Fields of one record the module reads; a wider record is declined (csv-parse reads it). */
const MAX_FIELDS: i32 = 1024;
/** Columns the rules address by name (required + optional of the widest schema). */
const MAX_SLOTS: i32 = 16;

export let inBuf: usize = 0;
export let inCap: i32 = 0;
let maxRows: i32 = 0;

// Verdict columns, one entry per row of the last scan() call.
export let vReason: usize = 0;
export let vLine: usize = 0;
/** the record's bytes [recStart, recEnd) in inBuf, for the rows JavaScript reports or re-reads */
export let vRecStart: usize = 0;
export let vRecEnd: usize = 0;
/** trimmed ranges of the key, a and b slots, and their values when canonical decimals (< 1e9), else -1 */
export let vKeyStart: usize = 0;
export let vKeyEnd: usize = 0;
export let vKeyNum: usize = 0;
export let vAStart: usize = 0;
export let vAEnd: usize = 0;
export let vANum: usize = 0;
export let vBStart: usize = 0;
export let vBEnd: usize = 0;
export let vBNum: usize = 0;
/** the key, a and b values' id hash when not canonical decimals (runtime/core/parse/idhash.ts), else 0 */
export let vKeyHash: usize = 0;
export let vAHash: usize = 0;
export let vBHash: usize = 0;
export let vCents: usize = 0;
/** UTC day of created_at (orders) */
export let vDay: usize = 0;
/** the status slot: 0 empty, 1 "returned" (any case), 2 anything else */
export let vStatus: usize = 0;

// The current record's fields (absolute addresses) and the trimmed slot ranges.
let fStart: usize = 0;
let fEnd: usize = 0;
let sStart: usize = 0;
let sEnd: usize = 0;

/** slot → column of the file (-1 absent), written by the caller before configure() */
export let cfgCol: usize = 0;
/** slot → longest value in bytes (0: unbounded), written by the caller before configure() */
export let cfgMax: usize = 0;
let nSlots: i32 = 0;
let nRequired: i32 = 0;
let keySlot: i32 = -1;
let aSlot: i32 = -1;
let bSlot: i32 = -1;
let statusSlot: i32 = -1;
let priceSlot: i32 = -1;
let intSlot: i32 = -1;
let createdSlot: i32 = -1;
let shippedSlot: i32 = -1;
let deliveredSlot: i32 = -1;
let returnedSlot: i32 = -1;
let configured = false;

let line: i32 = 1;
let rows: i32 = 0;
let status: i32 = NEED_INPUT;

export function init(capacity: i32, rowCapacity: i32): i32 {
  reset();
  inCap = capacity;
  inBuf = alloc(<usize>capacity + 16);
  maxRows = rowCapacity;
  const r = <usize>rowCapacity;
  vReason = alloc(r);
  vLine = alloc(r << 2);
  vRecStart = alloc(r << 2);
  vRecEnd = alloc(r << 2);
  vKeyStart = alloc(r << 2);
  vKeyEnd = alloc(r << 2);
  vKeyNum = alloc(r << 2);
  vAStart = alloc(r << 2);
  vAEnd = alloc(r << 2);
  vANum = alloc(r << 2);
  vBStart = alloc(r << 2);
  vBEnd = alloc(r << 2);
  vBNum = alloc(r << 2);
  vKeyHash = alloc(r << 2);
  vAHash = alloc(r << 2);
  vBHash = alloc(r << 2);
  vCents = alloc(r << 3);
  vDay = alloc(r << 2);
  vStatus = alloc(r);
  fStart = alloc(<usize>MAX_FIELDS << 2);
  fEnd = alloc(<usize>MAX_FIELDS << 2);
  sStart = alloc(<usize>MAX_SLOTS << 2);
  sEnd = alloc(<usize>MAX_SLOTS << 2);
  cfgCol = alloc(<usize>MAX_SLOTS << 2);
  fill(cfgCol, 0xff, <usize>MAX_SLOTS << 2);
  cfgMax = alloc(<usize>MAX_SLOTS << 2);
  fill(cfgMax, 0, <usize>MAX_SLOTS << 2);
  configured = false;
  line = 1;
  return outOfMemory() ? FAILED : OK;
}

/** A larger input buffer holding the first `keep` bytes of the old one (a record longer than it). */
export function growInput(capacity: i32, keep: i32): i32 {
  const next = alloc(<usize>capacity + 16);
  if (outOfMemory()) return FAILED;
  memory.copy(next, inBuf, <usize>keep);
  inBuf = next;
  inCap = capacity;
  return OK;
}

/** Slots are the schema's required then optional columns; -1 where the rule has no column. */
export function configure(
  slots: i32,
  required: i32,
  key: i32,
  a: i32,
  b: i32,
  statusAt: i32,
  price: i32,
  integer: i32,
  created: i32,
  shipped: i32,
  delivered: i32,
  returned: i32,
): void {
  nSlots = slots;
  nRequired = required;
  keySlot = key;
  aSlot = a;
  bSlot = b;
  statusSlot = statusAt;
  priceSlot = price;
  intSlot = integer;
  createdSlot = created;
  shippedSlot = shipped;
  deliveredSlot = delivered;
  returnedSlot = returned;
  configured = true;
}

export function rowCount(): i32 {
  return rows;
}
export function scanStatus(): i32 {
  return status;
}

@inline function isSpecial(c: u8): bool {
  return c == COMMA || c == LF || c == QUOTE;
}

/** The first `,` `\n` or `"` in [p, end), sixteen bytes at a time; end if none. */
function nextSpecial(p: usize, end: usize): usize {
  const comma = i8x16.splat(COMMA);
  const lf = i8x16.splat(LF);
  const quote = i8x16.splat(QUOTE);
  while (p + 16 <= end) {
    const v = v128.load(p);
    const m = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, comma), i8x16.eq(v, lf)), i8x16.eq(v, quote)));
    if (m) return p + <usize>ctz(m);
    p += 16;
  }
  while (p < end && !isSpecial(load<u8>(p))) p++;
  return p;
}

function nextQuote(p: usize, end: usize): usize {
  const quote = i8x16.splat(QUOTE);
  while (p + 16 <= end) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(p), quote));
    if (m) return p + <usize>ctz(m);
    p += 16;
  }
  while (p < end && load<u8>(p) != QUOTE) p++;
  return p;
}

function countLf(p: usize, end: usize): i32 {
  let n = 0;
  for (; p < end; p++) if (load<u8>(p) == LF) n++;
  return n;
}

/** Whether any byte of [p, end) is ≥ 0x80 (only then is UTF-8 validity checked byte by byte). */
function anyHigh(p: usize, end: usize): bool {
  while (p + 16 <= end) {
    if (i8x16.bitmask(v128.load(p))) return true;
    p += 16;
  }
  for (; p < end; p++) if (load<u8>(p) >= 0x80) return true;
  return false;
}

/** What a fatal TextDecoder accepts: no overlong forms, no surrogates, nothing past U+10FFFF. */
function validUtf8(p: usize, end: usize): bool {
  while (p < end) {
    const b0 = load<u8>(p);
    if (b0 < 0x80) {
      p++;
      continue;
    }
    let need: usize;
    let lo: u8 = 0x80;
    let hi: u8 = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 == 0xe0) lo = 0xa0;
      if (b0 == 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 == 0xf0) lo = 0x90;
      if (b0 == 0xf4) hi = 0x8f;
    } else return false;
    if (p + need >= end) return false;
    const b1 = load<u8>(p + 1);
    if (b1 < lo || b1 > hi) return false;
    for (let k: usize = 2; k <= need; k++) {
      const c = load<u8>(p + k);
      if (c < 0x80 || c > 0xbf) return false;
    }
    p += need + 1;
  }
  return true;
}

@inline function slotS(k: i32): usize {
  return <usize>load<u32>(sStart + (<usize>k << 2));
}
@inline function slotE(k: i32): usize {
  return <usize>load<u32>(sEnd + (<usize>k << 2));
}
@inline function present(k: i32): bool {
  return k >= 0 && slotS(k) != slotE(k);
}

/** Canonical decimal below 1e9 ("0", "17"; no sign, no leading zero), else -1: the dense key path. */
function decimal(s: usize, e: usize): i32 {
  const len = e - s;
  if (len == 0 || len > 9 || (load<u8>(s) == 48 && len > 1)) return -1;
  let v: i32 = 0;
  for (let p = s; p < e; p++) {
    const c = <i32>load<u8>(p) - D0;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** FNV-1a of [s, e) with murmur3's finalizer: idHash in runtime/core/parse/idhash.ts, bit for bit. */
function hashOf(s: usize, e: usize): i32 {
  let h: u32 = 0x811c9dc5;
  for (let p = s; p < e; p++) h = (h ^ <u32>load<u8>(p)) * 0x01000193;
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  return <i32>(h ^ (h >>> 16));
}

/** An id column's value: its decimal (and hash 0), or -1 and its hash. */
@inline function putId(numCol: usize, hashCol: usize, r: usize, s: usize, e: usize): void {
  const v = decimal(s, e);
  store<i32>(numCol + (r << 2), v);
  store<i32>(hashCol + (r << 2), v < 0 ? hashOf(s, e) : 0);
}

/** n digits at p, or -1 if any is not a digit. */
function digits(p: usize, n: i32): i32 {
  let v: i32 = 0;
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u8>(p + <usize>i) - D0;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

@inline function floorDiv(a: i64, b: i64): i64 {
  const q = a / b;
  return q * b > a ? q - 1 : q;
}

/** Days from 1970-01-01 to y-m-d (proleptic Gregorian), in i32: y is at most 9999 here. */
function daysFromCivil(y: i32, m: i32, d: i32): i32 {
  const yy = m <= 2 ? y - 1 : y;
  const era = (yy >= 0 ? yy : yy - 399) / 400;
  const yoe = yy - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = (153 * mp + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

const NO_TIME: i64 = i64.MIN_VALUE;
let tsNanos: i32 = 0;

/** Digit positions of "YYYY-MM-DDTHH:MM" (bits 0-3, 5-6, 8-9, 11-12, 14-15). */
const PREFIX_DIGITS: i32 = 0xdb6f;

@inline function dg(p: usize): i32 {
  return <i32>load<u8>(p) - D0;
}

/** runtime/core/timestamp.ts parseTimestamp on [s, e): epoch seconds, or NO_TIME; the fraction in tsNanos. */
function parseTimestamp(s: usize, e: usize): i64 {
  if (e - s < 19) return NO_TIME;
  // The sixteen bytes of "YYYY-MM-DDTHH:MM" checked as digits in one compare.
  const digitsAt = i8x16.bitmask(i8x16.lt_u(i8x16.sub(v128.load(s), i8x16.splat(48)), i8x16.splat(10)));
  if ((digitsAt & PREFIX_DIGITS) != PREFIX_DIGITS) return NO_TIME;
  const sep = load<u8>(s + 10);
  if (load<u8>(s + 4) != 45 || load<u8>(s + 7) != 45 || (sep != 84 && sep != 32) || load<u8>(s + 13) != 58 || load<u8>(s + 16) != 58) return NO_TIME;
  const s1 = dg(s + 17);
  const s2 = dg(s + 18);
  if (<u32>s1 > 9 || <u32>s2 > 9) return NO_TIME;
  const y = dg(s) * 1000 + dg(s + 1) * 100 + dg(s + 2) * 10 + dg(s + 3);
  const mo = dg(s + 5) * 10 + dg(s + 6);
  const d = dg(s + 8) * 10 + dg(s + 9);
  const h = dg(s + 11) * 10 + dg(s + 12);
  const mi = dg(s + 14) * 10 + dg(s + 15);
  const se = s1 * 10 + s2;
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59) return NO_TIME;
  const leap = (y & 3) == 0 && (y % 100 != 0 || y % 400 == 0);
  const dim = mo == 2 ? (leap ? 29 : 28) : mo == 4 || mo == 6 || mo == 9 || mo == 11 ? 30 : 31;
  if (d < 1 || d > dim) return NO_TIME;
  let p = s + 19;
  let nanos: i32 = 0;
  if (p < e && load<u8>(p) == 46) {
    p++;
    const f0 = p;
    let scale: i32 = 100000000;
    while (p < e) {
      const c = dg(p);
      if (<u32>c > 9) break;
      nanos += c * scale;
      scale /= 10;
      p++;
    }
    if (p == f0) return NO_TIME;
  }
  let offset: i32 = 0;
  if (p < e) {
    const c = load<u8>(p);
    const rest = e - p;
    if (c == 90 && rest == 1) {
      // Z
    } else if (c == 32 && rest == 4 && load<u8>(p + 1) == 85 && load<u8>(p + 2) == 84 && load<u8>(p + 3) == 67) {
      // " UTC"
    } else if ((c == 43 || c == 45) && (rest == 5 || rest == 6)) {
      const oh = digits(p + 1, 2);
      let om: i32;
      if (rest == 6 && load<u8>(p + 3) == 58) om = digits(p + 4, 2);
      else if (rest == 5) om = digits(p + 3, 2);
      else return NO_TIME;
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return NO_TIME;
      offset = (oh * 3600 + om * 60) * (c == 43 ? 1 : -1);
    } else return NO_TIME;
  }
  tsNanos = nanos;
  return <i64>daysFromCivil(y, mo, d) * 86400 + <i64>(h * 3600 + mi * 60 + se - offset);
}

/** Cents past which a double is no longer exact (runtime/core/timestamp.ts MAX_CENTS). */
const MAX_CENTS: f64 = 8796093022208;

/** runtime/core/timestamp.ts parseCents, in the same double arithmetic: cents or -1. */
function parseCents(s: usize, e: usize): f64 {
  if (s >= e) return -1;
  let whole: f64 = 0;
  let p = s;
  let nd = 0;
  while (p < e) {
    const c = <i32>load<u8>(p) - D0;
    if (c < 0 || c > 9) break;
    whole = whole * 10 + <f64>c;
    p++;
    nd++;
  }
  let frac: f64 = 0;
  let fd = 0;
  let roundUp = false;
  if (p < e && load<u8>(p) == 46) {
    p++;
    while (p < e) {
      const c = <i32>load<u8>(p) - D0;
      if (c < 0 || c > 9) break;
      if (fd < 2) frac = frac * 10 + <f64>c;
      else if (fd == 2) roundUp = c >= 5;
      fd++;
      p++;
    }
  }
  if (p != e || nd + fd == 0) return -1;
  if (fd == 1) frac *= 10;
  const cents = whole * 100 + frac + (roundUp ? 1 : 0);
  return cents > MAX_CENTS ? -1 : cents;
}

function nonNegInt(s: usize, e: usize): bool {
  const n = e - s;
  if (n == 0 || n > 15) return false;
  for (let p = s; p < e; p++) {
    const c = <i32>load<u8>(p) - D0;
    if (c < 0 || c > 9) return false;
  }
  return true;
}

/** Whether the slot's trimmed value is "returned" in any ASCII case (the reference's `is`). */
function isReturned(k: i32): bool {
  const s = slotS(k);
  if (slotE(k) - s != 8) return false;
  // "returned", one byte each, compared after | 0x20 as the reference does
  return (
    (load<u8>(s) | 0x20) == 114 &&
    (load<u8>(s + 1) | 0x20) == 101 &&
    (load<u8>(s + 2) | 0x20) == 116 &&
    (load<u8>(s + 3) | 0x20) == 117 &&
    (load<u8>(s + 4) | 0x20) == 114 &&
    (load<u8>(s + 5) | 0x20) == 110 &&
    (load<u8>(s + 6) | 0x20) == 101 &&
    (load<u8>(s + 7) | 0x20) == 100
  );
}

@inline function before(a: i64, aNs: i32, b: i64, bNs: i32): bool {
  if (a == NO_TIME || b == NO_TIME) return false;
  return a < b || (a == b && aNs < bNs);
}

/** The row rules of runtime/core/rules.ts RowRules.check on the record's nf fields. */
function verdict(r: usize, nf: i32, recStart: usize, recEnd: usize): u8 {
  for (let k = 0; k < nSlots; k++) {
    const col = load<i32>(cfgCol + (<usize>k << 2));
    let s: usize = 0;
    let e: usize = 0;
    if (col >= 0 && col < nf) {
      s = <usize>load<u32>(fStart + (<usize>col << 2));
      e = <usize>load<u32>(fEnd + (<usize>col << 2));
      while (s < e && (load<u8>(s) == SPACE || load<u8>(s) == TAB)) s++;
      while (e > s && (load<u8>(e - 1) == SPACE || load<u8>(e - 1) == TAB)) e--;
    }
    store<u32>(sStart + (<usize>k << 2), <u32>s);
    store<u32>(sEnd + (<usize>k << 2), <u32>e);
  }
  if (anyHigh(recStart, recEnd)) {
    for (let i = 0; i < nf; i++) {
      if (!validUtf8(<usize>load<u32>(fStart + (<usize>i << 2)), <usize>load<u32>(fEnd + (<usize>i << 2)))) return BAD_ENCODING;
    }
  }
  for (let k = 0; k < nRequired; k++) if (slotS(k) == slotE(k)) return MISSING_FIELD;
  for (let k = 0; k < nSlots; k++) {
    const max = load<i32>(cfgMax + (<usize>k << 2));
    if (max > 0 && <i32>(slotE(k) - slotS(k)) > max) return FIELD_TOO_LONG;
  }
  let cents: f64 = 0;
  if (priceSlot >= 0) {
    cents = parseCents(slotS(priceSlot), slotE(priceSlot));
    if (cents < 0) return BAD_PRICE;
  }
  // SPEC's order: created, shipped, delivered, returned; the first bad one decides.
  let created = NO_TIME;
  let createdNs: i32 = 0;
  let shipped = NO_TIME;
  let shippedNs: i32 = 0;
  let delivered = NO_TIME;
  let deliveredNs: i32 = 0;
  if (present(createdSlot)) {
    created = parseTimestamp(slotS(createdSlot), slotE(createdSlot));
    if (created == NO_TIME) return BAD_TIMESTAMP;
    createdNs = tsNanos;
  }
  if (present(shippedSlot)) {
    shipped = parseTimestamp(slotS(shippedSlot), slotE(shippedSlot));
    if (shipped == NO_TIME) return BAD_TIMESTAMP;
    shippedNs = tsNanos;
  }
  if (present(deliveredSlot)) {
    delivered = parseTimestamp(slotS(deliveredSlot), slotE(deliveredSlot));
    if (delivered == NO_TIME) return BAD_TIMESTAMP;
    deliveredNs = tsNanos;
  }
  if (present(returnedSlot) && parseTimestamp(slotS(returnedSlot), slotE(returnedSlot)) == NO_TIME) return BAD_TIMESTAMP;
  if (present(intSlot) && !nonNegInt(slotS(intSlot), slotE(intSlot))) return BAD_INTEGER;
  if (before(shipped, shippedNs, created, createdNs)) return SHIPPED_BEFORE_CREATED;
  if (before(delivered, deliveredNs, shipped, shippedNs)) return DELIVERED_BEFORE_SHIPPED;
  store<f64>(vCents + (r << 3), cents);
  store<i32>(vDay + (r << 2), created == NO_TIME ? 0 : <i32>floorDiv(created, 86400));
  return 0;
}

@inline function put(col: usize, r: usize, v: i32): void {
  store<i32>(col + (r << 2), v);
}

/** Writes the verdict of one record (nf fields at fStart/fEnd) as row `rows`. */
function emit(nf: i32, recStart: usize, recEnd: usize, newlines: i32, escaped: bool): void {
  const r = <usize>rows;
  put(vLine, r, line);
  put(vRecStart, r, <i32>recStart);
  put(vRecEnd, r, <i32>recEnd);
  line += 1 + newlines;
  rows++;
  if (escaped) {
    store<u8>(vReason + r, SLOW);
    return;
  }
  const reason = verdict(r, nf, recStart, recEnd);
  store<u8>(vReason + r, reason);
  // Key ranges are written for every row: a rejected row still claims its key (duplicate_key).
  const ks = keySlot >= 0 ? slotS(keySlot) : 0;
  const ke = keySlot >= 0 ? slotE(keySlot) : 0;
  put(vKeyStart, r, <i32>ks);
  put(vKeyEnd, r, <i32>ke);
  putId(vKeyNum, vKeyHash, r, ks, ke);
  if (reason != 0) return;
  if (aSlot >= 0) {
    const s = slotS(aSlot);
    const e = slotE(aSlot);
    put(vAStart, r, <i32>s);
    put(vAEnd, r, <i32>e);
    putId(vANum, vAHash, r, s, e);
  }
  if (bSlot >= 0) {
    const s = slotS(bSlot);
    const e = slotE(bSlot);
    put(vBStart, r, <i32>s);
    put(vBEnd, r, <i32>e);
    putId(vBNum, vBHash, r, s, e);
  }
  store<u8>(vStatus + r, !present(statusSlot) ? 0 : isReturned(statusSlot) ? 1 : 2);
}

@inline function setField(nf: i32, s: usize, e: usize): void {
  store<u32>(fStart + (<usize>nf << 2), <u32>s);
  store<u32>(fEnd + (<usize>nf << 2), <u32>e);
}

// The record being read: its field count, newlines inside quoted fields, doubled quotes met.
let curNf: i32 = 0;
let curNewlines: i32 = 0;
let curEscaped = false;
/** why readSlow stopped short: NEED_INPUT (the record is incomplete) or DECLINED */
let slowStop: i32 = NEED_INPUT;

/**
 * The common record: no quote anywhere, ended by \n inside the buffer. Every `,` and `\n` of a
 * 16-byte block is taken from one bitmask. Returns the record's end, or 0 to let readSlow decide.
 */
function readFast(p: usize, n: usize): usize {
  const comma = i8x16.splat(COMMA);
  const lf = i8x16.splat(LF);
  const quote = i8x16.splat(QUOTE);
  let fieldStart = p;
  let nf = 0;
  let q = p;
  while (q + 16 <= n) {
    const v = v128.load(q);
    if (i8x16.bitmask(i8x16.eq(v, quote))) return 0;
    let m = i8x16.bitmask(v128.or(i8x16.eq(v, comma), i8x16.eq(v, lf)));
    while (m) {
      const at = q + <usize>ctz(m);
      if (nf == MAX_FIELDS - 1) return 0;
      if (load<u8>(at) == COMMA) {
        setField(nf++, fieldStart, at);
        fieldStart = at + 1;
      } else {
        // A CR right before the LF ends the line (\r\n); any other CR is data.
        setField(nf++, fieldStart, at > fieldStart && load<u8>(at - 1) == CR ? at - 1 : at);
        curNf = nf;
        curNewlines = 0;
        curEscaped = false;
        return at + 1;
      }
      m &= m - 1;
    }
    q += 16;
  }
  return 0;
}

/** Any record, byte by byte where it must be (quotes, the buffer's end); 0 when it stops short. */
function readSlow(p: usize, n: usize, final: bool): usize {
  let nf = 0;
  let newlines = 0;
  let escaped = false;
  slowStop = NEED_INPUT;
  while (true) {
    if (nf == MAX_FIELDS) {
      slowStop = DECLINED;
      return 0;
    }
    if (p < n && load<u8>(p) == QUOTE) {
      let q = p + 1;
      let close: usize = 0;
      while (true) {
        const k = nextQuote(q, n);
        if (k >= n) {
          if (final) slowStop = DECLINED; // unterminated quoted field
          return 0;
        }
        if (k + 1 < n && load<u8>(k + 1) == QUOTE) {
          escaped = true;
          q = k + 2;
          continue;
        }
        if (k + 1 >= n && !final) return 0;
        close = k;
        break;
      }
      newlines += countLf(p + 1, close);
      setField(nf++, p + 1, close);
      p = close + 1;
      let end: usize = 0;
      if (p >= n) end = n;
      else {
        const c = load<u8>(p);
        if (c == COMMA) {
          p++;
          continue;
        }
        if (c == LF) end = p + 1;
        else if (c == CR && p + 1 < n && load<u8>(p + 1) == LF) end = p + 2;
        else if (c == CR && p + 1 >= n && !final) return 0;
        else {
          slowStop = DECLINED; // text after a closing quote
          return 0;
        }
      }
      curNf = nf;
      curNewlines = newlines;
      curEscaped = escaped;
      return end;
    }
    const q = nextSpecial(p, n);
    if (q < n && load<u8>(q) == QUOTE) {
      slowStop = DECLINED; // a quote inside an unquoted field
      return 0;
    }
    if (q >= n && !final) return 0;
    const fe = q < n && q > p && load<u8>(q - 1) == CR ? q - 1 : q;
    setField(nf++, p, fe);
    if (q < n && load<u8>(q) == COMMA) {
      p = q + 1;
      continue;
    }
    curNf = nf;
    curNewlines = newlines;
    curEscaped = escaped;
    return q < n ? q + 1 : n;
  }
}

/**
 * Reads the complete records of inBuf[start, end) (the file's last bytes when `final`), writing
 * one verdict per row; the first record of a file is its header (HEADER_READ, row 0, its bytes
 * only). Returns where the first record not read starts; scanStatus() says why it stopped.
 */
export function scan(start: i32, end: i32, final: bool): i32 {
  const n = inBuf + <usize>end;
  let p = inBuf + <usize>start;
  rows = 0;
  status = NEED_INPUT;
  while (p < n) {
    if (rows == maxRows) {
      status = ROWS_FULL;
      return <i32>(p - inBuf);
    }
    const recStart = p;
    let recEnd = readFast(p, n);
    if (recEnd == 0) recEnd = readSlow(p, n, final);
    if (recEnd == 0) {
      if (slowStop == DECLINED) status = DECLINED;
      return <i32>(recStart - inBuf);
    }
    p = recEnd;
    if (curNf == 1 && load<u32>(fEnd) == load<u32>(fStart)) {
      // an empty line: no record
      line++;
      continue;
    }
    if (!configured) {
      const r = <usize>rows;
      put(vLine, r, line);
      put(vRecStart, r, <i32>recStart);
      put(vRecEnd, r, <i32>recEnd);
      line += 1 + curNewlines;
      rows = 1;
      status = HEADER_READ;
      return <i32>(p - inBuf);
    }
    emit(curNf, recStart, recEnd, curNewlines, curEscaped);
  }
  return <i32>(p - inBuf);
}
