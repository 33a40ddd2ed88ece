import test from 'ava';
import {
  civilFromDays,
  daysFromCivil,
  lastNanos,
  parseCents,
  parseNonNegInt,
  parseTimestamp,
} from '../../runtime/core/parse/timestamp';

const b = (s: string) => Buffer.from(s);
const ts = (s: string) => parseTimestamp(b(s), 0, s.length);
const utc = (s: string) => Date.parse(s) / 1000;

test('timestamp spellings: T, space, Z, " UTC", no zone all mean UTC', (t) => {
  const want = utc('2025-03-01T10:20:30Z');
  for (const s of ['2025-03-01T10:20:30', '2025-03-01 10:20:30', '2025-03-01T10:20:30Z', '2025-03-01 10:20:30 UTC'])
    t.is(ts(s), want, s);
});

test('zone offsets are honoured, including across midnight', (t) => {
  t.is(ts('2025-03-01T01:30:00+02:00'), utc('2025-02-28T23:30:00Z'));
  t.is(ts('2025-03-01T01:30:00+0200'), utc('2025-02-28T23:30:00Z'));
  t.is(ts('2025-02-28T23:30:00-05:00'), utc('2025-03-01T04:30:00Z'));
  t.is(civilFromDays(Math.floor(ts('2025-03-01T01:30:00+02:00') / 86400)), '2025-02-28');
});

test('fractions parse and keep nanoseconds for ordering', (t) => {
  t.is(ts('2025-03-01T10:20:30.123456Z'), utc('2025-03-01T10:20:30Z'));
  t.is(lastNanos, 123456000);
  t.is(ts('2025-03-01 10:20:30.5'), utc('2025-03-01T10:20:30Z'));
  t.is(lastNanos, 500000000);
});

test('impossible or malformed timestamps are NaN', (t) => {
  for (const s of [
    '2025-02-30T10:00:00',
    '2023-02-29T00:00:00',
    '2025-13-01T00:00:00',
    '2025-04-31 00:00:00',
    '2025-03-01T24:00:00',
    '2025-03-01T10:60:00',
    '2025-03-01T10:00:60',
    '2025-03-01',
    '2025/03/01 10:00:00',
    '2025-03-01T10:00:00+2',
    '2025-03-01T10:00:00 GMT',
    '2025-03-01T10:00:00.',
    '2025-03-01T10:00:00+24:00',
    'yesterday',
    '',
  ])
    t.true(Number.isNaN(ts(s)), s);
  t.false(Number.isNaN(ts('2024-02-29T00:00:00')), 'leap day');
});

test('civil day conversion round-trips', (t) => {
  for (const [y, m, d] of [
    [1970, 1, 1],
    [2000, 2, 29],
    [2025, 12, 31],
    [1969, 12, 31],
  ]) {
    const s = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    t.is(civilFromDays(daysFromCivil(y, m, d)), s);
    t.is(daysFromCivil(y, m, d), Date.parse(s) / 86400000);
  }
});

test('prices: half-up to cents when read, invalid ones rejected', (t) => {
  const c = (s: string) => parseCents(b(s), 0, s.length);
  t.is(c('59.9900016784668'), 5999);
  t.is(c('0.125'), 13);
  t.is(c('0.124999'), 12);
  t.is(c('0.995'), 100);
  t.is(c('10'), 1000);
  t.is(c('.5'), 50);
  t.is(c('5.'), 500);
  t.is(c('0'), 0);
  for (const s of ['-1', '1,5', '1e3', 'abc', '', '.', '1.2.3', '+1', 'N/A', '99999999999999999']) t.is(c(s), -1, s);
});

test('non-negative integers', (t) => {
  const n = (s: string) => parseNonNegInt(b(s), 0, s.length);
  t.is(n('0'), 0);
  t.is(n('42'), 42);
  for (const s of ['-1', '1.5', 'two', '', '1e2']) t.is(n(s), -1, s);
});
