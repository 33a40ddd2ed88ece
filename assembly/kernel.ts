// Hash-grouped KPI aggregation over raw linear memory (stub runtime: no GC, no imports).
// Input rows arrive in chunks, ordered by (day, order): that ordering turns both distinct counts
// into O(1) stamp checks instead of hash sets. Groups are found in open-addressing tables.

import { alloc, fill, outOfMemory, reset } from './alloc';

/** Status codes of init. */
export const INIT_OK: i32 = 0;
export const INIT_OUT_OF_MEMORY: i32 = 1;

// Column addresses, exported by name: the runtime reads them after init (no numbered layout).
// input columns (chunk)
export let inCat: usize = 0;
export let inDay: usize = 0;
export let inOrder: usize = 0;
export let inUser: usize = 0;
export let inCents: usize = 0;
export let inFlags: usize = 0;

// (category, day) groups
let gSlots: usize = 0;
let gMask: u32 = 0;
let gCount: i32 = 0;
export let gCat: usize = 0;
export let gDay: usize = 0;
export let gCents: usize = 0;
export let gItems: usize = 0;
export let gReturned: usize = 0;
export let gOrders: usize = 0;

// day groups
let dSlots: usize = 0;
let dMask: u32 = 0;
let dCount: i32 = 0;
export let dDay: usize = 0;
export let dCents: usize = 0;
export let dItems: usize = 0;
export let dOrders: usize = 0;
export let dUsers: usize = 0;
export let dReturnedOrders: usize = 0;

let catStamp: usize = 0;
// The group of each category on the current day: (day index + 1) stamp and group, so that the
// hash table is probed once per (category, day), not once per item.
let catGroupDay: usize = 0;
let catGroup: usize = 0;
let userStamp: usize = 0;
let lastOrder: i32 = -1;
let orderSeq: i32 = 0;

function pow2AtLeast(n: i32): u32 {
  let c: u32 = 16;
  while (c < <u32>n) c <<= 1;
  return c;
}

/** Prepares tables for at most `maxGroups` (category, day) groups and `maxDays` days. */
export function init(chunk: i32, nCats: i32, nUsers: i32, maxGroups: i32, maxDays: i32): i32 {
  reset();
  const c = <usize>chunk;
  inCat = alloc(c << 2);
  inDay = alloc(c << 2);
  inOrder = alloc(c << 2);
  inUser = alloc(c << 2);
  inCents = alloc(c << 3);
  inFlags = alloc(c);

  const gCap = pow2AtLeast(maxGroups * 2);
  gMask = gCap - 1;
  gSlots = alloc(<usize>gCap << 2);
  fill(gSlots, 0xff, <usize>gCap << 2);
  const g = <usize>maxGroups;
  gCat = alloc(g << 2);
  gDay = alloc(g << 2);
  gCents = alloc(g << 3);
  gItems = alloc(g << 2);
  gReturned = alloc(g << 2);
  gOrders = alloc(g << 2);
  fill(gCents, 0, g << 3);
  fill(gItems, 0, g << 2);
  fill(gReturned, 0, g << 2);
  fill(gOrders, 0, g << 2);
  gCount = 0;

  const dCap = pow2AtLeast(maxDays * 2);
  dMask = dCap - 1;
  dSlots = alloc(<usize>dCap << 2);
  fill(dSlots, 0xff, <usize>dCap << 2);
  const d = <usize>maxDays;
  dDay = alloc(d << 2);
  dCents = alloc(d << 3);
  dItems = alloc(d << 2);
  dOrders = alloc(d << 2);
  dUsers = alloc(d << 2);
  dReturnedOrders = alloc(d << 2);
  fill(dCents, 0, d << 3);
  fill(dItems, 0, d << 2);
  fill(dOrders, 0, d << 2);
  fill(dUsers, 0, d << 2);
  fill(dReturnedOrders, 0, d << 2);
  dCount = 0;

  catStamp = alloc(<usize>nCats << 2);
  fill(catStamp, 0, <usize>nCats << 2);
  catGroupDay = alloc(<usize>nCats << 2);
  fill(catGroupDay, 0, <usize>nCats << 2);
  catGroup = alloc(<usize>nCats << 2);
  userStamp = alloc(<usize>nUsers << 2);
  fill(userStamp, 0, <usize>nUsers << 2);
  lastOrder = -1;
  orderSeq = 0;
  return outOfMemory() ? INIT_OUT_OF_MEMORY : INIT_OK;
}

@inline function mix(a: u32, b: u32): u32 {
  let h = a * 0x9e3779b1 ^ (b + 0x7f4a7c15) * 0x85ebca77;
  h ^= h >>> 15;
  h *= 0x2c1b3c6d;
  h ^= h >>> 12;
  return h;
}

@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

function findGroup(cat: i32, day: i32): i32 {
  let s = mix(<u32>cat, <u32>day) & gMask;
  while (true) {
    const p = gSlots + (<usize>s << 2);
    const g = load<i32>(p);
    if (g < 0) {
      const n = gCount++;
      store<i32>(p, n);
      store<i32>(at(gCat, n), cat);
      store<i32>(at(gDay, n), day);
      return n;
    }
    if (load<i32>(at(gCat, g)) == cat && load<i32>(at(gDay, g)) == day) return g;
    s = (s + 1) & gMask;
  }
}

function findDay(day: i32): i32 {
  let s = mix(<u32>day, 0x51ed27) & dMask;
  while (true) {
    const p = dSlots + (<usize>s << 2);
    const d = load<i32>(p);
    if (d < 0) {
      const n = dCount++;
      store<i32>(p, n);
      store<i32>(at(dDay, n), day);
      return n;
    }
    if (load<i32>(at(dDay, d)) == day) return d;
    s = (s + 1) & dMask;
  }
}

@inline function bump(base: usize, i: i32, by: i32): void {
  const p = at(base, i);
  store<i32>(p, load<i32>(p) + by);
}

/** Aggregates rows [from, to) of the input columns. */
export function process(from: i32, to: i32): void {
  let lastDay: i32 = 0x7fffffff;
  let d: i32 = -1;
  for (let i = from; i < to; i++) {
    const cat = load<i32>(at(inCat, i));
    const day = load<i32>(at(inDay, i));
    const order = load<i32>(at(inOrder, i));
    const user = load<i32>(at(inUser, i));
    const cents = <i64>load<f64>(inCents + (<usize>i << 3));
    const flags = <i32>load<u8>(inFlags + <usize>i);
    if (day != lastDay) {
      d = findDay(day);
      lastDay = day;
    }
    const cd = at(catGroupDay, cat);
    let g: i32;
    if (load<i32>(cd) == d + 1) g = load<i32>(at(catGroup, cat));
    else {
      g = findGroup(cat, day);
      store<i32>(cd, d + 1);
      store<i32>(at(catGroup, cat), g);
    }
    if (order != lastOrder) {
      lastOrder = order;
      orderSeq++;
      bump(dOrders, d, 1);
      bump(dReturnedOrders, d, (flags >> 1) & 1);
    }
    const us = at(userStamp, user);
    if (load<i32>(us) != d + 1) {
      store<i32>(us, d + 1);
      bump(dUsers, d, 1);
    }
    const cs = at(catStamp, cat);
    if (load<i32>(cs) != orderSeq) {
      store<i32>(cs, orderSeq);
      bump(gOrders, g, 1);
    }
    const gc = gCents + (<usize>g << 3);
    store<i64>(gc, load<i64>(gc) + cents);
    bump(gItems, g, 1);
    bump(gReturned, g, flags & 1);
    const dc = dCents + (<usize>d << 3);
    store<i64>(dc, load<i64>(dc) + cents);
    bump(dItems, d, 1);
  }
}

export function groupCount(): i32 { return gCount; }
export function dayCount(): i32 { return dCount; }
