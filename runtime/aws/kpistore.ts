// Stores, DynamoDB side: the KPI tables. Every row write is fenced: a row carries the commit that
// wrote it (COMMIT_VERSION), and a put or delete is conditional on no newer commit having written
// that row, so a writer paused past its lease cannot overwrite a later commit's figures. Throttling
// and 5xx are retried (exponential backoff, full jitter), a few writes in flight at once.
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  PutCommand,
  QueryCommand,
  GetCommand,
  ScanCommand,
  type DynamoDBDocumentClient,
  type ScanCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { byCategoryThenDate, type CategoryKpi, type KpiTables, type OrderKpi } from '../core/aggregate/kpis';
import { CATEGORY_TABLE, ORDER_TABLE } from '../core/names';
import type { DayKpis } from '../core/aggregate/daykpis';

type Row = Record<string, unknown>;
type WriteRequest = { PutRequest: { Item: Row } } | { DeleteRequest: { Key: Row } };

/** The attribute naming the manifest version whose commit wrote a row (the fence). */
export const COMMIT_VERSION = 'commit_version';
/**
 * A deleted row stays as a tombstone: its key, the commit that deleted it and this attribute
 * (true). A writer of an older commit, paused past its lease, then meets the fence instead of an
 * empty key it could write again. Readers skip tombstones.
 */
export const DELETED = 'deleted';
const isTombstone = (r: Row) => r[DELETED] === true;

export interface WriteStats {
  puts: number;
  deletes: number;
  retries: number;
  /** writes refused because a newer commit had written the row */
  fenced: number;
  changedDates: string[];
}

export interface KpiStoreOptions {
  concurrency?: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  /** Test hook: called before each write; throwing stops the run there (a task killed mid-write). */
  beforeBatch?: (n: number) => void | Promise<void>;
}

const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
]);

function retryable(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  return (
    RETRYABLE.has(e?.name ?? '') ||
    (e?.$metadata?.httpStatusCode ?? 0) >= 500 ||
    ['ECONNRESET', 'EPIPE', 'ECONNREFUSED'].includes(e?.code ?? '')
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** DynamoDB's ResourceNotFoundException does not say which table: this one does. */
export class MissingTable extends Error {
  constructor(readonly table: string) {
    super(
      `DynamoDB table '${table}' does not exist (deleted, or never created): recreate it (the local stack does at its next start or reconcile), then the next run fills it`,
    );
  }
}

function nameMissing(table: string, err: unknown): unknown {
  return (err as { name?: string })?.name === 'ResourceNotFoundException' ? new MissingTable(table) : err;
}

export class KpiStore {
  private batchNo = 0;
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    readonly categoryTable: string,
    readonly orderTable: string,
    private readonly opts: KpiStoreOptions = {},
  ) {}

  /** Creates both tables with the seed's keys if they do not exist (local stack only). */
  /** Returns the names of the tables it had to create. */
  static async ensureTables(raw: DynamoDBClient, categoryTable: string, orderTable: string): Promise<string[]> {
    const created: string[] = [];
    const specs = [
      {
        name: categoryTable,
        keys: [
          [CATEGORY_TABLE.hashKey, 'HASH'],
          [CATEGORY_TABLE.rangeKey, 'RANGE'],
        ],
      },
      { name: orderTable, keys: [[ORDER_TABLE.hashKey, 'HASH']] },
    ] as const;
    for (const s of specs) {
      try {
        await raw.send(new DescribeTableCommand({ TableName: s.name }));
        continue;
      } catch (err) {
        if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
      }
      await raw.send(
        new CreateTableCommand({
          TableName: s.name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: s.keys.map(([n]) => ({ AttributeName: n, AttributeType: 'S' })),
          KeySchema: s.keys.map(([n, t]) => ({ AttributeName: n, KeyType: t })),
        }),
      );
      created.push(s.name);
    }
    return created;
  }

  /** Every row of a table as readers see it (the fence left out, tombstones skipped). */
  async scan(table: string): Promise<Row[]> {
    const out: Row[] = [];
    await this.scanPages(table, {}, (items) => {
      for (const item of items) if (!isTombstone(item)) out.push(withoutFence(item));
    });
    return out;
  }

  private async scanPages(
    table: string,
    extra: Partial<ScanCommandInput>,
    page: (items: Row[]) => void,
  ): Promise<void> {
    let start: Row | undefined;
    do {
      const r = await this.ddb
        .send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ...extra }))
        .catch((err) => {
          throw nameMissing(table, err);
        });
      page((r.Items ?? []) as Row[]);
      start = r.LastEvaluatedKey as Row | undefined;
    } while (start);
  }

  /** The newest commit version any row carries (0 for empty tables): a new manifest starts above it. */
  async maxCommitVersion(): Promise<number> {
    let max = 0;
    const onlyFence = { ProjectionExpression: '#cv', ExpressionAttributeNames: { '#cv': COMMIT_VERSION } };
    for (const table of [this.categoryTable, this.orderTable]) {
      await this.scanPages(table, onlyFence, (items) => {
        for (const item of items) max = Math.max(max, Number(item[COMMIT_VERSION] ?? 0));
      });
    }
    return max;
  }

  async readAll(): Promise<KpiTables> {
    const [c, o] = await Promise.all([this.scan(this.categoryTable), this.scan(this.orderTable)]);
    const cat = (c as unknown as CategoryKpi[]).sort(byCategoryThenDate);
    const ord = (o as unknown as OrderKpi[]).sort((x, y) => (x.order_date < y.order_date ? -1 : 1));
    return { category_kpis: cat, order_kpis: ord };
  }

  async queryCategory(category: string): Promise<CategoryKpi[]> {
    const out: CategoryKpi[] = [];
    let start: Row | undefined;
    do {
      const r = await this.ddb.send(
        new QueryCommand({
          TableName: this.categoryTable,
          KeyConditionExpression: '#c = :c',
          ExpressionAttributeNames: { '#c': CATEGORY_TABLE.hashKey },
          ExpressionAttributeValues: { ':c': category },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of (r.Items ?? []) as Row[])
        if (!isTombstone(item)) out.push(withoutFence(item) as unknown as CategoryKpi);
      start = r.LastEvaluatedKey as Row | undefined;
    } while (start);
    return out;
  }

  async getDate(date: string): Promise<OrderKpi | null> {
    const r = await this.ddb.send(new GetCommand({ TableName: this.orderTable, Key: { [ORDER_TABLE.hashKey]: date } }));
    return r.Item && !isTombstone(r.Item) ? (withoutFence(r.Item) as unknown as OrderKpi) : null;
  }

  /**
   * Makes the tables equal `kpis` as of commit `version`: puts every row (a row left as it was
   * would keep an older commit's fence), deletes rows that no longer exist.
   */
  async replaceAll(kpis: KpiTables, version: number): Promise<WriteStats> {
    const [curC, curO] = await Promise.all([this.scan(this.categoryTable), this.scan(this.orderTable)]);
    const stats = newStats();
    const dates = new Set<string>();
    const diff = (cur: Row[], want: Row[], key: (r: Row) => string, keyAttrs: string[]): WriteRequest[] => {
      const have = new Map(cur.map((r) => [key(r), r]));
      const reqs: WriteRequest[] = [];
      for (const w of want) {
        const h = have.get(key(w));
        have.delete(key(w));
        reqs.push({ PutRequest: { Item: w } });
        if (!h || !sameRow(h, w)) dates.add(String(w.order_date));
      }
      for (const [, h] of have) {
        reqs.push({ DeleteRequest: { Key: Object.fromEntries(keyAttrs.map((a) => [a, h[a]])) } });
        dates.add(String(h.order_date));
      }
      return reqs;
    };
    const catReqs = diff(curC, kpis.category_kpis as unknown as Row[], (r) => `${r.category}\u0000${r.order_date}`, [
      CATEGORY_TABLE.hashKey,
      CATEGORY_TABLE.rangeKey,
    ]);
    const ordReqs = diff(curO, kpis.order_kpis as unknown as Row[], (r) => String(r.order_date), [ORDER_TABLE.hashKey]);
    await this.writeAll(this.categoryTable, catReqs, version, stats);
    await this.writeAll(this.orderTable, ordReqs, version, stats);
    stats.changedDates = [...dates].sort();
    return stats;
  }

  /**
   * Writes the KPI rows of the given days as they are at commit `version` (kpis null: the day has
   * no joined items), deleting category rows the day had before and no longer has. Idempotent.
   */
  async writeDays(
    days: { date: string; kpis: DayKpis | null; hadCategories: string[] }[],
    version: number,
  ): Promise<WriteStats> {
    const stats = { ...newStats(), changedDates: days.map((d) => d.date) };
    const cat: WriteRequest[] = [];
    const ord: WriteRequest[] = [];
    for (const d of days) {
      const now = new Set(d.kpis?.categories.map((c) => c.category) ?? []);
      for (const c of d.kpis?.categories ?? []) cat.push({ PutRequest: { Item: c as unknown as Row } });
      for (const c of d.hadCategories)
        if (!now.has(c))
          cat.push({ DeleteRequest: { Key: { [CATEGORY_TABLE.hashKey]: c, [CATEGORY_TABLE.rangeKey]: d.date } } });
      ord.push(
        d.kpis
          ? { PutRequest: { Item: d.kpis.order as unknown as Row } }
          : { DeleteRequest: { Key: { [ORDER_TABLE.hashKey]: d.date } } },
      );
    }
    await this.writeAll(this.categoryTable, cat, version, stats);
    await this.writeAll(this.orderTable, ord, version, stats);
    return stats;
  }

  private async writeAll(table: string, reqs: WriteRequest[], version: number, stats: WriteStats): Promise<void> {
    let next = 0;
    const worker = async () => {
      for (let r = reqs[next++]; r; r = reqs[next++]) {
        await this.opts.beforeBatch?.(++this.batchNo);
        await this.writeOne(table, r, version, stats);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 32, reqs.length) }, worker));
  }

  /** One fenced put or delete (a tombstone put): refused (and counted) when a newer commit wrote the row. */
  private async writeOne(table: string, req: WriteRequest, version: number, stats: WriteStats): Promise<void> {
    const fence = {
      ConditionExpression: 'attribute_not_exists(#cv) OR #cv <= :v',
      ExpressionAttributeNames: { '#cv': COMMIT_VERSION },
      ExpressionAttributeValues: { ':v': version },
    };
    const cmd =
      'PutRequest' in req
        ? new PutCommand({ TableName: table, Item: { ...req.PutRequest.Item, [COMMIT_VERSION]: version }, ...fence })
        : new PutCommand({
            TableName: table,
            Item: { ...req.DeleteRequest.Key, [COMMIT_VERSION]: version, [DELETED]: true },
            ...fence,
          });
    const max = this.opts.maxAttempts ?? 12;
    const base = this.opts.baseDelayMs ?? 50;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ddb.send(cmd as never);
        if ('PutRequest' in req) stats.puts++;
        else stats.deletes++;
        return;
      } catch (err) {
        if ((err as { name?: string })?.name === 'ConditionalCheckFailedException') {
          stats.fenced++;
          return;
        }
        if (!retryable(err)) throw nameMissing(table, err);
      }
      if (attempt >= max) throw new Error(`DynamoDB: a write to ${table} still failing after ${max} attempts`);
      stats.retries++;
      // Full jitter: spreads retries of concurrent writers apart.
      await sleep(Math.random() * Math.min(5000, base * 2 ** attempt));
    }
  }
}

const newStats = (): WriteStats => ({ puts: 0, deletes: 0, retries: 0, fenced: 0, changedDates: [] });

/** A row as readers see it: the fence is the pipeline's, not a KPI. */
function withoutFence(r: Row): Row {
  if (!(COMMIT_VERSION in r)) return r;
  const { [COMMIT_VERSION]: _v, ...rest } = r;
  return rest;
}

function sameRow(a: Row, b: Row): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
