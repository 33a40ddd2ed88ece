// UTF-8 validity of a byte range (SPEC: a row with bytes that are not valid UTF-8 is bad_encoding).
// Valid means what a fatal TextDecoder accepts: no overlong forms, no surrogates, nothing past U+10FFFF.

/** Whether buf[s, e) is well-formed UTF-8. ASCII runs cost one compare per byte. */
export function isValidUtf8(buf: Uint8Array, s: number, e: number): boolean {
  let i = s;
  while (i < e) {
    const b0 = buf[i];
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 === 0xe0) lo = 0xa0; // overlong
      if (b0 === 0xed) hi = 0x9f; // surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 === 0xf0) lo = 0x90; // overlong
      if (b0 === 0xf4) hi = 0x8f; // past U+10FFFF
    } else return false;
    if (i + need >= e) return false; // truncated sequence
    const b1 = buf[i + 1];
    if (b1 < lo || b1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const c = buf[i + k];
      if (c < 0x80 || c > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}
