// The dashboard end to end: the sample through the embedded stack, the JSON endpoint on its own,
// the page in a real headless Chromium (Debian's, driven by playwright-core), and the report file
// opened from disk with every network request refused.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { computeDir } from '../../runtime/core/compute';
import { KpiStore } from '../../runtime/aws/kpistore';
import { Bucket } from '../../runtime/aws/s3store';
import { startDashboard, type DashboardSource } from '../../runtime/dashboard/server';
import { writeReport } from '../../runtime/cli/dashboard-commands';
import { planUpload, upload } from '../../runtime/cli/upload';
import type { DashboardData } from '../../runtime/dashboard/data';
import { ROOT } from '../helpers';
import { quietPipeline, stack, waitFor } from '../stack';

const DATA = path.join(ROOT, 'data');
const ARTIFACTS = path.join(ROOT, 'dist', 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** "1,234.5" style, computed here from integer cents independently of the page's code. */
function money(cents: number): string {
  return `${Math.floor(cents / 100).toLocaleString('en-US')}.${String(cents % 100).padStart(2, '0')}`;
}

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Console errors, page errors and failed requests of a page. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return problems;
}

test.serial(
  'the sample through the stack: /api/dashboard equals kpi compute; the page in Chromium draws it, filters it, and the report opens offline',
  async (t) => {
    const s = await stack();
    const browser = await launch();
    try {
      const { pipeline } = quietPipeline(s);
      await upload(pipeline.bucket, planUpload(DATA));
      await pipeline.process();
      const want = await computeDir(DATA);
      const src: DashboardSource = {
        store: new KpiStore(s.clients.ddb, s.categoryTable, s.orderTable),
        bucket: new Bucket(s.clients.s3, s.bucket),
      };
      const board = await startDashboard(src, { refreshMs: 1000 });
      try {
        // The JSON endpoint on its own.
        const r = await fetch(`${board.url}api/dashboard`);
        t.is(r.status, 200);
        const etag = r.headers.get('etag');
        const data = (await r.json()) as DashboardData;
        const totalCents = want.order_kpis.reduce((n, o) => n + Math.round(o.total_revenue * 100), 0);
        const orders = want.order_kpis.reduce((n, o) => n + o.total_orders, 0);
        const items = want.order_kpis.reduce((n, o) => n + o.total_items_sold, 0);
        const returned = want.order_kpis.reduce((n, o) => n + o.returned_orders, 0);
        t.deepEqual(
          data.days,
          want.order_kpis.map((o) => o.order_date),
        );
        t.is(
          data.daily.revenue_cents.reduce((a, b) => a + b, 0),
          totalCents,
        );
        t.is(
          data.daily.orders.reduce((a, b) => a + b, 0),
          orders,
        );
        t.is(data.categories.length, new Set(want.category_kpis.map((c) => c.category)).size);
        // The deployed pipeline holds items whose order or product is unknown (kpi compute rejects them at once).
        const { unknown_order = 0, unknown_product = 0, ...ruleRejects } = want.rejected;
        t.deepEqual(data.quality?.rejected_by_reason, Object.fromEntries(Object.entries(ruleRejects).sort()));
        t.is(data.quality?.held, unknown_order + unknown_product);
        t.is((await fetch(`${board.url}api/dashboard`, { headers: { 'If-None-Match': etag ?? '' } })).status, 304);
        t.is((await fetch(`${board.url}nope`)).status, 404);
        t.is((await fetch(`${board.url}api/dashboard`, { method: 'POST' })).status, 405);

        // The page in a real browser.
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        const problems = watch(page);
        await page.goto(board.url);
        await page.waitForSelector('#c-revenue canvas');
        const points = async (id: string) => Number(await page.getAttribute(id, 'data-points'));
        for (const id of ['#c-revenue', '#c-orders', '#c-return', '#c-categories'])
          t.is(await points(id), want.order_kpis.length, id);
        t.is(await page.textContent('#h-revenue'), money(totalCents));
        t.is(await page.textContent('#h-orders'), orders.toLocaleString('en-US'));
        t.is(await page.textContent('#h-items'), items.toLocaleString('en-US'));
        t.is(await page.textContent('#h-return-rate'), `${((returned / orders) * 100).toFixed(2)}%`);
        const last = want.order_kpis.at(-1)!;
        t.is(await page.textContent('#l-date'), last.order_date);
        t.is(await page.textContent('#l-revenue'), money(Math.round(last.total_revenue * 100)));
        t.is(Number(await page.getAttribute('#category-bars', 'data-bars')), Math.min(8, data.categories.length));
        t.regex((await page.textContent('#quality')) ?? '', /Rejected/);
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

        // A date filter changes what is drawn: ten days, and their totals.
        const ten = want.order_kpis.slice(5, 15);
        await page.fill('#from', ten[0]!.order_date);
        await page.fill('#to', ten.at(-1)!.order_date);
        await page.dispatchEvent('#to', 'change');
        await waitFor(async () => (await points('#c-revenue')) === 10);
        t.is(
          await page.textContent('#h-revenue'),
          money(ten.reduce((n, o) => n + Math.round(o.total_revenue * 100), 0)),
        );
        // A category filter: that category's revenue over the same ten days, from the category table.
        const category = data.categories[1]!.name;
        await page.selectOption('#category', category);
        const catCents = want.category_kpis
          .filter(
            (c) =>
              c.category === category && c.order_date >= ten[0]!.order_date && c.order_date <= ten.at(-1)!.order_date,
          )
          .reduce((n, c) => n + Math.round(c.daily_revenue * 100), 0);
        await waitFor(async () => (await page.textContent('#h-revenue')) === money(catCents));
        t.regex((await page.textContent('#t-revenue')) ?? '', new RegExp(category));
        await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-filtered.png'), fullPage: true });

        // Auto-refresh: a new day's file reaches the page without a reload.
        await page.click('#reset');
        await pipeline.bucket.put(
          'ecommerce-data/orders/late.csv',
          'order_id,user_id,status,created_at\nlate1,u1,Complete,2031-01-01T10:00:00Z\n',
        );
        await pipeline.bucket.put(
          'ecommerce-data/order_items/late.csv',
          `id,order_id,product_id,sale_price\nlateitem,late1,${await firstProductId()},12.34\n`,
        );
        await pipeline.process();
        await waitFor(async () => (await page.textContent('#l-date')) === '2031-01-01', 10000);
        t.is(await page.textContent('#l-revenue'), '12.34');
        t.deepEqual(problems, []);
        await page.close();
      } finally {
        await board.close();
      }

      // The report: one file, opened from disk with every network request refused.
      const file = await writeReport(src, path.join(mkdtempSync(path.join(os.tmpdir(), 'kpi-report-')), 'report.html'));
      const page = await browser.newPage();
      const problems = watch(page);
      const requested: string[] = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:')) return route.continue();
        requested.push(url);
        return route.abort();
      });
      await page.goto(`file://${file}`);
      await page.waitForSelector('#c-revenue canvas');
      t.deepEqual(requested, []);
      t.deepEqual(problems, []);
      t.is(await points(page, '#c-revenue'), want.order_kpis.length + 1); // with the late day
      t.regex((await page.textContent('#status')) ?? '', /report/);
      await page.close();
    } finally {
      await browser.close();
      await s.close();
    }

    async function firstProductId(): Promise<string> {
      const { readFileSync, readdirSync } = await import('node:fs');
      const dir = path.join(DATA, 'products');
      const text = readFileSync(path.join(dir, readdirSync(dir).sort()[0]!), 'utf8');
      const header = text.split('\n')[0]!.split(',');
      const rows = text.split('\n').slice(1);
      // a product whose row is valid: the first one with an id and a category
      for (const row of rows) {
        const f = row.split(',');
        const id = f[header.indexOf('id')];
        if (id && f[header.indexOf('category')]) return id;
      }
      throw new Error('no product');
    }
  },
);

async function points(page: Page, id: string): Promise<number> {
  return Number(await page.getAttribute(id, 'data-points'));
}

test.serial('kpi local serves the dashboard and prints its URL on a line that says "dashboard"', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-local-dash-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'kpi.js'), 'local', '--dir', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  try {
    await waitFor(() => /dashboard: http:\/\/127\.0\.0\.1:\d+\//i.test(out), 20000);
    const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/i.exec(out)![1]!;
    const page = await fetch(url);
    t.is(page.status, 200);
    t.regex(await page.text(), /E-commerce KPIs/);
    const api = await fetch(`${url}api/dashboard`);
    t.is(api.status, 200);
    t.deepEqual(((await api.json()) as DashboardData).days, []); // a fresh stack: nothing yet
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
});
