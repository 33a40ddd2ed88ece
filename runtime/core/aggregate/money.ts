// Exact decimal arithmetic on integers: money is integer cents, every rounding is half-up.

/** round(a / b) with halves rounded up, for a >= 0 and b > 0. Exact for any safe integers. */
export function divHalfUp(a: number, b: number): number {
  if (b <= 0) throw new RangeError('divisor must be positive');
  if (a * 2 + b <= Number.MAX_SAFE_INTEGER) return Math.floor((a * 2 + b) / (b * 2));
  const big = (BigInt(a) * 2n + BigInt(b)) / (BigInt(b) * 2n);
  return Number(big);
}

/** Cents → a JSON/DynamoDB number with at most two decimals (the nearest double prints exactly). */
export function centsToNumber(cents: number): number {
  return cents / 100;
}

/** A ratio n/d rounded half-up to `places` decimals, as a number. */
export function ratio(n: number, d: number, places = 4): number {
  if (d === 0) return 0;
  const scale = 10 ** places;
  return divHalfUp(n * scale, d) / scale;
}

/** Fixed-point text for tables: 1234 → "12.34". */
export function centsToText(cents: number): string {
  const neg = cents < 0;
  const abs = Math.abs(cents);
  const s = `${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
  return neg ? `-${s}` : s;
}
