// Stack configuration with its defaults (every key is documented in the README).
import * as pulumi from '@pulumi/pulumi';
import {
  CATEGORY_TABLE,
  DEFAULT_DEADLINE_SECONDS,
  DEFAULT_HOLD_SECONDS,
  DEFAULT_RECONCILE_SECONDS,
  DEFAULT_REJECT_ALERT_SHARE,
  ORDER_TABLE,
  STATE_TABLE,
} from '../runtime/core/names';

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
  stateTableName: string;
  errExpirationDays: number;
  imagesToKeep: number;
  rejectAlertShare: number;
  latencyAlarmSeconds: number;
  expirySchedule: string;
  /** the validate-only sweep of the landing zone (a failed validation heals itself) */
  sweepSchedule: string;
  /** the scheduled kpi verify (recompute from archive/, compare, alert) */
  verifySchedule: string;
  /** the bulk path's and kpi verify's engine (KPI_HISTORY_ENGINE); athena: verify on Athena, with its IAM */
  historyEngine: 'auto' | 'memory' | 'duckdb' | 'athena';
  /** Athena: a query scanning more is cancelled */
  athenaBytesScannedLimit: number;
  /** partition projection range of order_date in the Glue table */
  lakeProjectionRange: string;
  protect: boolean;
}

/**
 * A physical name that two stacks in one account cannot share: the seed's name on `dev`, the stack
 * name appended elsewhere (log groups, task families and table defaults are account-wide names).
 */
export function physicalName(s: Pick<Settings, 'stack'>, base: string, sep = '-'): string {
  return s.stack === 'dev' ? base : `${base}${sep}${s.stack}`;
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
    categoryTableName: get('categoryTableName') ?? physicalName({ stack }, CATEGORY_TABLE.defaultName),
    orderTableName: get('orderTableName') ?? physicalName({ stack }, ORDER_TABLE.defaultName),
    stateTableName: get('stateTableName') ?? physicalName({ stack }, STATE_TABLE.defaultName),
    errExpirationDays: num('errExpirationDays', 90),
    imagesToKeep: num('imagesToKeep', 10),
    rejectAlertShare: num('rejectAlertShare', DEFAULT_REJECT_ALERT_SHARE),
    latencyAlarmSeconds: num('latencyAlarmSeconds', 900),
    expirySchedule: get('expirySchedule') ?? `rate(${DEFAULT_RECONCILE_SECONDS / 60} minutes)`,
    sweepSchedule: get('sweepSchedule') ?? 'rate(30 minutes)',
    verifySchedule: get('verifySchedule') ?? 'rate(1 day)',
    historyEngine: engine(get('historyEngine')),
    athenaBytesScannedLimit: num('athenaBytesScannedLimit', 10 * 1024 ** 3),
    lakeProjectionRange: get('lakeProjectionRange') ?? '2000-01-01,NOW+1YEARS',
    protect: get('protect') !== undefined ? get('protect') === 'true' : stack !== 'dev',
  };
}

const ENGINES = ['auto', 'memory', 'duckdb', 'athena'] as const;
function engine(v: string | undefined): Settings['historyEngine'] {
  if (v === undefined) return 'auto';
  const found = ENGINES.find((e) => e === v);
  if (!found) throw new Error(`config kpi:historyEngine must be one of ${ENGINES.join(', ')}, got '${v}'`);
  return found;
}

export function loadSettings(): Settings {
  const cfg = new pulumi.Config('kpi');
  return resolveSettings(pulumi.getStack(), (k) => cfg.get(k));
}
