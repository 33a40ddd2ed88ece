// A Bloom filter over a run's keys: a look-up skips a run whose filter says "not here" without
// fetching any block. Random ids (UUIDs) spread over every block, so without it each new key cost
// up to one block read per run. 10 bits and 7 probes per key: about 1% false positives.
// The hash is of the key's UTF-8 bytes, so a writer holding bytes and a reader holding a string agree.
import { fmix32, idHash } from '../core/parse/idhash';

export const BITS_PER_KEY = 10;
export const PROBES = 7;

/** The id hash (core/parse/idhash.ts) of b[0, len), unsigned. */
export const hashBytes = (b: Uint8Array, len: number): number => idHash(b, 0, len) >>> 0;

/** hashBytes of the string's UTF-8 (ASCII, the usual key, without encoding it). */
export function hashKey(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      const b = Buffer.from(s, 'utf8');
      return hashBytes(b, b.length);
    }
    h = Math.imul(h ^ c, 0x01000193);
  }
  return fmix32(h) >>> 0;
}

/** The probes' second hash, derived from the first (odd, so the probes never repeat early). */
const step = (h: number): number => fmix32(h ^ 0x9e3779b9) | 1;

export class Bloom {
  readonly bits: number;
  constructor(readonly bytes: Uint8Array) {
    this.bits = bytes.length * 8;
  }

  static sized(keys: number): Bloom {
    return new Bloom(new Uint8Array(Math.max(8, Math.ceil((Math.max(1, keys) * BITS_PER_KEY) / 8))));
  }

  add(h: number): void {
    const b = this.bytes;
    const h2 = step(h);
    for (let i = 0; i < PROBES; i++) {
      const bit = ((h + Math.imul(i, h2)) >>> 0) % this.bits;
      b[bit >>> 3] |= 1 << (bit & 7);
    }
  }

  /** False: the key is certainly not in the run. */
  mayHold(h: number): boolean {
    const b = this.bytes;
    const h2 = step(h);
    for (let i = 0; i < PROBES; i++) {
      const bit = ((h + Math.imul(i, h2)) >>> 0) % this.bits;
      if ((b[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }
}

/** Collects key hashes while a run is written; the filter is sized once the count is known. */
export class BloomBuilder {
  private hashes = new Uint32Array(1024);
  private n = 0;
  private bloom: Bloom | null;

  /** expected: the number of keys when known up front (no hashes kept then) */
  constructor(expected?: number) {
    this.bloom = expected ? Bloom.sized(expected) : null;
  }

  add(h: number): void {
    if (this.bloom) return this.bloom.add(h);
    if (this.n === this.hashes.length) {
      const g = new Uint32Array(this.n * 2);
      g.set(this.hashes);
      this.hashes = g;
    }
    this.hashes[this.n++] = h;
  }

  build(): Bloom {
    if (this.bloom) return this.bloom;
    const bloom = Bloom.sized(this.n);
    for (let i = 0; i < this.n; i++) bloom.add(this.hashes[i]!);
    return bloom;
  }
}
