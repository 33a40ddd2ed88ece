// Stack configuration with its defaults (every key is documented in the README).
import * as pulumi from '@pulumi/pulumi';
import { CATEGORY_TABLE, DEFAULT_DEADLINE_SECONDS, DEFAULT_HOLD_SECONDS, ORDER_TABLE } from '../runtime/names';

export interface Settings {
  stack: string;
  alertEmails: string[];
  taskCpu: number;
  taskMemory: number;
  logRetentionDays: number;
  holdSeconds: number;
  deadlineSeconds: number;
  categoryTableName: string;
  orderTableName: string;
  archiveTransitionDays: number;
  errExpirationDays: number;
  imagesToKeep: number;
  rejectAlertShare: number;
  latencyAlarmSeconds: number;
  expirySchedule: string;
  protect: boolean;
}

/** Pure: raw config values → settings, so the defaults are unit-tested without a stack. */
export function resolveSettings(stack: string, get: (key: string) => string | undefined): Settings {
  const num = (k: string, d: number) => {
    const v = get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`config kpi:${k} must be a non-negative number, got '${v}'`);
    return n;
  };
  const emails = get('alertEmails');
  return {
    stack,
    alertEmails: emails ? (JSON.parse(emails) as string[]) : [],
    taskCpu: num('taskCpu', 1024),
    taskMemory: num('taskMemory', 3072),
    logRetentionDays: num('logRetentionDays', 30),
    holdSeconds: num('holdSeconds', DEFAULT_HOLD_SECONDS),
    deadlineSeconds: num('deadlineSeconds', DEFAULT_DEADLINE_SECONDS),
    categoryTableName: get('categoryTableName') ?? CATEGORY_TABLE.defaultName,
    orderTableName: get('orderTableName') ?? ORDER_TABLE.defaultName,
    archiveTransitionDays: num('archiveTransitionDays', 30),
    errExpirationDays: num('errExpirationDays', 90),
    imagesToKeep: num('imagesToKeep', 10),
    rejectAlertShare: num('rejectAlertShare', 0.05),
    latencyAlarmSeconds: num('latencyAlarmSeconds', 900),
    expirySchedule: get('expirySchedule') ?? 'rate(15 minutes)',
    protect: get('protect') !== undefined ? get('protect') === 'true' : stack !== 'dev',
  };
}

export function loadSettings(): Settings {
  const cfg = new pulumi.Config('kpi');
  return resolveSettings(pulumi.getStack(), (k) => cfg.get(k));
}
