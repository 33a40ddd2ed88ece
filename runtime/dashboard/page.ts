// The dashboard page: one HTML document. Served, it loads its script and uPlot from the server and
// its data from /api/dashboard; as a report (kpi report, npm start), all of it is inlined, so the
// file opens from disk with no network at all.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DashboardData } from './data';

/** The browser assets: uPlot (from the npm package, no CDN) and the page's compiled script. */
export function assets(): { uplotJs: string; uplotCss: string; clientJs: string } {
  const uplot = path.dirname(require.resolve('uplot/package.json'));
  return {
    uplotJs: readFileSync(path.join(uplot, 'dist', 'uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(path.join(uplot, 'dist', 'uPlot.min.css'), 'utf8'),
    clientJs: readFileSync(path.join(__dirname, 'client.js'), 'utf8'),
  };
}

/** JSON inside <script>: no "</script>" or "<!--" can end it early. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');
const scriptText = (s: string) => s.replace(/<\/script/gi, '<\\/script');

const STYLE = `
  :root { --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --card:#f9fafb; --accent:#2563eb; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
  header { padding: 16px 24px 8px; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; }
  h1 { font-size: 20px; margin: 0; }
  #source, #status { color: var(--muted); font-size: 12px; }
  .filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 12px 24px; border-bottom: 1px solid var(--line); }
  .filters label { color: var(--muted); font-size: 12px; display: flex; gap: 6px; align-items: center; }
  input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
  button { cursor: pointer; }
  main { padding: 16px 24px 32px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); }
  .cards { grid-column: 1 / -1; display: grid; gap: 12px; grid-template-columns: repeat(4, minmax(0, 1fr)); }
  @media (max-width: 900px) { .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); } main { grid-template-columns: 1fr; } }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; }
  .card .k { color: var(--muted); font-size: 12px; }
  .card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .card.latest { background: #eff6ff; }
  #scope { grid-column: 1 / -1; color: var(--muted); margin-bottom: -8px; }
  section { border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; min-width: 0; }
  section h2 { font-size: 14px; margin: 0 0 8px; }
  section h2 small { color: var(--muted); font-weight: 400; }
  #t-categories { margin-top: 12px; }
  .chart { min-height: 250px; }
  .bar-row { display: grid; grid-template-columns: 140px 1fr 210px; gap: 8px; align-items: center; padding: 3px 0; cursor: pointer; }
  .bar-row.selected .bar-label { font-weight: 700; }
  .bar-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .bar-track { background: #f3f4f6; border-radius: 4px; height: 12px; }
  .bar-fill { display: block; height: 12px; border-radius: 4px; }
  .bar-value { text-align: right; font-variant-numeric: tabular-nums; font-size: 12px; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); white-space: pre; }
  td { text-align: right; }
`;

const BODY = `
<header><h1>E-commerce KPIs</h1><span id="source"></span><span id="status"></span></header>
<div class="filters">
  <label>From <input type="date" id="from"></label>
  <label>To <input type="date" id="to"></label>
  <label>Category <select id="category"><option value="">All categories</option></select></label>
  <button id="reset" type="button">Reset</button>
</div>
<main>
  <div id="scope"></div>
  <div class="cards">
    <div class="card"><div class="k">Revenue</div><div class="v" id="h-revenue">–</div></div>
    <div class="card"><div class="k">Orders</div><div class="v" id="h-orders">–</div></div>
    <div class="card"><div class="k">Items sold</div><div class="v" id="h-items">–</div></div>
    <div class="card"><div class="k" id="h-return-label">Return rate (orders)</div><div class="v" id="h-return-rate">–</div></div>
    <div class="card latest"><div class="k">Latest day</div><div class="v" id="l-date">–</div></div>
    <div class="card latest"><div class="k">Latest day revenue</div><div class="v" id="l-revenue">–</div></div>
    <div class="card latest"><div class="k">Latest day orders</div><div class="v" id="l-orders">–</div></div>
    <div class="card latest"><div class="k">Latest day return rate</div><div class="v" id="l-return-rate">–</div></div>
  </div>
  <section><h2 id="t-revenue">Daily revenue</h2><div class="chart" id="c-revenue"></div></section>
  <section><h2 id="t-orders">Daily orders</h2><div class="chart" id="c-orders"></div></section>
  <section><h2 id="t-return">Return rate</h2><div class="chart" id="c-return"></div></section>
  <section><h2>Revenue by category <small>(click one to filter)</small></h2><div id="category-bars"></div><h2 id="t-categories">Daily revenue of the top categories</h2><div class="chart" id="c-categories"></div></section>
  <section><h2>Data quality</h2><div id="quality"></div></section>
</main>`;

/** Served by kpi dashboard: assets and data come from the server (auto-refresh). */
export function servedPage(refreshMs: number): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>E-commerce KPIs</title><link rel="icon" href="data:,"><link rel="stylesheet" href="assets/uplot.css"><style>${STYLE}</style></head>
<body>${BODY}
<script>window.__KPI_REFRESH_MS__ = ${refreshMs};</script>
<script src="assets/uplot.js"></script><script src="assets/client.js"></script></body></html>`;
}

/** Self-contained: data, uPlot and the script inlined (kpi report, npm start). */
export function reportPage(data: DashboardData): string {
  const a = assets();
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>E-commerce KPIs — report ${data.generated_at.slice(0, 10)}</title><link rel="icon" href="data:,"><style>${a.uplotCss}</style><style>${STYLE}</style></head>
<body>${BODY}
<script>window.__KPI_DATA__ = ${scriptJson(data)};</script>
<script>${scriptText(a.uplotJs)}</script><script>${scriptText(a.clientJs)}</script></body></html>`;
}
