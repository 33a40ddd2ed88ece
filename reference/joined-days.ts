// The joined items of each order day as row objects with text keys, in day order: the oracle the
// lake's column path (Tables.joinedDayColumns, lake.ts daysFromTables) is tested against. A string
// per field per row, so never on a production path.
import type { JoinedRow, Tables } from '../runtime/core/join/join';
import { ITEM_STATUS_NONE, ITEM_STATUS_RETURNED } from '../runtime/core/join/join';
import { groupItemsByOrder, sortOrdersByDay } from '../runtime/core/join/sorts';

export function* joinedDays(t: Tables): Generator<{ day: number; rows: JoinedRow[] }> {
  const c = t.winnerColumns();
  const nOrders = t.orderKeys.size;
  const { byOrder, perOrder, n } = groupItemsByOrder(c.iWin, c.iOrder, t.itemKeys.size, nOrders);
  const { ordersByDay } = sortOrdersByDay(perOrder, c.oDay, c.oWin, nOrders, n);
  const keyOf = t.itemKeyOfVersion();
  let day = NaN;
  let rows: JoinedRow[] = [];
  for (const o of ordersByDay) {
    const ov = c.oWin[o]!;
    const d = c.oDay[ov]!;
    if (d !== day) {
      if (rows.length) yield { day, rows };
      day = d;
      rows = [];
    }
    const orderReturned = c.oRet[ov] === 1;
    for (let j = perOrder[o]!; j < perOrder[o + 1]!; j++) {
      const v = byOrder[j]!;
      const p = c.iProduct[v]!;
      const st = c.iStatus[v];
      rows.push({
        item_id: t.itemKeys.str(keyOf[v]!),
        order_id: t.orderKeys.str(o),
        user_id: t.users.str(c.oUser[ov]!),
        product_id: t.productKeys.str(p),
        category: t.categories.str(c.pCat[c.pWin[p]!]!),
        sale_price_cents: c.iCents[v]!,
        returned: st === ITEM_STATUS_RETURNED || (st === ITEM_STATUS_NONE && orderReturned),
        order_returned: orderReturned,
      });
    }
  }
  if (rows.length) yield { day, rows };
}
