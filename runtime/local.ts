// The embedded stack: an S3-compatible server (s3rver) and a DynamoDB-compatible one (dynalite)
// behind ONE endpoint on 127.0.0.1 — requests carrying X-Amz-Target are DynamoDB's JSON API, the
// rest is S3 — so AWS_ENDPOINT_URL alone points the SDK and the AWS CLI at both, as with LocalStack.
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { makeClients, type Clients } from './aws';
import { KpiStore } from './kpistore';
import { CATEGORY_TABLE, ORDER_TABLE } from './names';

export interface LocalOptions {
  dir: string;
  port?: number;
  host?: string;
  bucket?: string;
  categoryTable?: string;
  orderTable?: string;
  region?: string;
}

export interface LocalStack {
  endpoint: string;
  port: number;
  bucket: string;
  categoryTable: string;
  orderTable: string;
  region: string;
  clients: Clients;
  env: Record<string, string>;
  onObjectCreated(listener: (key: string) => void): void;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function loadOptional<T>(name: string): T {
  try {
    return require(name) as T;
  } catch {
    throw new Error(`the local stack needs the dev dependency '${name}': run 'npm ci' in the project (it is left out of production installs)`);
  }
}

export async function startLocal(opts: LocalOptions): Promise<LocalStack> {
  const bucket = opts.bucket ?? 'kpi-local';
  const categoryTable = opts.categoryTable ?? CATEGORY_TABLE.defaultName;
  const orderTable = opts.orderTable ?? ORDER_TABLE.defaultName;
  const region = opts.region ?? 'us-east-1';
  const host = opts.host ?? '127.0.0.1';
  mkdirSync(path.join(opts.dir, 's3'), { recursive: true });
  mkdirSync(path.join(opts.dir, 'dynamodb'), { recursive: true });

  const S3rver = loadOptional<new (o: object) => { configureBuckets(): Promise<void>; callback(): Handler; on(e: string, l: (ev: unknown) => void): void }>('s3rver');
  const dynalite = loadOptional<(o: object) => http.Server>('dynalite');
  const s3 = new S3rver({ directory: path.join(opts.dir, 's3'), silent: true, configureBuckets: [{ name: bucket }], allowMismatchedSignatures: true, vhostBuckets: false });
  await s3.configureBuckets();
  const s3Handler = s3.callback();
  // dynalite closes its LevelDB store only through its own server's close(): let it listen privately.
  const dyn = dynalite({ path: path.join(opts.dir, 'dynamodb'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => dyn.listen(0, '127.0.0.1', () => r()));
  const dynHandler = dyn.listeners('request')[0] as Handler;

  const server = http.createServer((req, res) => (req.headers['x-amz-target'] ? dynHandler(req, res) : s3Handler(req, res)));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${opts.port} is in use: pick another with --port, or stop the other process`) : err),
    );
    server.listen(opts.port ?? 4566, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://${host}:${port}`;
  const clients = makeClients({ region, endpoint }, { s3: endpoint, dynamodb: endpoint, local: true });
  await KpiStore.ensureTables(clients.raw, categoryTable, orderTable);

  const listeners: ((key: string) => void)[] = [];
  s3.on('event', (ev) => {
    for (const rec of (ev as { Records?: { eventName: string; s3: { bucket: { name: string }; object: { key: string } } }[] }).Records ?? []) {
      if (!rec.eventName.startsWith('ObjectCreated') || rec.s3.bucket.name !== bucket) continue;
      // s3rver puts the raw key in its events (AWS URL-encodes it; EventBridge events do not).
      for (const l of listeners) l(rec.s3.object.key);
    }
  });

  return {
    endpoint,
    port,
    bucket,
    categoryTable,
    orderTable,
    region,
    clients,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      KPI_BUCKET: bucket,
      KPI_CATEGORY_TABLE: categoryTable,
      KPI_ORDER_TABLE: orderTable,
    },
    onObjectCreated: (l) => void listeners.push(l),
    close: async () => {
      clients.s3.destroy();
      clients.raw.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => dyn.close(() => r()));
    },
  };
}
