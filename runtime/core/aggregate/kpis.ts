// Stage 5 — aggregates → the KPI rows of SPEC.md (names, formulas, half-up rounding).
import type { Aggregates } from './aggregates';
import type { Interner } from '../join/intern';
import { centsToNumber, divHalfUp, ratio } from './money';
import { civilFromDays } from '../parse/timestamp';

export interface CategoryKpi {
  category: string;
  order_date: string;
  daily_revenue: number;
  avg_order_value: number;
  return_rate: number;
  revenue_per_order: number;
  items: number;
  orders: number;
  returned_items: number;
}

export interface OrderKpi {
  order_date: string;
  total_orders: number;
  total_revenue: number;
  total_items_sold: number;
  unique_customers: number;
  revenue_per_order: number;
  return_rate: number;
  /** orders counted in total_orders whose own status is returned (added: return rates over any range stay exact) */
  returned_orders: number;
}

export interface KpiTables {
  category_kpis: CategoryKpi[];
  order_kpis: OrderKpi[];
}

/** The category table's order: category, then date. */
export const byCategoryThenDate = (x: CategoryKpi, y: CategoryKpi) =>
  x.category < y.category
    ? -1
    : x.category > y.category
      ? 1
      : x.order_date < y.order_date
        ? -1
        : x.order_date > y.order_date
          ? 1
          : 0;

export function toKpis(a: Aggregates, categories: Interner): KpiTables {
  const category_kpis = a.groups.map((g) => ({
    category: categories.str(g.cat),
    order_date: civilFromDays(g.day),
    daily_revenue: centsToNumber(g.cents),
    avg_order_value: centsToNumber(divHalfUp(g.cents, g.items)),
    return_rate: ratio(g.returnedItems, g.items),
    revenue_per_order: centsToNumber(divHalfUp(g.cents, g.orders)),
    items: g.items,
    orders: g.orders,
    returned_items: g.returnedItems,
  }));
  category_kpis.sort(byCategoryThenDate);
  const order_kpis = a.days.map((d) => ({
    order_date: civilFromDays(d.day),
    total_orders: d.orders,
    total_revenue: centsToNumber(d.cents),
    total_items_sold: d.items,
    unique_customers: d.users,
    revenue_per_order: centsToNumber(divHalfUp(d.cents, d.orders)),
    return_rate: ratio(d.returnedOrders, d.orders),
    returned_orders: d.returnedOrders,
  }));
  order_kpis.sort((x, y) => (x.order_date < y.order_date ? -1 : 1));
  return { category_kpis, order_kpis };
}
