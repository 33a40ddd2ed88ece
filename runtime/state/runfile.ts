// The state index's file format: one immutable "run" of sorted records (an SSTable). Records are
// cut into ~8 KB blocks; the index section (block first keys and offsets, and the run's table of
// version ranks) sits after the blocks, so a reader fetches the index once and then only the
// blocks holding the keys it looks up. The index section ends with a newline and the run's Bloom
// filter (bloom.ts), so a key absent from the run costs no block read. Pure: bytes in, bytes out.
import { Bloom, BloomBuilder, hashBytes, hashKey } from './bloom';

/**
 * One record: a key, the version rank it came from ('' for derived records) and a value; a null value
 * deletes the key.
 */
export interface Rec {
  key: string;
  rank: string;
  val: string | null;
}

export interface RunIndex {
  ranks: string[];
  /** [first key, byte offset, byte length] per block */
  blocks: [string, number, number][];
  /** absent in runs written before the filter existed: every block must then be read */
  bloom?: Bloom;
}

export const BLOCK_BYTES = 8192;

// Keys compare as JS strings (UTF-16 code units); writer and readers use this order only.
export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const SEP = '\u0000\u0000';

/**
 * A composite key: kind, then each part prefixed by its length, so keys order by (kind, length,
 * text) — sequential numeric ids are then in numeric order and a day's new ids sort after every
 * older one. NUL inside an id is escaped, so no part can run into the next.
 */
export function key(kind: string, ...parts: string[]): string {
  let k = kind;
  for (const p of parts)
    k += SEP + String.fromCharCode(p.length + 1) + (p.includes('\u0000') ? p.replaceAll('\u0000', '\u0000\u0001') : p);
  return k;
}

/** The prefix of every key(kind, ...parts, anything). */
export const prefix = (kind: string, ...parts: string[]) => key(kind, ...parts) + SEP;

class Out {
  buf = Buffer.allocUnsafe(1 << 16);
  n = 0;
  room(k: number) {
    if (this.n + k <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(b, 0, 0, this.n);
    this.buf = b;
  }
  varint(v: number) {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.n++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.n++] = v;
  }
  str(s: string) {
    if (s.length < 0x80 && this.ascii(s, s.length)) return;
    const len = Buffer.byteLength(s);
    this.varint(len);
    this.room(len);
    this.n += this.buf.write(s, this.n, 'utf8');
  }
  /** One length byte (< 0x80, a one-byte varint), then an ASCII string's bytes, copied by hand:
   * cheaper than two native calls for a short key. False, with nothing written, if s is not ASCII. */
  ascii(s: string, lengthByte: number): boolean {
    const len = s.length;
    this.room(len + 1);
    const b = this.buf;
    const at = this.n + 1;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      b[at + i] = c;
    }
    b[this.n] = lengthByte;
    this.n = at + len;
    return true;
  }
}

/** Whether a[0, an) sorts before b[0, bn), byte by byte. */
function bytesBefore(a: Uint8Array, an: number, b: Uint8Array, bn: number): boolean {
  const n = Math.min(an, bn);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return an < bn;
}

/**
 * Writes a run from records in strictly increasing key order, handing out finished byte chunks
 * (so a large run can go to a file instead of memory). Call end() for the index section.
 */
export class RunWriter {
  private out = new Out();
  private offset = 0;
  private ranks = new Map<string, number>();
  private blocks: [string, number, number][] = [];
  private last: string | null = null;
  records = 0;
  minKey = '';
  maxKey = '';
  /** the last key's UTF-8 bytes, when it was added by addBytes (else null: compare `last`) */
  private lastBytes: Uint8Array | null = null;
  private lastLen = 0;
  private readonly bloom: BloomBuilder;
  /** expectedKeys: how many records at most (sizes the Bloom filter up front; else sized at the end) */
  constructor(
    private readonly emit: (chunk: Buffer) => void,
    expectedKeys?: number,
  ) {
    this.bloom = new BloomBuilder(expectedKeys);
  }

  /** The index of a version rank in this run's table (assigned on first use); 0 for ''. */
  rankIndex(rank: string): number {
    if (!rank) return 0;
    let ri = this.ranks.get(rank) ?? 0;
    if (!ri) this.ranks.set(rank, (ri = this.ranks.size + 1));
    return ri;
  }

  add(r: Rec): void {
    if (this.lastBytes) this.last = Buffer.from(this.lastBytes.subarray(0, this.lastLen)).toString('utf8');
    this.lastBytes = null;
    if (this.last !== null && !(this.last < r.key))
      throw new Error(`run keys out of order: ${JSON.stringify(r.key)} after ${JSON.stringify(this.last)}`);
    if (this.out.n === 0) this.blocks.push([r.key, this.offset, 0]);
    if (this.records === 0) this.minKey = r.key;
    this.last = this.maxKey = r.key;
    this.records++;
    this.bloom.add(hashKey(r.key));
    const ri = this.rankIndex(r.rank);
    this.out.str(r.key);
    this.out.varint(ri);
    if (r.val === null) this.out.varint(0);
    else if (r.val.length + 1 < 0x80 && this.out.ascii(r.val, r.val.length + 1)) {
      // value length + 1 (0 means deleted), then its bytes
    } else {
      const len = Buffer.byteLength(r.val);
      this.out.varint(len + 1);
      this.out.room(len);
      this.out.n += this.out.buf.write(r.val, this.out.n, 'utf8');
    }
    if (this.out.n >= BLOCK_BYTES) this.cut();
  }

  /**
   * A record given as bytes: key[0, keyLen) (the key's UTF-8), a rank index from rankIndex(),
   * val[0, valLen) (a value's UTF-8). The same bytes add() writes for the same record, without a
   * string per record: the bulk run writes millions from typed columns this way.
   */
  addBytes(key: Uint8Array, keyLen: number, ri: number, val: Uint8Array, valLen: number): void {
    const last = this.lastBytes;
    if (last) {
      // UTF-8 byte order is code point order; keys are in JS string order, which differs only
      // between astral and U+E000..U+FFFF characters: a byte disorder is confirmed on strings.
      if (!bytesBefore(last, this.lastLen, key, keyLen) && !(this.text(last, this.lastLen) < this.text(key, keyLen)))
        throw new Error(
          `run keys out of order: ${JSON.stringify(this.text(key, keyLen))} after ${JSON.stringify(this.text(last, this.lastLen))}`,
        );
    } else if (this.last !== null && !(this.last < this.text(key, keyLen))) {
      throw new Error(
        `run keys out of order: ${JSON.stringify(this.text(key, keyLen))} after ${JSON.stringify(this.last)}`,
      );
    }
    if (this.out.n === 0) this.blocks.push([this.text(key, keyLen), this.offset, 0]);
    if (this.records === 0) this.minKey = this.text(key, keyLen);
    this.records++;
    this.bloom.add(hashBytes(key, keyLen));
    const o = this.out;
    o.varint(keyLen);
    o.room(keyLen + 20 + valLen);
    const b = o.buf;
    const keyAt = o.n;
    // The last key is kept as bytes (a string is made only for block first keys and the maximum).
    if (!this.lastBytes || this.lastBytes.length < keyLen) this.lastBytes = new Uint8Array(Math.max(64, keyLen * 2));
    const lastKey = this.lastBytes;
    for (let i = 0; i < keyLen; i++) b[keyAt + i] = lastKey[i] = key[i]!;
    o.n += keyLen;
    o.varint(ri);
    o.varint(valLen + 1);
    const valAt = o.n;
    for (let i = 0; i < valLen; i++) b[valAt + i] = val[i]!;
    o.n += valLen;
    this.lastLen = keyLen;
    this.maxKey = '';
    if (o.n >= BLOCK_BYTES) this.cut();
  }

  private text(b: Uint8Array, len: number): string {
    return Buffer.from(b.buffer, b.byteOffset, len).toString('utf8');
  }

  private cut(): void {
    if (!this.out.n) return;
    this.blocks.at(-1)![2] = this.out.n;
    this.emit(Buffer.from(this.out.buf.subarray(0, this.out.n)));
    this.offset += this.out.n;
    this.out.n = 0;
  }

  /** Emits the index section; returns where it starts and how long it is. */
  end(): { indexAt: number; indexBytes: number; bytes: number } {
    if (this.lastBytes) this.maxKey = this.text(this.lastBytes, this.lastLen);
    this.cut();
    const index: RunIndex = { ranks: [...this.ranks.keys()], blocks: this.blocks };
    // JSON.stringify never writes a raw newline: the first one ends the JSON.
    const body = Buffer.from(JSON.stringify(index) + '\n');
    const bloom = this.bloom.build().bytes;
    this.emit(body);
    this.emit(Buffer.from(bloom.buffer, bloom.byteOffset, bloom.byteLength));
    const indexBytes = body.length + bloom.length;
    return { indexAt: this.offset, indexBytes, bytes: this.offset + indexBytes };
  }
}

/** Encodes sorted records into one buffer (small runs). */
export function encodeRun(recs: Iterable<Rec>): {
  bytes: Buffer;
  indexAt: number;
  records: number;
  minKey: string;
  maxKey: string;
} {
  const chunks: Buffer[] = [];
  const w = new RunWriter((c) => chunks.push(c));
  for (const r of recs) w.add(r);
  const { indexAt } = w.end();
  return { bytes: Buffer.concat(chunks), indexAt, records: w.records, minKey: w.minKey, maxKey: w.maxKey };
}

export function decodeIndex(bytes: Uint8Array): RunIndex {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nl = b.indexOf(10);
  const index = JSON.parse(b.toString('utf8', 0, nl < 0 ? b.length : nl)) as RunIndex;
  // A copy: the filter outlives the fetched buffer in the index cache.
  if (nl >= 0) index.bloom = new Bloom(new Uint8Array(b.subarray(nl + 1)));
  return index;
}

/** The records of one block, in key order. */
export function decodeBlock(bytes: Uint8Array, index: RunIndex): Rec[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Rec[] = [];
  let p = 0;
  const varint = () => {
    let v = 0,
      mul = 1,
      c: number;
    do {
      c = b[p++]!;
      v += (c & 0x7f) * mul;
      mul *= 128;
    } while (c & 0x80);
    return v;
  };
  while (p < b.length) {
    const kl = varint();
    const k = b.toString('utf8', p, p + kl);
    p += kl;
    const ri = varint();
    const vl = varint();
    let val: string | null = null;
    if (vl) {
      val = b.toString('utf8', p, p + vl - 1);
      p += vl - 1;
    }
    out.push({ key: k, rank: ri ? index.ranks[ri - 1]! : '', val });
  }
  return out;
}

/** The block that holds `k` if any does: the last block whose first key is ≤ k (-1 if none). */
export function blockOf(index: RunIndex, k: string): number {
  let lo = 0,
    hi = index.blocks.length - 1,
    ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (index.blocks[mid]![0] <= k) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** Binary search in a decoded block. */
export function findIn(recs: Rec[], k: string): Rec | undefined {
  let lo = 0,
    hi = recs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = cmp(recs[mid]!.key, k);
    if (c === 0) return recs[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
