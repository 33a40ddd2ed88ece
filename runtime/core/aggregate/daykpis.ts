// One order day's KPI rows from its joined items (the curated zone's rows for that day), with the
// formulas of kpis.ts (categoryKpi, orderKpi: written once): what the incremental transform writes
// for each day it changes. Pure.
import type { JoinedRow } from '../join/join';
import { categoryKpi, orderKpi, type CategoryKpi, type OrderKpi } from './kpis';

export interface DayKpis {
  order: OrderKpi;
  categories: CategoryKpi[];
}

export function dayKpis(date: string, rows: JoinedRow[]): DayKpis {
  const cats = new Map<string, { cents: number; items: number; returned: number; orders: Set<string> }>();
  const orders = new Set<string>();
  const users = new Set<string>();
  const returnedOrders = new Set<string>();
  let cents = 0;
  for (const r of rows) {
    let c = cats.get(r.category);
    if (!c) cats.set(r.category, (c = { cents: 0, items: 0, returned: 0, orders: new Set() }));
    c.cents += r.sale_price_cents;
    c.items++;
    if (r.returned) c.returned++;
    c.orders.add(r.order_id);
    cents += r.sale_price_cents;
    orders.add(r.order_id);
    users.add(r.user_id);
    if (r.order_returned) returnedOrders.add(r.order_id);
  }
  const categories = [...cats.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([category, c]) => categoryKpi(category, date, { ...c, orders: c.orders.size }));
  const order = orderKpi(date, {
    cents,
    items: rows.length,
    orders: orders.size,
    users: users.size,
    returnedOrders: returnedOrders.size,
  });
  return { order, categories };
}
