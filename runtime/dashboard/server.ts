// kpi dashboard: an HTTP server on 127.0.0.1 with the page, its assets and its data as JSON, read
// server-side with the SDK (the browser never holds AWS credentials).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { KpiStore } from '../aws/kpistore';
import type { Bucket } from '../aws/s3store';
import { QUALITY_KEY } from '../core/names';
import type { Quality } from '../core/aggregate/quality';
import { dashboardData, type DashboardData } from './data';
import { assets, servedPage } from './page';

export interface DashboardSource {
  store: KpiStore;
  /** where state/quality.json is read from; without it the quality panel says so */
  bucket?: Bucket;
}

/** Both tables and the quality summary, as the page wants them. */
export async function loadDashboard(src: DashboardSource, known?: Quality | null): Promise<DashboardData> {
  const [kpis, quality] = await Promise.all([
    src.store.readAll(),
    known !== undefined ? known : readQuality(src.bucket),
  ]);
  return dashboardData(
    kpis,
    { category_table: src.store.categoryTable, order_table: src.store.orderTable, bucket: src.bucket?.name },
    quality,
  );
}

async function readQuality(bucket: Bucket | undefined): Promise<Quality | null> {
  if (!bucket) return null;
  const text = await bucket.readText(QUALITY_KEY);
  return text ? (JSON.parse(text) as Quality) : null;
}

export interface DashboardServer {
  url: string;
  close(): Promise<void>;
}

/** A 200 answer, gzip-compressed when the client takes it and the body is worth it. */
function send(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  type: string,
  body: string,
  extra: Record<string, string> = {},
) {
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && body.length > 1024;
  res.writeHead(200, {
    'content-type': type,
    'cache-control': 'no-cache',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    ...extra,
  });
  res.end(gzip ? gzipSync(body) : body);
}

/** Listens, with a clear error for a busy port. */
function listen(server: http.Server, port: number | undefined, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`dashboard port ${port} is in use: pick another with --dashboard-port (or --port)`)
          : err,
      ),
    );
    server.listen(port ?? 0, host, () => resolve());
  });
}

export async function startDashboard(
  src: DashboardSource,
  opts: { port?: number; host?: string; refreshMs?: number } = {},
): Promise<DashboardServer> {
  const host = opts.host ?? '127.0.0.1';
  const files = assets();
  const page = servedPage(opts.refreshMs ?? 5000);
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (err as Error).message }));
    });
  });
  // The tables are scanned again only when the transform has run since (state/quality.json's
  // updated_at changed), or, without a bucket to tell, once per refresh interval: a page polling
  // every few seconds costs one small GET, not two table scans.
  const refreshMs = opts.refreshMs ?? 5000;
  let cache: { stamp: string; at: number; body: string; etag: string } | null = null;
  async function current(): Promise<{ body: string; etag: string }> {
    const quality = await readQuality(src.bucket);
    const stamp = quality?.updated_at ?? '';
    if (cache && cache.stamp === stamp && (stamp !== '' || Date.now() - cache.at < refreshMs)) return cache;
    const data = await loadDashboard(src, quality);
    // The ETag covers the figures, not the read time: an unchanged pipeline answers 304.
    const etag = `"${createHash('sha1')
      .update(JSON.stringify({ ...data, generated_at: '' }))
      .digest('hex')}"`;
    cache = { stamp, at: Date.now(), body: JSON.stringify(data), etag };
    return cache;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/':
        return send(req, res, 'text/html; charset=utf-8', page);
      case '/assets/uplot.js':
        return send(req, res, 'text/javascript; charset=utf-8', files.uplotJs);
      case '/assets/uplot.css':
        return send(req, res, 'text/css; charset=utf-8', files.uplotCss);
      case '/assets/client.js':
        return send(req, res, 'text/javascript; charset=utf-8', files.clientJs);
      case '/api/dashboard': {
        const { body, etag } = await current();
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, { etag }).end();
          return;
        }
        return send(req, res, 'application/json', body, { etag });
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }
  await listen(server, opts.port, host);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}
