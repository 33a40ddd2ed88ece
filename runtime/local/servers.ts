// The embedded servers — s3rver (S3) and dynalite (DynamoDB) behind ONE endpoint on 127.0.0.1;
// requests carrying X-Amz-Target are DynamoDB's JSON API, the rest is S3 — run on a worker thread
// (stack.ts starts it): their work (HTTP parsing, an MD5 of every object, file I/O) then runs on
// another core beside the pipeline's own, instead of taking turns with it on one event loop.
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { hardenStore, MAX_LOCAL_SEGMENT_BYTES, tooLongSegment } from './store';

export interface ServerOptions {
  dir: string;
  port: number;
  host: string;
  bucket: string;
  /**
   * The status of a GET or HEAD of a missing key. 403 (the default) is what the deployed task roles
   * get from S3: without an unconditioned s3:ListBucket, S3 answers AccessDenied instead of 404.
   */
  missingKeyStatus?: 403 | 404;
}

/** Worker → stack. */
export type ServerMessage =
  | { type: 'ready'; port: number }
  /** start-up failed; `clear`: a one-line reason for the user (a busy port, a missing dependency) */
  | { type: 'failed'; message: string; clear: boolean }
  | { type: 'created'; key: string }
  | { type: 'closed' };

class ClearError extends Error {}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function loadOptional<T>(name: string): T {
  try {
    return require(name) as T;
  } catch {
    throw new ClearError(
      `the local stack needs the dev dependency '${name}': run 'npm ci' in the project (it is left out of production installs)`,
    );
  }
}

/** S3's error document, for requests the local store refuses before s3rver sees them. */
function s3Error(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message.replace(/[<&>]/g, '')}</Message></Error>`,
  );
}

/**
 * Makes a 404 answer to a GET or HEAD of an object a 403 AccessDenied, as S3 answers a caller
 * without s3:ListBucket on the bucket (AWS docs, GetObject "Permissions"). The body is replaced whole.
 */
function missingAsDenied(res: http.ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => http.ServerResponse;
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => http.ServerResponse;
  let denied = false;
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    if (status !== 404) return writeHead(status, ...rest);
    denied = true;
    res.removeHeader('content-length');
    return writeHead(403, {
      'content-type': 'application/xml',
      'content-length': res.req.method === 'HEAD' ? '0' : String(body.length),
    });
  }) as typeof res.writeHead;
  res.write = ((...a: unknown[]) => (denied ? true : write(...a))) as typeof res.write;
  res.end = ((...a: unknown[]) => {
    if (!res.headersSent && res.statusCode === 404) res.writeHead(404);
    if (!denied) return end(...a);
    return res.req.method === 'HEAD' ? end() : end(body);
  }) as typeof res.end;
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

interface S3rverInstance {
  configureBuckets(): Promise<void>;
  callback(): Handler;
  on(e: string, l: (ev: unknown) => void): void;
  store: Parameters<typeof hardenStore>[0];
}

/** s3rver with the one bucket, its store hardened (store.ts). */
async function startS3(opts: ServerOptions): Promise<S3rverInstance> {
  const S3rver = loadOptional<new (o: object) => S3rverInstance>('s3rver');
  const s3 = new S3rver({
    directory: path.join(opts.dir, 's3'),
    silent: true,
    configureBuckets: [{ name: opts.bucket }],
    allowMismatchedSignatures: true,
    vhostBuckets: false,
  });
  hardenStore(s3.store);
  await s3.configureBuckets();
  return s3;
}

async function serve(opts: ServerOptions, post: (m: ServerMessage) => void): Promise<() => Promise<void>> {
  const { bucket } = opts;
  const s3 = await startS3(opts);
  const dynalite = loadOptional<(o: object) => http.Server>('dynalite');
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
    if (
      (opts.missingKeyStatus ?? 403) === 403 &&
      (req.method === 'GET' || req.method === 'HEAD') &&
      requestKey(req.url)
    )
      missingAsDenied(res);
    s3Handler(req, res);
  });
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new ClearError(`port ${opts.port} is in use: pick another with --port, or stop the other process`)
            : err.code === 'EACCES'
              ? new ClearError(`port ${opts.port} needs privileges: pick one above 1023 with --port`)
              : err,
        ),
      );
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (err) {
    // Nothing may stay open, or the process would hang after printing the error.
    await new Promise<void>((r) => dyn.close(() => r()));
    throw err;
  }
  s3.on('event', (ev) => {
    for (const rec of (
      ev as { Records?: { eventName: string; s3: { bucket: { name: string }; object: { key: string } } }[] }
    ).Records ?? []) {
      if (!rec.eventName.startsWith('ObjectCreated') || rec.s3.bucket.name !== bucket) continue;
      // s3rver puts the raw key in its events (AWS URL-encodes it; EventBridge events do not).
      post({ type: 'created', key: rec.s3.object.key });
    }
  });
  post({ type: 'ready', port: (server.address() as AddressInfo).port });
  return async () => {
    server.closeAllConnections?.();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => dyn.close(() => r()));
  };
}

if (!isMainThread && parentPort && (workerData as { kpiServers?: ServerOptions } | null)?.kpiServers) {
  const port = parentPort;
  const post = (m: ServerMessage) => port.postMessage(m);
  serve((workerData as { kpiServers: ServerOptions }).kpiServers, post).then(
    (close) =>
      port.on('message', (m: { type: string }) => {
        if (m.type === 'close') void close().then(() => (post({ type: 'closed' }), port.close()));
      }),
    (err: unknown) => {
      post({ type: 'failed', message: (err as Error).message, clear: err instanceof ClearError });
      port.close();
    },
  );
}
