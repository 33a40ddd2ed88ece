// The one hash of an id's bytes: FNV-1a with murmur3's finalizer (so every input bit reaches the
// low bits a table or a filter uses). assembly/rows.ts computes the same value while it scans, so
// the dictionaries take a random id's hash from the scanner instead of reading its bytes again.

/** murmur3's finalizer, as a signed 32-bit value. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** The hash of b[s, e) (signed 32-bit; assembly/rows.ts hashOf gives the same). */
export function idHash(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return fmix32(h);
}

/** The value of b[s, e) if it is a canonical decimal below 1e9 ("0", "17"; no sign, no leading
 * zero), else -1: such ids skip hashing (assembly/rows.ts decimal() is the same rule). */
export function canonicalDecimal(b: Uint8Array, s: number, e: number): number {
  const len = e - s;
  if (len === 0 || len > 9 || (b[s] === 48 && len > 1)) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}
