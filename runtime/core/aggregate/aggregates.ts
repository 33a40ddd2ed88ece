// The aggregation result both engines (WASM kernel and TypeScript reference) produce.

export interface GroupAgg {
  cat: number;
  day: number;
  cents: number;
  items: number;
  returnedItems: number;
  orders: number;
}

export interface DayAgg {
  day: number;
  cents: number;
  items: number;
  orders: number;
  users: number;
  returnedOrders: number;
}

export interface Aggregates {
  groups: GroupAgg[];
  days: DayAgg[];
}

/** Canonical order so two engines' results compare with deepEqual. */
export function sortAggregates(a: Aggregates): Aggregates {
  return {
    groups: [...a.groups].sort((x, y) => x.cat - y.cat || x.day - y.day),
    days: [...a.days].sort((x, y) => x.day - y.day),
  };
}
