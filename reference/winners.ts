// The winning versions of a Tables as plain objects with string keys, in the state index's key
// order: the oracle the bulk run's byte-level record writer (runtime/state/records.ts) is tested
// against. A string per field per record, so never on a production path.
import type { Tables } from '../runtime/core/join/join';
import type { Entity } from '../runtime/core/names';

const fileOf = (t: Tables, entity: Entity, v: number) => t.fileMarks[entity][t.fileIndexOf(entity, v)]!.file;

/** Every winning order version: key, file, day, customer, returned. */
export function* winningOrders(
  t: Tables,
): Generator<{ id: string; file: string; day: number; user: string; ret: boolean }> {
  const c = t.winnerColumns();
  for (const k of t.orderKeys.idsInKeyOrder((k) => c.oWin[k]! >= 0)) {
    const v = c.oWin[k]!;
    yield {
      id: t.orderKeys.str(k),
      file: fileOf(t, 'orders', v),
      day: c.oDay[v]!,
      user: t.users.str(c.oUser[v]!),
      ret: c.oRet[v] === 1,
    };
  }
}

/** Every winning product version: key, file, category. */
export function* winningProducts(t: Tables): Generator<{ id: string; file: string; cat: string }> {
  const c = t.winnerColumns();
  for (const k of t.productKeys.idsInKeyOrder((k) => c.pWin[k]! >= 0)) {
    const v = c.pWin[k]!;
    yield { id: t.productKeys.str(k), file: fileOf(t, 'products', v), cat: t.categories.str(c.pCat[v]!) };
  }
}

/** Every winning (joinable) item version: key, file, order, product, cents, own status. */
export function* winningItems(t: Tables): Generator<{
  id: string;
  file: string;
  order: string;
  product: string;
  cents: number;
  status: number;
}> {
  const c = t.winnerColumns();
  for (const k of t.itemKeys.idsInKeyOrder((k) => c.iWin[k]! >= 0)) {
    const v = c.iWin[k]!;
    yield {
      id: t.itemKeys.str(k),
      file: fileOf(t, 'order_items', v),
      order: t.orderKeys.str(c.iOrder[v]!),
      product: t.productKeys.str(c.iProduct[v]!),
      cents: c.iCents[v]!,
      status: c.iStatus[v]!,
    };
  }
}
