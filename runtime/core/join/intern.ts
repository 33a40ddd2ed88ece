// Dictionary encoding straight from bytes: each distinct string gets a dense integer id, with no
// JS string made on the hot path. Open addressing over typed arrays keeps memory compact.

import { canonicalDecimal, fmix32, idHash } from '../parse/idhash';

// ignoreBOM: a U+FEFF inside a value is part of it (SPEC); the default decoder would drop it.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Largest decimal key addressed directly (64 MiB of Int32 at most). */
const DIRECT_MAX = 1 << 24;

export class Interner {
  size = 0;

  /** `expected`: how many keys to size the tables for up front (growing costs a copy). */
  constructor(private readonly expected = 0) {
    this.direct = new Int32Array(Math.min(DIRECT_MAX, Math.ceil(expected * 1.1)));
  }

  // Decimal keys below a bound that keeps the array dense (ids 1..N, the usual case) are addressed
  // directly: value → id + 1, no hashing, and ascending ids touch memory in order.
  private direct: Int32Array;

  /** Whether value v may live in the direct array (growing it if needed). */
  private directCovers(v: number): boolean {
    if (v < this.direct.length) return true;
    if (v >= DIRECT_MAX || v >= Math.max(this.expected * 2, 8 * (this.size + 65536))) return false;
    const d = new Int32Array(Math.min(DIRECT_MAX, Math.max(v + 1, Math.ceil(this.direct.length * 1.5))));
    d.set(this.direct);
    this.direct = d;
    return true;
  }
  /** id → value of decimal keys, built only when str() needs it (ids are usually never printed). */
  private numValues: Int32Array | null = null;

  // Canonical decimal keys ("0", "17", up to 9 digits) — the usual shape of ids — live in a table
  // of (value, id + 1) pairs: 8 bytes a slot, no bytes kept, equality is one int compare.
  private nSlots = new Int32Array(2 << 12);
  private nMask = (1 << 12) - 1;
  private nCount = 0;

  // Any other key: open addressing over (hash, record + 1) pairs. A record sits in the arena at a
  // 4-byte word w: its length at word w, its id at w + 1, its bytes from word w + 2 on. Length, id
  // and bytes share a cache line, so a random look-up costs two memory misses (slot and record),
  // not four: UUID keys spent most of their time waiting on memory. A canonical lowercase UUID is
  // kept as its 16 bytes (length word UUID): 24 bytes a record instead of 44, and fresh memory costs
  // (first touch) as much as the look-ups here.
  private arena = new Uint8Array(1 << 14);
  private arena32 = new Int32Array(this.arena.buffer);
  /** bytes used (a multiple of 4) */
  private arenaLen = 0;
  /** id → record word + 1 (0 for decimal keys); grown with the ids. */
  private gOf = new Int32Array(1 << 8);
  private gSlots = new Int32Array(2 << 8);
  private gMask = (1 << 8) - 1;
  private gCount = 0;
  /** A UUID being compared or stored, packed (packUuid). */
  private readonly packed = new Int32Array(4);

  private newId(): number {
    this.numValues = null;
    return this.size++;
  }

  private nFind(v: number): number {
    const slots = this.nSlots;
    for (let i = fmix32(v) & this.nMask; ; i = (i + 1) & this.nMask) {
      const p = i << 1;
      if (slots[p + 1] === 0 || slots[p] === v) return i;
    }
  }

  // The bytes being read, as a DataView: keys are compared and copied a word at a time (the
  // record's bytes are word-aligned in the arena; the source's are not, which DataView allows).
  private viewOf: ArrayBufferLike | null = null;
  private view: DataView = new DataView(new ArrayBuffer(0));
  private dv(b: Uint8Array): DataView {
    if (b.buffer !== this.viewOf) {
      this.viewOf = b.buffer;
      this.view = new DataView(b.buffer);
    }
    return this.view;
  }

  private gEquals(w: number, b: Uint8Array, s: number, e: number): boolean {
    const a32 = this.arena32;
    const len = a32[w];
    if (len === UUID) return packUuid(b, s, e, this.packed) && uuidAt(a32, w + 2, this.packed);
    if (len !== e - s) return false;
    const dv = this.dv(b);
    const at = b.byteOffset + s;
    let i = 0;
    for (let k = w + 2; i + 4 <= len; i += 4, k++) if (a32[k] !== dv.getInt32(at + i, LITTLE_ENDIAN)) return false;
    const a = this.arena;
    for (let o = (w + 2) << 2; i < len; i++) if (a[o + i] !== b[s + i]) return false;
    return true;
  }

  private gFind(b: Uint8Array, s: number, e: number, h: number): number {
    const slots = this.gSlots;
    for (let i = h & this.gMask; ; i = (i + 1) & this.gMask) {
      const p = i << 1;
      const g1 = slots[p + 1];
      if (g1 === 0) return i;
      if (slots[p] === h && this.gEquals(g1 - 1, b, s, e)) return i;
    }
  }

  /**
   * Loads the home slot of hash h and the record it points to, so that a look-up of h right after
   * finds both in cache. Issued for a block of rows before they are interned, these loads do not
   * depend on each other and the CPU overlaps their memory misses (random keys are miss-bound).
   * Returns a value to fold into a sink, so the loads are kept.
   */
  touch(h: number): number {
    const g1 = this.gSlots[((h & this.gMask) << 1) + 1];
    return g1 === 0 ? 0 : this.arena32[g1];
  }

  /** Id of the bytes [s, e) of b, or -1 if never interned. */
  lookup(b: Uint8Array, s: number, e: number): number {
    const v = canonicalDecimal(b, s, e);
    if (v >= 0) return this.lookupNumber(v);
    return this.lookupHashed(b, s, e, idHash(b, s, e));
  }

  /** Id of the canonical decimal key v (what intern gives its text), or -1 if never interned. */
  lookupNumber(v: number): number {
    if (v < this.direct.length && this.direct[v] !== 0) return this.direct[v] - 1;
    return this.nCount ? this.nSlots[(this.nFind(v) << 1) + 1] - 1 : -1;
  }

  /** Id of the canonical decimal key v (below 1e9, as the row scanner reads it), adding it if new. */
  internNumber(v: number): number {
    if (v < this.direct.length && this.direct[v] !== 0) return this.direct[v] - 1;
    // A value the direct array did not cover when it was first seen lives in the hash table.
    const p = this.nCount ? this.nFind(v) << 1 : -1;
    if (p >= 0 && this.nSlots[p + 1] !== 0) return this.nSlots[p + 1] - 1;
    if (this.directCovers(v)) {
      const id = this.newId();
      this.direct[v] = id + 1;
      return id;
    }
    const q = this.nFind(v) << 1;
    const id = this.newId();
    this.nSlots[q] = v;
    this.nSlots[q + 1] = id + 1;
    // Load factor up to 0.8: linear probing over 8-byte slots stays within a cache line or two.
    if (++this.nCount * 5 > (this.nMask + 1) * 4)
      this.nSlots = this.grow(this.nSlots, (this.nMask = this.nMask * 2 + 1), true);
    return id;
  }

  /** Id of the bytes [s, e) of b, adding them if new. */
  intern(b: Uint8Array, s: number, e: number): number {
    const v = canonicalDecimal(b, s, e);
    if (v >= 0) return this.internNumber(v);
    return this.internHashed(b, s, e, idHash(b, s, e));
  }

  /** intern() of a value the row scanner read: n its canonical decimal (or -1), h its id hash. */
  internRead(b: Uint8Array, s: number, e: number, n: number, h: number): number {
    return n >= 0 ? this.internNumber(n) : this.internHashed(b, s, e, h);
  }

  /** lookup() of a value the row scanner read (as internRead). */
  lookupRead(b: Uint8Array, s: number, e: number, n: number, h: number): number {
    return n >= 0 ? this.lookupNumber(n) : this.lookupHashed(b, s, e, h);
  }

  /** Id of the bytes [s, e) of b, which are not a canonical decimal below 1e9 and hash to h
   * (idHash: the row scanner computes it while it reads them), or -1 if never interned. */
  lookupHashed(b: Uint8Array, s: number, e: number, h: number): number {
    const g1 = this.gSlots[(this.gFind(b, s, e, h) << 1) + 1];
    return g1 === 0 ? -1 : this.arena32[g1];
  }

  /** intern() of bytes that are not a canonical decimal below 1e9 and hash to h (idHash). */
  internHashed(b: Uint8Array, s: number, e: number, h: number): number {
    const p = this.gFind(b, s, e, h) << 1;
    if (this.gSlots[p + 1] !== 0) return this.arena32[this.gSlots[p + 1]];
    this.gCount++;
    const uuid = packUuid(b, s, e, this.packed);
    const len = uuid ? UUID : e - s;
    const need = uuid ? 24 : 8 + ((len + 3) & ~3);
    if (this.arenaLen + need > this.arena.length) this.reserve(Math.max(this.arena.length * 2, this.arenaLen + need));
    const w = this.arenaLen >> 2;
    const a32 = this.arena32;
    if (uuid) {
      const u = this.packed;
      a32[w + 2] = u[0];
      a32[w + 3] = u[1];
      a32[w + 4] = u[2];
      a32[w + 5] = u[3];
    } else {
      const dv = this.dv(b);
      const at = b.byteOffset + s;
      let i = 0;
      for (let k = w + 2; i + 4 <= len; i += 4, k++) a32[k] = dv.getInt32(at + i, LITTLE_ENDIAN);
      const arena = this.arena;
      for (let o = (w + 2) << 2; i < len; i++) arena[o + i] = b[s + i];
    }
    this.arenaLen += need;
    const id = this.newId();
    this.arena32[w] = len;
    this.arena32[w + 1] = id;
    if (id >= this.gOf.length) this.gOf = grown(this.gOf, Math.max(id + 1, this.gOf.length * 2));
    this.gOf[id] = w + 1;
    this.gSlots[p] = h;
    this.gSlots[p + 1] = w + 1;
    if (this.gCount * 4 > (this.gMask + 1) * 3) {
      // Past a thousand such keys they are the set's style (UUIDs): jump to the expected count's
      // size instead of a dozen doublings. A few odd ids in a decimal set stay in a small table.
      let mask = this.gMask * 2 + 1;
      if (this.gCount >= 1024 && this.expected > this.gCount) {
        while ((mask + 1) * 3 < this.expected * 4) mask = mask * 2 + 1;
        // The arena too, at the mean record size so far: a dozen doublings copied and faulted in
        // twice its final size (at 1M UUIDs, a third of the interning time).
        const room = Math.ceil(((this.arenaLen / this.gCount) * this.expected * 1.05) / 4) * 4;
        if (room > this.arena.length) this.reserve(room);
        if (this.expected > this.gOf.length) this.gOf = grown(this.gOf, this.expected);
      }
      this.gSlots = this.grow(this.gSlots, (this.gMask = mask), false);
    }
    return id;
  }

  /** Moves the arena to a buffer of `bytes` (a multiple of 4). */
  private reserve(bytes: number): void {
    const a = new Uint8Array(bytes);
    a.set(this.arena.subarray(0, this.arenaLen));
    this.arena = a;
    this.arena32 = new Int32Array(a.buffer);
  }

  /** Re-inserts (key, id + 1) pairs into a table of mask + 1 slots; numeric keys are re-mixed. */
  private grow(old: Int32Array, mask: number, numericTable: boolean): Int32Array<ArrayBuffer> {
    const slots = new Int32Array((mask + 1) << 1);
    for (let q = 0; q < old.length; q += 2) {
      if (old[q + 1] === 0) continue;
      let i = (numericTable ? fmix32(old[q]) : old[q]) & mask;
      while (slots[(i << 1) + 1] !== 0) i = (i + 1) & mask;
      slots[i << 1] = old[q];
      slots[(i << 1) + 1] = old[q + 1];
    }
    return slots;
  }

  internString(s: string): number {
    const b = Buffer.from(s, 'utf8');
    return this.intern(b, 0, b.length);
  }

  lookupString(s: string): number {
    const b = Buffer.from(s, 'utf8');
    return this.lookup(b, 0, b.length);
  }

  private values(): Int32Array {
    if (!this.numValues) {
      const values = new Int32Array(this.size);
      for (let v = 0; v < this.direct.length; v++) if (this.direct[v]) values[this.direct[v] - 1] = v;
      for (let q = 0; q < this.nSlots.length; q += 2)
        if (this.nSlots[q + 1]) values[this.nSlots[q + 1] - 1] = this.nSlots[q];
      this.numValues = values;
    }
    return this.numValues;
  }

  /**
   * The ids `keep` accepts, ordered by (length, text) of their keys — the state index's order.
   * Canonical decimals in that order are in numeric order: the direct array is read in value
   * order (no sort, no string), merged with the few hashed values, then with the other keys.
   */
  idsInKeyOrder(keep: (id: number) => boolean): Int32Array {
    const hashed: number[] = [];
    for (let q = 0; q < this.nSlots.length; q += 2)
      if (this.nSlots[q + 1] && keep(this.nSlots[q + 1] - 1)) hashed.push(this.nSlots[q]);
    const hv = Float64Array.from(hashed).sort();
    const nums = new Int32Array(this.size);
    let m = 0,
      h = 0;
    const direct = this.direct;
    for (let v = 0; v < direct.length; v++) {
      const id1 = direct[v];
      if (id1 === 0 || !keep(id1 - 1)) continue;
      while (h < hv.length && hv[h] < v) nums[m++] = this.lookupNumber(hv[h++]);
      nums[m++] = id1 - 1;
    }
    while (h < hv.length) nums[m++] = this.lookupNumber(hv[h++]);
    const gen: { id: number; s: string }[] = [];
    for (let w = 0; w << 2 < this.arenaLen; w += 2 + recordWords(this.arena32[w])) {
      const id = this.arena32[w + 1];
      if (keep(id)) gen.push({ id, s: this.str(id) });
    }
    if (!gen.length) return nums.subarray(0, m);
    gen.sort((a, b) => a.s.length - b.s.length || (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
    const values = this.values();
    const out = new Int32Array(m + gen.length);
    let i = 0,
      j = 0,
      w = 0;
    while (i < m || j < gen.length) {
      if (j >= gen.length) out[w++] = nums[i++];
      else if (i >= m) out[w++] = gen[j++].id;
      else {
        const b = gen[j].s;
        const d = digits(values[nums[i]]);
        const first = d !== b.length ? d < b.length : String(values[nums[i]]) < b;
        out[w++] = first ? nums[i++] : gen[j++].id;
      }
    }
    return out;
  }

  /** The decimal value of id's key when it is a canonical decimal (no bytes kept), else -1. */
  numberOf(id: number): number {
    return id < this.gOf.length && this.gOf[id] ? -1 : this.values()[id];
  }

  /** UTF-8 length of id's key. */
  byteLength(id: number): number {
    const g1 = id < this.gOf.length ? this.gOf[id] : 0;
    return g1 ? textLength(this.arena32[g1 - 1]) : digits(this.values()[id]);
  }

  /** Writes id's key as UTF-8 at b[at] (room for byteLength(id) bytes); returns the end. */
  writeUtf8(id: number, b: Uint8Array, at: number): number {
    const g1 = id < this.gOf.length ? this.gOf[id] : 0;
    if (g1) {
      if (this.arena32[g1 - 1] === UUID) return unpackUuid(this.arena32, g1 + 1, b, at);
      const a = this.arena;
      for (let i = (g1 + 1) << 2, e = i + this.arena32[g1 - 1]; i < e; i++) b[at++] = a[i];
      return at;
    }
    let v = this.values()[id];
    const end = at + digits(v);
    for (let w = end - 1; w >= at; w--, v = (v / 10) | 0) b[w] = 48 + (v % 10);
    return end;
  }

  /**
   * The positions of `ids` in the order of their keys' text as JS strings compare (the lake's row
   * order): ids[p[0]], ids[p[1]], ... ascend. Canonical decimals sort as numbers mapped to (digits
   * left-aligned to 9 places, length), with the position in the low bits: one native sort of
   * doubles, no string made.
   */
  textOrder(ids: Int32Array): Int32Array {
    const n = ids.length;
    const values = this.values();
    const gOf = this.gOf;
    let generic = false;
    for (let i = 0; i < n && !generic; i++) generic = ids[i] < gOf.length && gOf[ids[i]] !== 0;
    const pos = new Int32Array(n);
    if (generic) {
      const s = Array.from(ids, (id, i) => ({ i, s: this.str(id) }));
      s.sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
      for (let i = 0; i < n; i++) pos[i] = s[i].i;
      return pos;
    }
    const textKey = (v: number) => {
      const d = digits(v);
      return v * POW10[9 - d] * 10 + d; // < 1e10
    };
    if (n <= POS_SPAN) {
      // text key · 2^19 + position < 1e10 · 2^19 < 2^53: exact
      const k = new Float64Array(n);
      for (let i = 0; i < n; i++) k[i] = textKey(values[ids[i]]) * POS_SPAN + i;
      k.sort();
      for (let i = 0; i < n; i++) pos[i] = k[i] % POS_SPAN;
      return pos;
    }
    const k = Float64Array.from(ids, (id) => textKey(values[id]));
    for (let i = 0; i < n; i++) pos[i] = i;
    return pos.sort((a, b) => k[a] - k[b]);
  }

  str(id: number): string {
    const g1 = id < this.gOf.length ? this.gOf[id] : 0;
    if (g1 && this.arena32[g1 - 1] === UUID) {
      const text = new Uint8Array(36);
      unpackUuid(this.arena32, g1 + 1, text, 0);
      return decoder.decode(text);
    }
    if (g1) return decoder.decode(this.arena.subarray((g1 + 1) << 2, ((g1 + 1) << 2) + this.arena32[g1 - 1]));
    return String(this.values()[id]);
  }
}

/** Words of the arena are read in the platform's byte order; DataView must read the source so. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The length word of a record holding a packed UUID. */
const UUID = -1;

/** Words after a record's length and id word. */
function recordWords(len: number): number {
  return len === UUID ? 4 : (len + 3) >> 2;
}

/** Bytes of a record's key as text. */
function textLength(len: number): number {
  return len === UUID ? 36 : len;
}

/** Nibble of a lowercase hex digit's byte, or -1 (uppercase stays text: it is another key). */
const NIBBLE = Int8Array.from({ length: 256 }, (_, c) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1,
);
const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * Packs b[s, e) into 4 words if it is a canonical lowercase UUID (8-4-4-4-12 hex digits, any
 * version): 32 nibbles, most significant first. Returns whether it was one.
 */
function packUuid(b: Uint8Array, s: number, e: number, out: Int32Array): boolean {
  if (e - s !== 36 || b[s + 8] !== 45 || b[s + 13] !== 45 || b[s + 18] !== 45 || b[s + 23] !== 45) return false;
  // Two digits at a time (no group of a UUID has an odd length): a byte, or 256 if not hex.
  let bad = 0;
  for (let k = 0; k < 16; k += 4) {
    const b0 = BYTE_OF[(b[s + PAIR_AT[k]!]! << 8) | b[s + PAIR_AT[k]! + 1]!]!;
    const b1 = BYTE_OF[(b[s + PAIR_AT[k + 1]!]! << 8) | b[s + PAIR_AT[k + 1]! + 1]!]!;
    const b2 = BYTE_OF[(b[s + PAIR_AT[k + 2]!]! << 8) | b[s + PAIR_AT[k + 2]! + 1]!]!;
    const b3 = BYTE_OF[(b[s + PAIR_AT[k + 3]!]! << 8) | b[s + PAIR_AT[k + 3]! + 1]!]!;
    bad |= b0 | b1 | b2 | b3;
    out[k >> 2] = (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
  }
  return bad < 256;
}

/** Where the k-th pair of hex digits of a UUID's text starts. */
const PAIR_AT = Uint8Array.from(
  { length: 16 },
  (_, k) => 2 * k + (k >= 4 ? 1 : 0) + (k >= 6 ? 1 : 0) + (k >= 8 ? 1 : 0) + (k >= 10 ? 1 : 0),
);

/** The byte two lowercase hex digits (first << 8 | second) spell, or 256 if they are not two. */
const BYTE_OF = Int16Array.from({ length: 1 << 16 }, (_, x) => {
  const hi = NIBBLE[x >> 8]!;
  const lo = NIBBLE[x & 255]!;
  return hi < 0 || lo < 0 ? 256 : (hi << 4) | lo;
});

function uuidAt(a32: Int32Array, w: number, packed: Int32Array): boolean {
  return a32[w] === packed[0] && a32[w + 1] === packed[1] && a32[w + 2] === packed[2] && a32[w + 3] === packed[3];
}

/** Writes the packed UUID at word w as its 36 bytes of text at b[at]; returns the end. */
function unpackUuid(a32: Int32Array, w: number, b: Uint8Array, at: number): number {
  for (let k = 0; k < 32; k++) {
    if (k === 8 || k === 12 || k === 16 || k === 20) b[at++] = 45;
    b[at++] = HEX[(a32[w + (k >> 3)]! >>> (28 - 4 * (k & 7))) & 15]!;
  }
  return at;
}

/** Positions packed under a sort key (a day of more items sorts by a comparator). */
const POS_SPAN = 1 << 19;

const POW10 = Array.from({ length: 10 }, (_, i) => 10 ** i);

/** Decimal digits of a non-negative integer below 1e10. */
function digits(v: number): number {
  let d = 1;
  while (d < 10 && v >= POW10[d]) d++;
  return d;
}

function grown(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
