// Runtime configuration from the environment, as the AWS SDK and CLI users expect.
import { CATEGORY_TABLE, DEFAULT_DEADLINE_SECONDS, DEFAULT_HOLD_SECONDS, DEFAULT_RECONCILE_SECONDS, DEFAULT_REJECT_ALERT_SHARE, ENV, ORDER_TABLE } from '../core/names';

export interface Config {
  bucket: string;
  categoryTable: string;
  orderTable: string;
  region: string;
  endpoint?: string;
  alertTopicArn?: string;
  eventBus?: string;
  holdSeconds: number;
  deadlineSeconds: number;
  rejectAlertShare: number;
  /** local stack: seconds between reconciling transforms (AWS: the schedule rule) */
  reconcileSeconds: number;
}

function num(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got '${v}'`);
  return n;
}

export function configFromEnv(overrides: Partial<Config> = {}): Config {
  const bucket = overrides.bucket ?? process.env[ENV.bucket];
  if (!bucket) throw new Error(`${ENV.bucket} is not set: name the bucket (for the local stack, run 'kpi local' and paste its export lines)`);
  return {
    bucket,
    categoryTable: process.env[ENV.categoryTable] || CATEGORY_TABLE.defaultName,
    orderTable: process.env[ENV.orderTable] || ORDER_TABLE.defaultName,
    region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
    endpoint: process.env.AWS_ENDPOINT_URL || undefined,
    alertTopicArn: process.env[ENV.alertTopic] || undefined,
    eventBus: process.env[ENV.eventBus] || undefined,
    holdSeconds: num(ENV.holdSeconds, DEFAULT_HOLD_SECONDS),
    deadlineSeconds: num(ENV.deadline, DEFAULT_DEADLINE_SECONDS),
    rejectAlertShare: num(ENV.rejectAlertShare, DEFAULT_REJECT_ALERT_SHARE),
    reconcileSeconds: num(ENV.reconcileSeconds, DEFAULT_RECONCILE_SECONDS),
    ...overrides,
  };
}
