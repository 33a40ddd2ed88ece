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

/** What one (category, day) group counts: the inputs of its KPI row. */
export interface CategoryCounts {
  cents: number;
  items: number;
  returned: number;
  orders: number;
}

/** What one day counts. */
export interface DayCounts {
  cents: number;
  items: number;
  orders: number;
  users: number;
  returnedOrders: number;
}

/** The formulas of a category row (the contract's KPIs): the one place they are written. */
export function categoryKpi(category: string, date: string, c: CategoryCounts): CategoryKpi {
  return {
    category,
    order_date: date,
    daily_revenue: centsToNumber(c.cents),
    avg_order_value: centsToNumber(divHalfUp(c.cents, c.items)),
    return_rate: ratio(c.returned, c.items),
    revenue_per_order: centsToNumber(divHalfUp(c.cents, c.orders)),
    items: c.items,
    orders: c.orders,
    returned_items: c.returned,
  };
}

/** The formulas of an order-day row. */
export function orderKpi(date: string, d: DayCounts): OrderKpi {
  return {
    order_date: date,
    total_orders: d.orders,
    total_revenue: centsToNumber(d.cents),
    total_items_sold: d.items,
    unique_customers: d.users,
    revenue_per_order: centsToNumber(divHalfUp(d.cents, d.orders)),
    return_rate: ratio(d.returnedOrders, d.orders),
    returned_orders: d.returnedOrders,
  };
}

export function toKpis(a: Aggregates, categories: Interner): KpiTables {
  const category_kpis = a.groups.map((g) =>
    categoryKpi(categories.str(g.cat), civilFromDays(g.day), {
      cents: g.cents,
      items: g.items,
      returned: g.returnedItems,
      orders: g.orders,
    }),
  );
  category_kpis.sort(byCategoryThenDate);
  const order_kpis = a.days.map((d) => orderKpi(civilFromDays(d.day), d));
  order_kpis.sort((x, y) => (x.order_date < y.order_date ? -1 : 1));
  return { category_kpis, order_kpis };
}
