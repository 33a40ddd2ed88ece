// The embedded stack: an S3-compatible server (s3rver) and a DynamoDB-compatible one (dynalite)
// behind ONE endpoint on 127.0.0.1 (servers.ts, on a worker thread), so AWS_ENDPOINT_URL alone
// points the SDK and the AWS CLI at both, as with LocalStack; the tables, clients and events here.
import { Worker } from 'node:worker_threads';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeClients, type Clients } from '../aws/clients';
import { configFromEnv, type Config } from '../aws/config';
import { KpiStore } from '../aws/kpistore';
import { StateStore } from '../state/statestore';
import { CATEGORY_TABLE, ORDER_TABLE, STATE_TABLE } from '../core/names';
import type { ServerMessage, ServerOptions } from './servers';

export interface LocalOptions {
  dir: string;
  port?: number;
  host?: string;
  bucket?: string;
  categoryTable?: string;
  orderTable?: string;
  region?: string;
  /** a GET/HEAD of a missing key: 403 as the deployed roles see S3 (default), or 404 */
  missingKeyStatus?: 403 | 404;
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
      throw new LocalStartError(
        `the state folder ${dir} is in use by another kpi local (PID ${owner}): stop it, or pick another folder with --dir`,
      );
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

  // The servers run on a worker thread (servers.ts); this thread talks to them over HTTP like any client.
  const worker = new Worker(path.join(__dirname, 'servers.js'), {
    workerData: {
      kpiServers: {
        dir: opts.dir,
        port: opts.port ?? 4566,
        host,
        bucket,
        missingKeyStatus: opts.missingKeyStatus,
      } satisfies ServerOptions,
    },
  });
  const listeners: ((key: string) => void)[] = [];
  let closed: (() => void) | null = null;
  let exited = false;
  const port = await new Promise<number>((resolve, reject) => {
    worker.on('message', (m: ServerMessage) => {
      if (m.type === 'ready') resolve(m.port);
      else if (m.type === 'failed') reject(m.clear ? new LocalStartError(m.message) : new Error(m.message));
      else if (m.type === 'created') for (const l of listeners) l(m.key);
      else if (m.type === 'closed') closed?.();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      exited = true;
      closed?.();
      reject(new Error(`the local servers stopped (exit code ${code})`));
    });
  });
  worker.on('error', (err) => console.error(`kpi local: the embedded servers failed: ${err.message}`));
  const endpoint = `http://${host}:${port}`;
  const clients = makeClients({ region, endpoint }, { s3: endpoint, dynamodb: endpoint, local: true });
  try {
    await KpiStore.ensureTables(clients.raw, categoryTable, orderTable);
    await StateStore.ensureTable(clients.raw, STATE_TABLE.defaultName);
  } catch (err) {
    await worker.terminate();
    throw err;
  }

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
      AWS_DEFAULT_REGION: region, // the AWS CLI v1 reads this one
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
      if (!exited) {
        await new Promise<void>((r) => {
          closed = r;
          worker.postMessage({ type: 'close' });
        });
      }
      await worker.terminate();
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
