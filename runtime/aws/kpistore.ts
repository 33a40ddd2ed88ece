// Stores, DynamoDB side: the KPI tables. Writes are BatchWrite in 25s with UnprocessedItems and
// throttling retried (exponential backoff, full jitter), a few batches in flight at once.
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, QueryCommand, GetCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { byCategoryThenDate, type CategoryKpi, type KpiTables, type OrderKpi } from '../core/kpis';
import { CATEGORY_TABLE, ORDER_TABLE } from '../core/names';
import type { DayKpis } from '../core/daykpis';

type Row = Record<string, unknown>;
type WriteRequest = { PutRequest: { Item: Row } } | { DeleteRequest: { Key: Row } };

export interface WriteStats {
  puts: number;
  deletes: number;
  retries: number;
  changedDates: string[];
}

export interface KpiStoreOptions {
  concurrency?: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  /** Test hook: called before each batch; throwing stops the run there (a task killed mid-write). */
  beforeBatch?: (n: number) => void;
}

const RETRYABLE = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'InternalServerError', 'ServiceUnavailable', 'TimeoutError']);

function retryable(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  return RETRYABLE.has(e?.name ?? '') || (e?.$metadata?.httpStatusCode ?? 0) >= 500 || ['ECONNRESET', 'EPIPE', 'ECONNREFUSED'].includes(e?.code ?? '');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** DynamoDB's ResourceNotFoundException does not say which table: this one does. */
export class MissingTable extends Error {
  constructor(readonly table: string) {
    super(`DynamoDB table '${table}' does not exist (deleted, or never created): recreate it (the local stack does at its next start or reconcile), then the next run fills it`);
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

  async scan(table: string): Promise<Row[]> {
    const out: Row[] = [];
    let start: Row | undefined;
    do {
      const r = await this.ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start })).catch((err) => {
        throw nameMissing(table, err);
      });
      for (const item of (r.Items ?? []) as Row[]) out.push(item);
      start = r.LastEvaluatedKey as Row | undefined;
    } while (start);
    return out;
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
      for (const item of (r.Items ?? []) as unknown as CategoryKpi[]) out.push(item);
      start = r.LastEvaluatedKey as Row | undefined;
    } while (start);
    return out;
  }

  async getDate(date: string): Promise<OrderKpi | null> {
    const r = await this.ddb.send(new GetCommand({ TableName: this.orderTable, Key: { [ORDER_TABLE.hashKey]: date } }));
    return (r.Item as OrderKpi | undefined) ?? null;
  }

  /**
   * Makes the tables equal `kpis`: puts rows that differ, deletes rows that no longer exist.
   * Reading first keeps repeated runs cheap; correctness does not depend on it (see transform.ts).
   */
  async replaceAll(kpis: KpiTables): Promise<WriteStats> {
    const [curC, curO] = await Promise.all([this.scan(this.categoryTable), this.scan(this.orderTable)]);
    const stats: WriteStats = { puts: 0, deletes: 0, retries: 0, changedDates: [] };
    const dates = new Set<string>();
    const diff = (cur: Row[], want: Row[], key: (r: Row) => string, keyAttrs: string[]): WriteRequest[] => {
      const have = new Map(cur.map((r) => [key(r), r]));
      const reqs: WriteRequest[] = [];
      for (const w of want) {
        const k = key(w);
        const h = have.get(k);
        have.delete(k);
        if (!h || !sameRow(h, w)) {
          reqs.push({ PutRequest: { Item: w } });
          dates.add(String(w.order_date));
        }
      }
      for (const [, h] of have) {
        reqs.push({ DeleteRequest: { Key: Object.fromEntries(keyAttrs.map((a) => [a, h[a]])) } });
        dates.add(String(h.order_date));
      }
      return reqs;
    };
    const catReqs = diff(curC, kpis.category_kpis as unknown as Row[], (r) => `${r.category}\u0000${r.order_date}`, [CATEGORY_TABLE.hashKey, CATEGORY_TABLE.rangeKey]);
    const ordReqs = diff(curO, kpis.order_kpis as unknown as Row[], (r) => String(r.order_date), [ORDER_TABLE.hashKey]);
    await this.writeAll(this.categoryTable, catReqs, stats);
    await this.writeAll(this.orderTable, ordReqs, stats);
    stats.changedDates = [...dates].sort();
    return stats;
  }

  /**
   * Writes the KPI rows of the given days as they are now (kpis null: the day has no joined items),
   * deleting category rows the day had before and no longer has. Idempotent: safe to redo.
   */
  async writeDays(days: { date: string; kpis: DayKpis | null; hadCategories: string[] }[]): Promise<WriteStats> {
    const stats: WriteStats = { puts: 0, deletes: 0, retries: 0, changedDates: days.map((d) => d.date) };
    const cat: WriteRequest[] = [];
    const ord: WriteRequest[] = [];
    for (const d of days) {
      const now = new Set(d.kpis?.categories.map((c) => c.category) ?? []);
      for (const c of d.kpis?.categories ?? []) cat.push({ PutRequest: { Item: c as unknown as Row } });
      for (const c of d.hadCategories) if (!now.has(c)) cat.push({ DeleteRequest: { Key: { [CATEGORY_TABLE.hashKey]: c, [CATEGORY_TABLE.rangeKey]: d.date } } });
      ord.push(d.kpis ? { PutRequest: { Item: d.kpis.order as unknown as Row } } : { DeleteRequest: { Key: { [ORDER_TABLE.hashKey]: d.date } } });
    }
    await this.writeAll(this.categoryTable, cat, stats);
    await this.writeAll(this.orderTable, ord, stats);
    return stats;
  }

  private async writeAll(table: string, reqs: WriteRequest[], stats: WriteStats): Promise<void> {
    const batches: WriteRequest[][] = [];
    for (let i = 0; i < reqs.length; i += 25) batches.push(reqs.slice(i, i + 25));
    let next = 0;
    const worker = async () => {
      for (let b = batches[next++]; b; b = batches[next++]) {
        this.opts.beforeBatch?.(++this.batchNo);
        await this.writeBatch(table, b, stats);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 4, batches.length) }, worker));
  }

  private async writeBatch(table: string, batch: WriteRequest[], stats: WriteStats): Promise<void> {
    let pending = batch;
    const max = this.opts.maxAttempts ?? 12;
    const base = this.opts.baseDelayMs ?? 50;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } }));
        const left = (r.UnprocessedItems?.[table] ?? []) as WriteRequest[];
        stats.puts += countKind(pending, 'PutRequest') - countKind(left, 'PutRequest');
        stats.deletes += countKind(pending, 'DeleteRequest') - countKind(left, 'DeleteRequest');
        if (!left.length) return;
        pending = left;
      } catch (err) {
        if (!retryable(err)) throw nameMissing(table, err);
      }
      if (attempt >= max) throw new Error(`DynamoDB: ${pending.length} writes to ${table} still unprocessed after ${max} attempts`);
      stats.retries++;
      // Full jitter: spreads retries of concurrent writers apart.
      await sleep(Math.random() * Math.min(5000, base * 2 ** attempt));
    }
  }
}

function countKind(reqs: WriteRequest[], kind: 'PutRequest' | 'DeleteRequest'): number {
  let n = 0;
  for (const r of reqs) if (kind in r) n++;
  return n;
}

function sameRow(a: Row, b: Row): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
