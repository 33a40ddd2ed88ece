// Readable terminal tables for the KPI rows.
import type { CategoryKpi, OrderKpi } from '../core/aggregate/kpis';

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const widths = columns.map((c, i) => cells.reduce((w, row) => Math.max(w, row[i]?.length ?? 0), c.length));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (i === 0 || isNaN(Number(v)) ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  ')].concat(cells.map(line)).join('\n');
}

function formatCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  return String(v);
}

export const CATEGORY_COLUMNS: (keyof CategoryKpi)[] = [
  'category',
  'order_date',
  'daily_revenue',
  'avg_order_value',
  'return_rate',
  'revenue_per_order',
  'items',
  'orders',
  'returned_items',
];
export const ORDER_COLUMNS: (keyof OrderKpi)[] = [
  'order_date',
  'total_orders',
  'total_revenue',
  'total_items_sold',
  'unique_customers',
  'revenue_per_order',
  'return_rate',
];

/** Money columns print with two decimals, rates with four, so columns line up. */
export function pretty<T extends object>(rows: T[]): Record<string, unknown>[] {
  return rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === 'number' && k === 'return_rate') o[k] = v.toFixed(4);
      else if (typeof v === 'number' && /revenue|value/.test(k)) o[k] = v.toFixed(2);
      else o[k] = v;
    }
    return o;
  });
}
