// kpi dashboard (serve the page) and kpi report (write it as one self-contained HTML file).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { intFlag, type Parsed } from './args';
import { makeClients } from '../aws/clients';
import { configFromEnv } from '../aws/config';
import { KpiStore } from '../aws/kpistore';
import { Bucket } from '../aws/s3store';
import { loadDashboard, startDashboard, type DashboardSource } from '../dashboard/server';
import { reportPage } from '../dashboard/page';
import { help } from './help';
import { UsageError } from './args';

/** The configured tables (and bucket, when KPI_BUCKET is set): the same environment as kpi query. */
function sourceFromEnv(): DashboardSource {
  const cfg = configFromEnv({}, { requireBucket: false });
  const clients = makeClients(cfg);
  return {
    store: new KpiStore(clients.ddb, cfg.categoryTable, cfg.orderTable),
    bucket: cfg.bucket ? new Bucket(clients.s3, cfg.bucket) : undefined,
  };
}

export async function dashboard(p: Parsed): Promise<number> {
  if (p.flags.help) return help('dashboard');
  const port = intFlag(p, 'port', 4567, 0, 65535);
  const refresh = intFlag(p, 'refresh-seconds', 5, 1, 3600);
  const server = await startDashboard(sourceFromEnv(), { port, refreshMs: refresh * 1000 });
  console.log(`KPI dashboard: ${server.url}   (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}

/** Writes the page with its data, uPlot and script inlined: it opens from disk with no network. */
export async function writeReport(src: DashboardSource, out: string): Promise<string> {
  const file = path.resolve(out);
  writeFileSync(file, reportPage(await loadDashboard(src)));
  return file;
}

export async function report(p: Parsed): Promise<number> {
  if (p.flags.help) return help('report');
  const out = p.flags.out;
  if (typeof out !== 'string' || !out) throw new UsageError('report needs --out FILE.html');
  const file = await writeReport(sourceFromEnv(), out);
  console.log(`wrote the KPI report to ${file}`);
  return 0;
}
