// One order day's KPI rows from its joined items (the curated zone's rows for that day), with the
// formulas of kpis.ts: what the incremental transform writes for each day it changes. Pure.
import type { JoinedRow } from '../join/join';
import type { CategoryKpi, OrderKpi } from './kpis';
import { centsToNumber, divHalfUp, ratio } from './money';

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
    .map(([category, c]) => ({
      category,
      order_date: date,
      daily_revenue: centsToNumber(c.cents),
      avg_order_value: centsToNumber(divHalfUp(c.cents, c.items)),
      return_rate: ratio(c.returned, c.items),
      revenue_per_order: centsToNumber(divHalfUp(c.cents, c.orders.size)),
      items: c.items,
      orders: c.orders.size,
      returned_items: c.returned,
    }));
  const order: OrderKpi = {
    order_date: date,
    total_orders: orders.size,
    total_revenue: centsToNumber(cents),
    total_items_sold: rows.length,
    unique_customers: users.size,
    revenue_per_order: centsToNumber(divHalfUp(cents, orders.size)),
    return_rate: ratio(returnedOrders.size, orders.size),
    returned_orders: returnedOrders.size,
  };
  return { order, categories };
}
