// Runtime configuration from the environment, as the AWS SDK and CLI users expect. The one module
// that reads process.env: everything else gets a Config (or a RunRequest) passed in.
import {
  CATEGORY_TABLE,
  DEFAULT_DEADLINE_SECONDS,
  DEFAULT_HOLD_SECONDS,
  DEFAULT_RECONCILE_SECONDS,
  DEFAULT_REJECT_ALERT_SHARE,
  ENV,
  ORDER_TABLE,
  STATE_TABLE,
} from '../core/names';

export interface Config {
  bucket: string;
  categoryTable: string;
  orderTable: string;
  stateTable: string;
  region: string;
  endpoint?: string;
  alertTopicArn?: string;
  eventBus?: string;
  holdSeconds: number;
  deadlineSeconds: number;
  rejectAlertShare: number;
  /** local stack: seconds between reconciling transforms (AWS: the schedule rule) */
  reconcileSeconds: number;
  /** the history engine's memory limit (DuckDB spills past it); unset: half this machine's, up to 1 GiB */
  historyMemoryMiB?: number;
  /** the bulk path's engine: auto (default: by the history's size, state/transform.ts chooseEngine),
   * memory, or duckdb (the history engine); athena: kpi verify runs on Athena, the bulk path as auto */
  historyEngine: 'auto' | 'memory' | 'duckdb' | 'athena';
  /** Athena (KPI_HISTORY_ENGINE=athena): the stack's workgroup and Glue database */
  athena?: { workgroup: string; database: string };
  /** per-service endpoints (AWS_ENDPOINT_URL_<SERVICE>), as the SDK and CLI take them */
  serviceEndpoints: ServiceEndpoints;
}

export interface ServiceEndpoints {
  s3?: string;
  dynamodb?: string;
  events?: string;
  sns?: string;
}

/** What `kpi run` was asked to do (set by the task definition and the rules' input transformers). */
export interface RunRequest {
  stage: string;
  key?: string;
  versionId?: string;
  /** a whole event as JSON (KPI_EVENT) */
  event?: string;
  /** the hand-off's earliest upload time, ms */
  uploadedAt?: number;
}

export function runRequestFromEnv(): RunRequest {
  const env = process.env;
  const uploaded = Number(env[ENV.uploadedAt]);
  return {
    stage: env[ENV.stage] || '',
    key: env[ENV.objectKey] || undefined,
    versionId: env[ENV.objectVersion] || undefined,
    event: env[ENV.event] || undefined,
    uploadedAt: Number.isFinite(uploaded) && uploaded > 0 ? uploaded : undefined,
  };
}

function num(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got '${v}'`);
  return n;
}

function historyEngine(v: string | undefined): Config['historyEngine'] {
  if (!v) return 'auto';
  if (v === 'auto' || v === 'memory' || v === 'duckdb' || v === 'athena') return v;
  throw new Error(`${ENV.historyEngine} must be auto, memory, duckdb or athena, got '${v}'`);
}

function athena(engine: Config['historyEngine']): Config['athena'] {
  const workgroup = process.env[ENV.athenaWorkgroup];
  const database = process.env[ENV.athenaDatabase];
  if (workgroup && database) return { workgroup, database };
  if (engine === 'athena')
    throw new Error(
      `${ENV.historyEngine}=athena needs ${ENV.athenaWorkgroup} and ${ENV.athenaDatabase} (the stack's outputs athenaWorkgroup and lakeDatabase)`,
    );
  return undefined;
}

/** requireBucket false: commands that only read the tables (kpi query, kpi local's defaults). */
export function configFromEnv(overrides: Partial<Config> = {}, { requireBucket = true } = {}): Config {
  const bucket = overrides.bucket ?? process.env[ENV.bucket] ?? (requireBucket ? undefined : '');
  if (!bucket && requireBucket)
    throw new Error(
      `${ENV.bucket} is not set: name the bucket (for the local stack, run 'kpi local' and paste its export lines)`,
    );
  return {
    bucket: bucket ?? '',
    categoryTable: process.env[ENV.categoryTable] || CATEGORY_TABLE.defaultName,
    orderTable: process.env[ENV.orderTable] || ORDER_TABLE.defaultName,
    stateTable: process.env[ENV.stateTable] || STATE_TABLE.defaultName,
    region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
    endpoint: process.env.AWS_ENDPOINT_URL || undefined,
    alertTopicArn: process.env[ENV.alertTopic] || undefined,
    eventBus: process.env[ENV.eventBus] || undefined,
    holdSeconds: num(ENV.holdSeconds, DEFAULT_HOLD_SECONDS),
    deadlineSeconds: num(ENV.deadline, DEFAULT_DEADLINE_SECONDS),
    rejectAlertShare: num(ENV.rejectAlertShare, DEFAULT_REJECT_ALERT_SHARE),
    reconcileSeconds: num(ENV.reconcileSeconds, DEFAULT_RECONCILE_SECONDS),
    historyMemoryMiB: process.env[ENV.historyMemoryMiB] ? num(ENV.historyMemoryMiB, 0) : undefined,
    historyEngine: historyEngine(process.env[ENV.historyEngine]),
    athena: athena(historyEngine(process.env[ENV.historyEngine])),
    serviceEndpoints: {
      s3: process.env.AWS_ENDPOINT_URL_S3 || undefined,
      dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB || undefined,
      events: process.env.AWS_ENDPOINT_URL_EVENTBRIDGE || undefined,
      sns: process.env.AWS_ENDPOINT_URL_SNS || undefined,
    },
    ...overrides,
  };
}
