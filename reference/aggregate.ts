// The plain TypeScript aggregation: the reference the WASM kernel is tested against.
// Deliberately naive (maps and sets, no ordering assumptions) so it checks the kernel by another route.
import type { Aggregates } from '../runtime/core/aggregate/aggregates';
import type { Joined } from '../runtime/core/join/join';

export function aggregateReference(
  j: Pick<Joined, 'n' | 'cat' | 'day' | 'order' | 'user' | 'cents' | 'flags'>,
): Aggregates {
  const groups = new Map<
    string,
    { cat: number; day: number; cents: number; items: number; returnedItems: number; orders: Set<number> }
  >();
  const days = new Map<
    number,
    { day: number; cents: number; items: number; orders: Set<number>; users: Set<number>; returnedOrders: Set<number> }
  >();
  for (let i = 0; i < j.n; i++) {
    const key = `${j.cat[i]}|${j.day[i]}`;
    let g = groups.get(key);
    if (!g)
      groups.set(key, (g = { cat: j.cat[i], day: j.day[i], cents: 0, items: 0, returnedItems: 0, orders: new Set() }));
    g.cents += j.cents[i];
    g.items++;
    g.returnedItems += j.flags[i] & 1;
    g.orders.add(j.order[i]);
    let d = days.get(j.day[i]);
    if (!d)
      days.set(
        j.day[i],
        (d = { day: j.day[i], cents: 0, items: 0, orders: new Set(), users: new Set(), returnedOrders: new Set() }),
      );
    d.cents += j.cents[i];
    d.items++;
    d.orders.add(j.order[i]);
    d.users.add(j.user[i]);
    if (j.flags[i] & 2) d.returnedOrders.add(j.order[i]);
  }
  return {
    groups: [...groups.values()].map((g) => ({
      cat: g.cat,
      day: g.day,
      cents: g.cents,
      items: g.items,
      returnedItems: g.returnedItems,
      orders: g.orders.size,
    })),
    days: [...days.values()].map((d) => ({
      day: d.day,
      cents: d.cents,
      items: d.items,
      orders: d.orders.size,
      users: d.users.size,
      returnedOrders: d.returnedOrders.size,
    })),
  };
}
