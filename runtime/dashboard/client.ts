// The dashboard page's script (a browser script, compiled by tsconfig.client.json): headline
// figures, charts (uPlot) and the data-quality panel, with a date range and a category filter.
// Money stays in integer cents until it is printed.

interface CategorySeries {
  name: string;
  revenue_cents: number[];
  orders: number[];
  items: number[];
  returned_items: number[];
  total_revenue_cents: number;
}
interface Quality {
  updated_at: string;
  files: number;
  rows: number;
  accepted: number;
  rejected_by_reason: Record<string, number>;
  held: number;
  joined_items: number;
}
interface DashboardData {
  generated_at: string;
  source: { category_table: string; order_table: string; bucket?: string };
  days: string[];
  daily: { revenue_cents: number[]; orders: number[]; items: number[]; customers: number[]; returned_orders: number[] };
  categories: CategorySeries[];
  quality: Quality | null;
}
interface UPlot {
  setData(data: number[][]): void;
  setSize(size: { width: number; height: number }): void;
  destroy(): void;
}
declare const uPlot: new (opts: object, data: number[][], target: HTMLElement) => UPlot;

interface KpiWindow extends Window {
  __KPI_DATA__?: DashboardData;
  __KPI_REFRESH_MS__?: number;
}
const win = window as KpiWindow;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const PALETTE = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

/** 123456789 cents → "1,234,567.89": exact, never abbreviated. */
function money(cents: number): string {
  const neg = cents < 0;
  const c = Math.abs(cents);
  const whole = Math.floor(c / 100).toLocaleString('en-US');
  return `${neg ? '-' : ''}${whole}.${String(c % 100).padStart(2, '0')}`;
}
const count = (n: number) => n.toLocaleString('en-US');
const percent = (num: number, den: number) => (den ? `${((num / den) * 100).toFixed(2)}%` : '–');
const dayMs = (d: string) => Date.parse(`${d}T00:00:00Z`) / 1000;

let data: DashboardData | null = null;
const charts = new Map<string, UPlot>();

/** Indices of the days inside the selected range. */
function selectedDays(d: DashboardData): number[] {
  const from = $<HTMLInputElement>('from').value || d.days[0] || '';
  const to = $<HTMLInputElement>('to').value || d.days[d.days.length - 1] || '';
  const out: number[] = [];
  d.days.forEach((day, i) => {
    if (day >= from && day <= to) out.push(i);
  });
  return out;
}

/** The figures of the whole shop, or of one category (whose return rate is per item: items carry the category). */
function series(d: DashboardData, category: string) {
  const c = d.categories.find((x) => x.name === category);
  if (!c)
    return {
      revenue: d.daily.revenue_cents,
      orders: d.daily.orders,
      items: d.daily.items,
      returned: d.daily.returned_orders,
      per: d.daily.orders,
      rateLabel: 'Return rate (orders)',
    };
  return {
    revenue: c.revenue_cents,
    orders: c.orders,
    items: c.items,
    returned: c.returned_items,
    per: c.items,
    rateLabel: 'Return rate (items)',
  };
}

function setText(id: string, text: string): void {
  $(id).textContent = text;
}

function chart(
  id: string,
  title: string,
  x: number[],
  ys: { label: string; values: number[]; color: string }[],
  fmt: (v: number) => string,
): void {
  const el = $(id);
  const width = Math.max(300, el.clientWidth);
  const plotData = [x, ...ys.map((y) => y.values)];
  const old = charts.get(id);
  if (old) old.destroy();
  $(id.replace('c-', 't-')).textContent = title;
  const opts = {
    width,
    height: 220,
    scales: { x: { time: true } },
    series: [
      {},
      ...ys.map((y) => ({
        label: y.label,
        stroke: y.color,
        width: 2,
        value: (_u: unknown, v: number | null) => (v == null ? '–' : fmt(v)),
      })),
    ],
    axes: [{}, { values: (_u: unknown, vals: number[]) => vals.map(fmt), size: 70 }],
  };
  charts.set(id, new uPlot(opts, plotData, el));
  // What was drawn, for people reading the page source and for the browser test.
  el.dataset.points = String(x.length);
  el.dataset.series = String(ys.length);
}

function render(): void {
  const d = data;
  if (!d) return;
  const category = $<HTMLSelectElement>('category').value;
  const idx = selectedDays(d);
  const s = series(d, category);
  const pick = (a: number[]) => idx.map((i) => a[i] ?? 0);
  const sum = (a: number[]) => idx.reduce((n, i) => n + (a[i] ?? 0), 0);
  const filtered = idx.length !== d.days.length || category !== '';
  setText(
    'scope',
    `${filtered ? 'Selected' : 'All time'}${category ? ` · ${category}` : ''} · ${idx.length} day${idx.length === 1 ? '' : 's'}`,
  );
  setText('h-revenue', money(sum(s.revenue)));
  setText('h-orders', count(sum(s.orders)));
  setText('h-items', count(sum(s.items)));
  setText('h-return-rate', percent(sum(s.returned), sum(s.per)));
  setText('h-return-label', s.rateLabel);
  const last = idx.length ? (idx[idx.length - 1] as number) : -1;
  setText('l-date', last >= 0 ? (d.days[last] as string) : '–');
  setText('l-revenue', last >= 0 ? money(s.revenue[last] ?? 0) : '–');
  setText('l-orders', last >= 0 ? count(s.orders[last] ?? 0) : '–');
  setText('l-return-rate', last >= 0 ? percent(s.returned[last] ?? 0, s.per[last] ?? 0) : '–');

  const x = idx.map((i) => dayMs(d.days[i] as string));
  chart(
    'c-revenue',
    `Daily revenue${category ? ` · ${category}` : ''}`,
    x,
    [{ label: 'Revenue', values: pick(s.revenue).map((c) => c / 100), color: PALETTE[0] as string }],
    (v) => v.toLocaleString('en-US', { maximumFractionDigits: 2 }),
  );
  chart(
    'c-orders',
    `Daily orders${category ? ` · ${category}` : ''}`,
    x,
    [{ label: 'Orders', values: pick(s.orders), color: PALETTE[1] as string }],
    (v) => count(Math.round(v)),
  );
  chart(
    'c-return',
    `${s.rateLabel}${category ? ` · ${category}` : ''}`,
    x,
    [
      {
        label: 'Return rate %',
        values: idx.map((i) => ((s.per[i] ?? 0) ? ((s.returned[i] ?? 0) / (s.per[i] ?? 1)) * 100 : 0)),
        color: PALETTE[2] as string,
      },
    ],
    (v) => `${v.toFixed(1)}%`,
  );

  // Revenue by category over the range: the top ones as bars (exact amounts and shares) and lines.
  const totals = d.categories
    .map((c) => ({ name: c.name, cents: sum(c.revenue_cents), c }))
    .sort((a, b) => b.cents - a.cents);
  const all = totals.reduce((n, t) => n + t.cents, 0);
  const top = totals.slice(0, 8);
  renderBars(top, all, category);
  chart(
    'c-categories',
    'Daily revenue of the top categories',
    x,
    top.slice(0, 5).map((t, i) => ({
      label: t.name,
      values: pick(t.c.revenue_cents).map((c) => c / 100),
      color: PALETTE[i] as string,
    })),
    (v) => v.toLocaleString('en-US', { maximumFractionDigits: 0 }),
  );
  renderQuality(d);
}

/** The top categories as bars, exact amounts and shares; a click filters by (or clears) the category. */
function renderBars(top: { name: string; cents: number }[], all: number, category: string): void {
  const bars = $('category-bars');
  bars.replaceChildren(
    ...top.map((t, i) => {
      const row = document.createElement('div');
      row.className = 'bar-row' + (t.name === category ? ' selected' : '');
      const label = document.createElement('span');
      label.className = 'bar-label';
      label.textContent = t.name;
      const track = document.createElement('span');
      track.className = 'bar-track';
      const fill = document.createElement('span');
      fill.className = 'bar-fill';
      fill.style.width = `${all ? (t.cents / (top[0]?.cents || 1)) * 100 : 0}%`;
      fill.style.background = PALETTE[i % PALETTE.length] as string;
      track.append(fill);
      const value = document.createElement('span');
      value.className = 'bar-value';
      value.textContent = `${money(t.cents)} · ${percent(t.cents, all)}`;
      row.append(label, track, value);
      row.onclick = () => {
        $<HTMLSelectElement>('category').value = t.name === category ? '' : t.name;
        render();
      };
      return row;
    }),
  );
  bars.dataset.bars = String(top.length);
}

function renderQuality(d: DashboardData): void {
  const q = d.quality;
  const box = $('quality');
  if (!q) {
    box.textContent = 'No data-quality summary recorded yet (the transform writes state/quality.json).';
    return;
  }
  const rejected = Object.entries(q.rejected_by_reason).sort((a, b) => b[1] - a[1]);
  const total = rejected.reduce((n, [, v]) => n + v, 0);
  const rows: [string, string][] = [
    ['Rows read', count(q.rows)],
    ['Accepted', `${count(q.accepted)} (${percent(q.accepted, q.rows)})`],
    ['Rejected', `${count(total)} (${percent(total, q.rows)})`],
    ...rejected.map(([reason, n]): [string, string] => [`  ${reason}`, count(n)]),
    ['Held (waiting for their order or product)', count(q.held)],
    ['Joined items counted', count(q.joined_items)],
    ['Archived files', count(q.files)],
    ['Last update', q.updated_at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')],
  ];
  const table = document.createElement('table');
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    const th = document.createElement('th');
    th.textContent = k;
    tr.append(th);
    tr.insertCell().textContent = v;
  }
  box.replaceChildren(table);
}

function setup(d: DashboardData): void {
  const first = data === null;
  data = d;
  setText(
    'source',
    `${d.source.category_table} · ${d.source.order_table}${d.source.bucket ? ` · s3://${d.source.bucket}` : ''} · read ${d.generated_at.replace('T', ' ').slice(0, 19)} UTC`,
  );
  const select = $<HTMLSelectElement>('category');
  const keep = select.value;
  select.replaceChildren(new Option('All categories', ''), ...d.categories.map((c) => new Option(c.name, c.name)));
  select.value = d.categories.some((c) => c.name === keep) ? keep : '';
  for (const id of ['from', 'to']) {
    const input = $<HTMLInputElement>(id);
    input.min = d.days[0] ?? '';
    input.max = d.days[d.days.length - 1] ?? '';
  }
  if (first) {
    for (const id of ['from', 'to', 'category']) $(id).addEventListener('change', render);
    $('reset').addEventListener('click', () => {
      $<HTMLInputElement>('from').value = '';
      $<HTMLInputElement>('to').value = '';
      $<HTMLSelectElement>('category').value = '';
      render();
    });
    let pending = 0;
    window.addEventListener('resize', () => {
      clearTimeout(pending);
      pending = window.setTimeout(render, 150);
    });
  }
  render();
}

/**
 * Served by kpi dashboard: fetch, then poll while the pipeline runs. The browser revalidates with
 * the ETag (cache: no-cache), so an unchanged answer is a 304 served from its cache; the page
 * redraws only when the ETag changed.
 */
async function poll(etag: string | null): Promise<void> {
  try {
    const r = await fetch('api/dashboard', { cache: 'no-cache' });
    const now = r.headers.get('ETag');
    if (r.ok && (now === null || now !== etag)) {
      setup((await r.json()) as DashboardData);
      etag = now;
    }
    setText('status', `auto-refresh every ${(win.__KPI_REFRESH_MS__ ?? 5000) / 1000} s`);
  } catch {
    setText('status', 'server unreachable: retrying');
  }
  window.setTimeout(() => void poll(etag), win.__KPI_REFRESH_MS__ ?? 5000);
}

if (win.__KPI_DATA__) {
  setText('status', 'report: a snapshot, no refresh');
  setup(win.__KPI_DATA__);
} else {
  void poll(null);
}
