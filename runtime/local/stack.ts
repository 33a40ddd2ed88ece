// The embedded stack: an S3-compatible server (s3rver) and a DynamoDB-compatible one (dynalite)
// behind ONE endpoint on 127.0.0.1 — requests carrying X-Amz-Target are DynamoDB's JSON API, the
// rest is S3 — so AWS_ENDPOINT_URL alone points the SDK and the AWS CLI at both, as with LocalStack.
import http from 'node:http';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { makeClients, type Clients } from '../aws/clients';
import { configFromEnv, type Config } from '../aws/config';
import { KpiStore } from '../aws/kpistore';
import { StateStore } from '../aws/statestore';
import { CATEGORY_TABLE, ORDER_TABLE, STATE_TABLE } from '../core/names';
import { hardenStore, MAX_LOCAL_SEGMENT_BYTES, tooLongSegment } from './store';

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

/** A start-up failure with one clear line for the user (the CLI prints it and exits 1). */
export class LocalStartError extends Error {}

/** Only one stack may own a state folder: dynalite's LevelDB allows one process. */
function lockDir(dir: string): () => void {
  const file = path.join(dir, 'kpi-local.pid');
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const owner = Number(readFileSync(file, 'utf8'));
    if (owner && owner !== process.pid && isAlive(owner)) {
      throw new LocalStartError(`the state folder ${dir} is in use by another kpi local (PID ${owner}): stop it, or pick another folder with --dir`);
    }
    writeFileSync(file, String(process.pid)); // left by a process that died: take it over
  }
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** S3's error document, for requests the local store refuses before s3rver sees them. */
function s3Error(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message.replace(/[<&>]/g, '')}</Message></Error>`);
}

/**
 * s3rver's router drops requests whose key has an empty segment ("a//b", a valid S3 key): spell
 * the extra slash as %2F, which the router decodes back into the same key.
 */
function keepEmptySegments(url: string | undefined): string | undefined {
  if (!url) return url;
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  const slash = p.indexOf('/', 1);
  if (slash < 0 || !p.includes('//', slash)) return url;
  return (
    p.slice(0, slash + 1) +
    p
      .slice(slash + 1)
      .replace(/\/\//g, '/%2F')
      .replace(/^\//, '%2F') +
    (q < 0 ? '' : url.slice(q))
  );
}

/** The object key of a path-style S3 request (/bucket/key), or null. */
function requestKey(url: string | undefined): string | null {
  const p = (url ?? '/').split('?')[0];
  const slash = p.indexOf('/', 1);
  if (slash < 0) return null;
  try {
    return decodeURIComponent(p.slice(slash + 1));
  } catch {
    return null;
  }
}

export async function startLocal(opts: LocalOptions): Promise<LocalStack> {
  mkdirSync(opts.dir, { recursive: true });
  const unlock = lockDir(opts.dir);
  try {
    return await startLocked(opts, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function startLocked(opts: LocalOptions, unlock: () => void): Promise<LocalStack> {
  const bucket = opts.bucket ?? 'kpi-local';
  const categoryTable = opts.categoryTable ?? CATEGORY_TABLE.defaultName;
  const orderTable = opts.orderTable ?? ORDER_TABLE.defaultName;
  const region = opts.region ?? 'us-east-1';
  const host = opts.host ?? '127.0.0.1';
  mkdirSync(path.join(opts.dir, 's3'), { recursive: true });
  mkdirSync(path.join(opts.dir, 'dynamodb'), { recursive: true });

  const S3rver = loadOptional<new (o: object) => { configureBuckets(): Promise<void>; callback(): Handler; on(e: string, l: (ev: unknown) => void): void }>('s3rver');
  const dynalite = loadOptional<(o: object) => http.Server>('dynalite');
  const s3 = new S3rver({
    directory: path.join(opts.dir, 's3'),
    silent: true,
    configureBuckets: [{ name: bucket }],
    allowMismatchedSignatures: true,
    vhostBuckets: false,
  }) as unknown as {
    configureBuckets(): Promise<void>;
    callback(): Handler;
    on(e: string, l: (ev: unknown) => void): void;
    store: Parameters<typeof hardenStore>[0];
  };
  hardenStore(s3.store);
  await s3.configureBuckets();
  const s3Handler = s3.callback();
  // dynalite closes its LevelDB store only through its own server's close(): let it listen privately.
  const dyn = dynalite({ path: path.join(opts.dir, 'dynamodb'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => dyn.listen(0, '127.0.0.1', () => r()));
  const dynHandler = dyn.listeners('request')[0] as Handler;

  const server = http.createServer((req, res) => {
    if (req.headers['x-amz-target']) return dynHandler(req, res);
    const key = req.method === 'PUT' || req.method === 'POST' ? requestKey(req.url) : null;
    const long = key && tooLongSegment(key);
    if (long) {
      // S3 takes keys up to 1,024 bytes; the local file store cannot name a file after a longer segment.
      req.resume();
      return s3Error(
        res,
        400,
        'KeyTooLongError',
        `the local stack stores each key segment as a file name, at most ${MAX_LOCAL_SEGMENT_BYTES} bytes; this key has a segment of ${Buffer.byteLength(long)} (AWS S3 accepts it)`,
      );
    }
    req.url = keepEmptySegments(req.url);
    s3Handler(req, res);
  });
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new LocalStartError(`port ${opts.port} is in use: pick another with --port, or stop the other process`)
            : err.code === 'EACCES'
              ? new LocalStartError(`port ${opts.port} needs privileges: pick one above 1023 with --port`)
              : err,
        ),
      );
      server.listen(opts.port ?? 4566, host, () => resolve());
    });
  } catch (err) {
    // Nothing may stay open, or the process would hang after printing the error.
    await new Promise<void>((r) => dyn.close(() => r()));
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://${host}:${port}`;
  const clients = makeClients({ region, endpoint }, { s3: endpoint, dynamodb: endpoint, local: true });
  await KpiStore.ensureTables(clients.raw, categoryTable, orderTable);
  await StateStore.ensureTable(clients.raw, STATE_TABLE.defaultName);

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
      KPI_STATE_TABLE: STATE_TABLE.defaultName,
    },
    onObjectCreated: (l) => void listeners.push(l),
    close: async () => {
      clients.s3.destroy();
      clients.raw.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => dyn.close(() => r()));
      unlock();
    },
  };
}

/** The pipeline's configuration for a local stack: its bucket, tables and endpoint; alerts printed, no event bus. */
export function configForStack(stack: LocalStack, extra: Partial<Config> = {}): Config {
  return configFromEnv({
    bucket: stack.bucket,
    categoryTable: stack.categoryTable,
    orderTable: stack.orderTable,
    stateTable: STATE_TABLE.defaultName,
    region: stack.region,
    endpoint: stack.endpoint,
    alertTopicArn: undefined,
    eventBus: undefined,
    ...extra,
  });
}
