// Names shared by the deployment (infra/) and the code (runtime/), so the two cannot drift apart.

export const LANDING_PREFIX = 'ecommerce-data/';
export const ARCHIVE_PREFIX = 'archive/';
export const ERR_PREFIX = 'err/';
/** The curated zone: joined items by order date, as Parquet (SPEC "Curated zone"). */
export const CURATED_PREFIX = 'curated/joined_items/';
/** The validated zone: each archived file's valid row versions, typed, as Parquet (docs/contract.md). */
export const VALIDATED_PREFIX = 'validated/';

/** The pipeline's own state (SPEC: "anything else"): state/quality.json, the data-quality summary. */
export const STATE_PREFIX = 'state/';
export const QUALITY_KEY = `${STATE_PREFIX}quality.json`;

export const ENTITIES = ['products', 'orders', 'order_items'] as const;
export type Entity = (typeof ENTITIES)[number];

export const CATEGORY_TABLE = {
  defaultName: 'category_kpi_table',
  hashKey: 'category',
  rangeKey: 'order_date',
} as const;

/** The incremental transform's commit point (the manifest and its lease). */
export const STATE_TABLE = {
  defaultName: 'kpi_state_table',
  hashKey: 'pk',
} as const;

export const ORDER_TABLE = {
  defaultName: 'order_kpi_table',
  hashKey: 'order_date',
} as const;

/** EventBridge names for the validate → transform hand-off. */
export const EVENT_SOURCE = 'kpi.pipeline';
export const EVENT_VALIDATED = 'KPI Files Validated';

/** Environment variables the container reads (set by the task definition and the rule's input transformer). */
export const ENV = {
  bucket: 'KPI_BUCKET',
  categoryTable: 'KPI_CATEGORY_TABLE',
  orderTable: 'KPI_ORDER_TABLE',
  stateTable: 'KPI_STATE_TABLE',
  alertTopic: 'KPI_ALERT_TOPIC_ARN',
  stage: 'KPI_STAGE',
  objectKey: 'KPI_S3_KEY',
  objectVersion: 'KPI_S3_VERSION',
  event: 'KPI_EVENT',
  uploadedAt: 'KPI_UPLOADED_AT',
  reconcileSeconds: 'KPI_RECONCILE_SECONDS',
  deadline: 'KPI_DEADLINE_SECONDS',
  holdSeconds: 'KPI_HOLD_SECONDS',
  rejectAlertShare: 'KPI_REJECT_ALERT_SHARE',
  eventBus: 'KPI_EVENT_BUS',
  historyMemoryMiB: 'KPI_HISTORY_MEMORY_MIB',
  historyEngine: 'KPI_HISTORY_ENGINE',
  athenaWorkgroup: 'KPI_ATHENA_WORKGROUP',
  athenaDatabase: 'KPI_ATHENA_DATABASE',
} as const;

export const METRIC_NAMESPACE = 'EcommerceKpi';
export const DEFAULT_DEADLINE_SECONDS = 900;
export const DEFAULT_HOLD_SECONDS = 3600;
export const DEFAULT_REJECT_ALERT_SHARE = 0.05;
/** The reconciling transform's interval, on AWS (schedule) and in the local stack alike. */
export const DEFAULT_RECONCILE_SECONDS = 900;

/** Stage names: the seed's two containers. */
export const STAGES = ['validate', 'transform'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * How a task's memory is shared, set by the Pulumi program and used by bench:history alike. The
 * transform gives the history engine (DuckDB) half and caps V8's heap at a quarter: its live heap
 * is small (77 MiB in a 5M-item bulk run), but with V8's default limit (up to 4 GiB on a large host)
 * garbage was left to pile up to 1.6 GiB at 20M items before a full collection. Validate runs no
 * engine and holds one file's versions (over 300 MiB for 500,000 rows): half the task for its heap.
 */
export function memorySplit(stage: Stage, taskMiB: number): { historyMiB: number; heapMiB: number } {
  return {
    historyMiB: Math.floor(taskMiB / 2),
    heapMiB: Math.floor(stage === 'transform' ? taskMiB / 4 : taskMiB / 2),
  };
}
