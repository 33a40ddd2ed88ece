// The dashboard's data: both KPI tables (and the data-quality summary) as day-aligned columns, in
// integer cents, so the page can filter by date and category and stay exact. Pure.
import type { KpiTables } from '../core/aggregate/kpis';
import type { Quality } from '../core/aggregate/quality';

export interface CategorySeries {
  name: string;
  /** per day of `days` (0 where the category sold nothing that day) */
  revenue_cents: number[];
  orders: number[];
  items: number[];
  returned_items: number[];
  total_revenue_cents: number;
}

export interface DashboardData {
  generated_at: string;
  source: { category_table: string; order_table: string; bucket?: string };
  /** every order date with joined items, ascending */
  days: string[];
  daily: { revenue_cents: number[]; orders: number[]; items: number[]; customers: number[]; returned_orders: number[] };
  /** by all-time revenue, largest first */
  categories: CategorySeries[];
  quality: Quality | null;
}

/** Table amounts are numbers with two decimals: exact integer cents back (they are below 2^53 / 100). */
export const toCents = (amount: number) => Math.round(amount * 100);

export function dashboardData(
  kpis: KpiTables,
  source: DashboardData['source'],
  quality: Quality | null,
  now = new Date(),
): DashboardData {
  const days = [
    ...new Set([...kpis.order_kpis.map((o) => o.order_date), ...kpis.category_kpis.map((c) => c.order_date)]),
  ].sort();
  const index = new Map(days.map((d, i) => [d, i]));
  const zeros = () => new Array<number>(days.length).fill(0);
  const daily = {
    revenue_cents: zeros(),
    orders: zeros(),
    items: zeros(),
    customers: zeros(),
    returned_orders: zeros(),
  };
  for (const o of kpis.order_kpis) {
    const i = index.get(o.order_date) as number;
    daily.revenue_cents[i] = toCents(o.total_revenue);
    daily.orders[i] = o.total_orders;
    daily.items[i] = o.total_items_sold;
    daily.customers[i] = o.unique_customers;
    // rows written before returned_orders existed: rebuilt from the 4-decimal rate (exact below 10,000 orders a day)
    daily.returned_orders[i] = o.returned_orders ?? Math.round(o.return_rate * o.total_orders);
  }
  const byName = new Map<string, CategorySeries>();
  for (const c of kpis.category_kpis) {
    let s = byName.get(c.category);
    if (!s)
      byName.set(
        c.category,
        (s = {
          name: c.category,
          revenue_cents: zeros(),
          orders: zeros(),
          items: zeros(),
          returned_items: zeros(),
          total_revenue_cents: 0,
        }),
      );
    const i = index.get(c.order_date) as number;
    const cents = toCents(c.daily_revenue);
    s.revenue_cents[i] = cents;
    s.orders[i] = c.orders;
    s.items[i] = c.items;
    s.returned_items[i] = c.returned_items;
    s.total_revenue_cents += cents;
  }
  const categories = [...byName.values()].sort(
    (a, b) => b.total_revenue_cents - a.total_revenue_cents || (a.name < b.name ? -1 : 1),
  );
  return { generated_at: now.toISOString(), source, days, daily, categories, quality };
}
