// Timestamp and number parsing straight from bytes, so the hot path never builds strings.

const D0 = 48;

function digits(b: Uint8Array, s: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = b[s + i] - D0;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Day number → "YYYY-MM-DD". */
export function civilFromDays(z: number): string {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Nanoseconds of the last timestamp parsed (the fraction), for exact ordering of equal seconds. */
export let lastNanos = 0;

/**
 * Parses `YYYY-MM-DD[T ]HH:MM:SS[.frac][Z| UTC|±HH:MM|±HHMM]` (already trimmed) into UTC epoch
 * seconds, or NaN when the text is not a valid timestamp. The fraction goes to `lastNanos`.
 */
export function parseTimestamp(b: Uint8Array, s: number, e: number): number {
  if (e - s < 19) return NaN;
  const y = digits(b, s, 4);
  if (y < 0 || b[s + 4] !== 45) return NaN;
  const mo = digits(b, s + 5, 2);
  if (mo < 1 || mo > 12 || b[s + 7] !== 45) return NaN;
  const d = digits(b, s + 8, 2);
  const dim = mo === 2 ? (isLeap(y) ? 29 : 28) : MONTH_DAYS[mo - 1];
  if (d < 1 || d > dim) return NaN;
  const sep = b[s + 10];
  if (sep !== 84 && sep !== 32) return NaN; // 'T' or ' '
  const h = digits(b, s + 11, 2);
  if (h < 0 || h > 23 || b[s + 13] !== 58) return NaN;
  const mi = digits(b, s + 14, 2);
  if (mi < 0 || mi > 59 || b[s + 16] !== 58) return NaN;
  const se = digits(b, s + 17, 2);
  if (se < 0 || se > 59) return NaN;
  let p = s + 19;
  let nanos = 0;
  if (p < e && b[p] === 46) {
    p++;
    const f0 = p;
    let scale = 100000000;
    while (p < e && b[p] >= D0 && b[p] <= D0 + 9) {
      nanos += (b[p] - D0) * scale;
      scale = Math.floor(scale / 10);
      p++;
    }
    if (p === f0) return NaN;
  }
  let offset = 0;
  if (p < e) {
    const c = b[p];
    if (c === 90 && p + 1 === e) {
      // Z
    } else if (c === 32 && e - p === 4 && b[p + 1] === 85 && b[p + 2] === 84 && b[p + 3] === 67) {
      // " UTC"
    } else if (c === 43 || c === 45) {
      const oh = digits(b, p + 1, 2);
      let om: number;
      if (e - p === 6 && b[p + 3] === 58) om = digits(b, p + 4, 2);
      else if (e - p === 5) om = digits(b, p + 3, 2);
      else return NaN;
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
      offset = (oh * 3600 + om * 60) * (c === 43 ? 1 : -1);
    } else return NaN;
  }
  lastNanos = nanos;
  return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
}

/** Largest price accepted, in cents: beyond it cents are no longer exact in a double. */
const MAX_CENTS = 2 ** 53 / 1024;

/** A non-negative decimal with '.' → cents rounded half-up; -1 when not a valid price. */
export function parseCents(b: Uint8Array, s: number, e: number): number {
  if (s >= e) return -1;
  let whole = 0;
  let p = s;
  let nd = 0;
  while (p < e && b[p] >= D0 && b[p] <= D0 + 9) {
    whole = whole * 10 + (b[p] - D0);
    p++;
    nd++;
  }
  let frac = 0;
  let fd = 0;
  let roundUp = false;
  if (p < e && b[p] === 46) {
    p++;
    while (p < e && b[p] >= D0 && b[p] <= D0 + 9) {
      const c = b[p] - D0;
      if (fd < 2) frac = frac * 10 + c;
      else if (fd === 2) roundUp = c >= 5;
      fd++;
      p++;
    }
  }
  if (p !== e || nd + fd === 0) return -1;
  if (fd === 1) frac *= 10;
  const cents = whole * 100 + frac + (roundUp ? 1 : 0);
  return cents > MAX_CENTS ? -1 : cents;
}

/** A non-negative integer → its value; -1 when not one. */
export function parseNonNegInt(b: Uint8Array, s: number, e: number): number {
  if (s >= e || e - s > 15) return -1;
  return digits(b, s, e - s);
}
