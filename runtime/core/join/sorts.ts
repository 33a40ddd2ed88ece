// The two counting sorts that order joined items by (order day, order) in O(items + orders + days),
// so that the kernel sees each day's orders contiguously and counts distinct orders and customers
// with O(1) stamp checks. Pure, over typed arrays.

/**
 * Winning items grouped by their order: byOrder holds item versions, order o's items at
 * [perOrder[o], perOrder[o + 1]). n is the number of winning items.
 */
export function groupItemsByOrder(
  iWin: Int32Array,
  iOrder: Int32Array,
  nKeys: number,
  nOrders: number,
): { byOrder: Int32Array; perOrder: Int32Array; n: number } {
  const perOrder = new Int32Array(nOrders + 1);
  let n = 0;
  for (let k = 0; k < nKeys; k++) {
    const v = iWin[k];
    if (v < 0) continue;
    perOrder[iOrder[v] + 1]++;
    n++;
  }
  for (let o = 0; o < nOrders; o++) perOrder[o + 1] += perOrder[o];
  // perOrder[o] (the start of order o) is the cursor; it ends at the end of o, so shifting the
  // array right by one restores the starts without a second array.
  const byOrder = new Int32Array(n);
  for (let k = 0; k < nKeys; k++) {
    const v = iWin[k];
    if (v >= 0) byOrder[perOrder[iOrder[v]]++] = v;
  }
  for (let o = nOrders; o > 0; o--) perOrder[o] = perOrder[o - 1];
  perOrder[0] = 0;
  return { byOrder, perOrder, n };
}

/** The first day and the number of days (span) of the orders that have items. */
function dayRange(
  perOrder: Int32Array,
  oDay: Int32Array,
  oWin: Int32Array,
  nOrders: number,
  n: number,
): { minDay: number; span: number } {
  let minDay = Infinity;
  let maxDay = -Infinity;
  for (let o = 0; o < nOrders; o++) {
    if (perOrder[o + 1] === perOrder[o]) continue;
    const d = oDay[oWin[o]];
    if (d < minDay) minDay = d;
    if (d > maxDay) maxDay = d;
  }
  return { minDay, span: n ? maxDay - minDay + 1 : 0 };
}

/** Orders that have items, counting-sorted by their day; days is the number of distinct days. */
export function sortOrdersByDay(
  perOrder: Int32Array,
  oDay: Int32Array,
  oWin: Int32Array,
  nOrders: number,
  n: number,
): { ordersByDay: Int32Array; days: number } {
  const { minDay, span } = dayRange(perOrder, oDay, oWin, nOrders, n);
  const perDay = new Int32Array(span + 1);
  for (let o = 0; o < nOrders; o++) {
    if (perOrder[o + 1] !== perOrder[o]) perDay[oDay[oWin[o]] - minDay + 1]++;
  }
  let days = 0;
  for (let d = 0; d < span; d++) {
    if (perDay[d + 1] > 0) days++;
    perDay[d + 1] += perDay[d];
  }
  const ordersByDay = new Int32Array(perDay[span] ?? 0);
  for (let o = 0; o < nOrders; o++) {
    if (perOrder[o + 1] !== perOrder[o]) ordersByDay[perDay[oDay[oWin[o]] - minDay]++] = o;
  }
  return { ordersByDay, days };
}

/**
 * Where each order's items start in the (day, order) ordering of all n items (orders of a day by
 * id), computed from counts alone; days is the number of distinct days. Orders without items get -1.
 */
export function orderPositions(
  perOrder: Int32Array,
  oDay: Int32Array,
  oWin: Int32Array,
  nOrders: number,
  n: number,
): { dest: Int32Array; days: number } {
  const { minDay, span } = dayRange(perOrder, oDay, oWin, nOrders, n);
  const cursor = new Float64Array(span + 1);
  for (let o = 0; o < nOrders; o++) {
    const c = perOrder[o + 1] - perOrder[o];
    if (c) cursor[oDay[oWin[o]] - minDay + 1] += c;
  }
  let days = 0;
  for (let d = 0; d < span; d++) {
    if (cursor[d + 1] > 0) days++;
    cursor[d + 1] += cursor[d];
  }
  const dest = new Int32Array(nOrders).fill(-1);
  for (let o = 0; o < nOrders; o++) {
    const c = perOrder[o + 1] - perOrder[o];
    if (!c) continue;
    const d = oDay[oWin[o]] - minDay;
    dest[o] = cursor[d];
    cursor[d] += c;
  }
  return { dest, days };
}
