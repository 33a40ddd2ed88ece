// `npm run bench:state-items -- --items N`: the design the state index was weighed against (issue
// 19): the o/i/p records as DynamoDB items in a table of their own, on the embedded DynamoDB.
// It loads the records of an N-item history with BatchWrite (25 per request, UnprocessedItems
// retried), then does what a new day's batch would (1,000 orders, 1,500 items): 4,021 look-ups
// by strongly consistent BatchGet (100 keys per request) and 2,503 writes conditional on the
// version rank (one PutItem each: BatchWrite takes no condition). It prints times, requests and
// request units, and the dollars they cost at on-demand list prices. The state index's own
// figures for the same day come from `npm run bench:local -- --history N --id-style uuid`.
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { idOf } from '../runtime/cli/generate';
import { inPool } from '../runtime/core/pool';
import { benchStack } from './stack';

// us-east-1 on-demand list prices (2025): a write request unit is one write of up to 1 KB, a read
// request unit one strongly consistent read of up to 4 KB.
const DOLLARS_PER_WRU = 0.625 / 1e6;
const DOLLARS_PER_RRU = 0.125 / 1e6;
const TABLE = 'kpi-state-items';

interface Item {
  pk: string;
  v: string;
}

/** The records of an n-item history, shaped as the state index's (records.ts): ~1.5 items per order. */
function* records(n: number): Generator<Item> {
  const id = (k: 'o' | 'i' | 'p' | 'u', x: number) => idOf('uuid', k, x);
  const rank = (x: number) => `1751328000000|${String(x).padStart(9, '0')}|000001`;
  for (let p = 1; p <= 2000; p++) yield { pk: `p|${id('p', p)}`, v: JSON.stringify([rank(p), 'Jeans']) };
  for (let o = 1; o <= Math.ceil(n / 1.5); o++)
    yield { pk: `o|${id('o', o)}`, v: JSON.stringify([rank(o), [20000 + (o % 180), id('u', o % 50000), false]]) };
  for (let i = 1; i <= n; i++)
    yield {
      pk: `i|${id('i', i)}`,
      v: JSON.stringify([rank(i), [id('o', Math.ceil(i / 1.5)), id('p', 1 + (i % 2000)), 1999, 2]]),
    };
}

async function batchWrite(ddb: DynamoDBDocumentClient, items: Item[], count: { requests: number }): Promise<void> {
  let left = items.map((Item) => ({ PutRequest: { Item } }));
  while (left.length) {
    count.requests++;
    const out = await ddb.send(new BatchWriteCommand({ RequestItems: { [TABLE]: left } }));
    left = (out.UnprocessedItems?.[TABLE] ?? []) as typeof left;
  }
}

async function batchGet(ddb: DynamoDBDocumentClient, keys: string[], count: { requests: number; found: number }) {
  let left = keys.map((pk) => ({ pk }));
  while (left.length) {
    count.requests++;
    const out = await ddb.send(
      new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: left, ConsistentRead: true } } }),
    );
    count.found += out.Responses?.[TABLE]?.length ?? 0;
    left = (out.UnprocessedKeys?.[TABLE]?.Keys ?? []) as typeof left;
  }
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--items');
  const n = at > 0 ? Number(process.argv[at + 1]) : 100_000;
  if (!Number.isInteger(n) || n < 3000) throw new Error('--items N: an integer of at least 3,000');
  const { stack } = await benchStack(() => {});
  const ddb = stack.clients.ddb;
  try {
    await stack.clients.raw.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await new Promise((r) => setTimeout(r, 600)); // dynalite makes a table ACTIVE after a moment

    // Bulk load: the history's records, 25 per BatchWrite, 16 requests in flight.
    const load = { requests: 0 };
    let written = 0;
    let bytes = 0;
    const t0 = performance.now();
    let chunk: Item[][] = [];
    let batch: Item[] = [];
    const flush = async () => {
      await inPool(chunk, 16, (b) => batchWrite(ddb, b, load));
      chunk = [];
    };
    for (const r of records(n)) {
      batch.push(r);
      written++;
      bytes += r.pk.length + r.v.length + 3;
      if (batch.length === 25) {
        chunk.push(batch);
        batch = [];
        if (chunk.length === 400) await flush();
      }
      if (written % 200_000 === 0) process.stderr.write(`  loaded ${written.toLocaleString('en-US')} records\n`);
    }
    if (batch.length) chunk.push(batch);
    await flush();
    const loadS = (performance.now() - t0) / 1000;

    // A new day: 1,000 new orders and 1,500 new items (absent), the products they name and the
    // day's other keys (present), 4,021 look-ups as the state index makes.
    const keys: string[] = [];
    for (let k = 0; k < 1000; k++) keys.push(`o|${idOf('uuid', 'o', 900_000_000 + k)}`);
    for (let k = 0; k < 1500; k++) keys.push(`i|${idOf('uuid', 'i', 900_000_000 + k)}`);
    for (let k = 0; k < 1521; k++) keys.push(k < 1500 ? `p|${idOf('uuid', 'p', 1 + (k % 2000))}` : `f|new-${k}`);
    const unique = [...new Set(keys)];
    const get = { requests: 0, found: 0 };
    const t1 = performance.now();
    const groups: string[][] = [];
    for (let k = 0; k < unique.length; k += 100) groups.push(unique.slice(k, k + 100));
    await inPool(groups, 8, (g) => batchGet(ddb, g, get));
    const lookupMs = performance.now() - t1;

    // Its 2,503 new records, each written only if no higher rank is there.
    const puts: Item[] = [];
    for (let k = 0; k < 1000; k++)
      puts.push({ pk: `o|${idOf('uuid', 'o', 900_000_000 + k)}`, v: '["r",[1,"u",false]]' });
    for (let k = 0; k < 1503; k++)
      puts.push({ pk: `i|${idOf('uuid', 'i', 900_000_000 + k)}`, v: '["r",["o","p",1,2]]' });
    const t2 = performance.now();
    await inPool(puts, 32, async (Item) => {
      await ddb.send(
        new PutCommand({
          TableName: TABLE,
          Item: { ...Item, rank: '1751414400000|000000001|000001' },
          ConditionExpression: 'attribute_not_exists(pk) OR #r < :r',
          ExpressionAttributeNames: { '#r': 'rank' },
          ExpressionAttributeValues: { ':r': '1751414400000|000000001|000001' },
        }),
      );
    });
    const writeMs = performance.now() - t2;

    const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    const perMillion = DOLLARS_PER_WRU * 1e6;
    console.log(
      `history ${fmt(n)} items (UUID ids) as ${fmt(written)} DynamoDB items, ${fmt(bytes / written)} bytes each`,
    );
    console.log(
      `bulk load: ${fmt(load.requests)} BatchWrite requests, ${fmt(loadS, 1)} s on the embedded DynamoDB ` +
        `(${fmt(written / loadS)} items/s); ${fmt(written)} WRU = $${fmt(written * DOLLARS_PER_WRU, 2)} ` +
        `($${fmt(perMillion, 3)} per million records); at a new on-demand table's 4,000 writes/s: ${fmt(written / 4000)} s`,
    );
    console.log(
      `new day: ${fmt(unique.length)} look-ups in ${fmt(get.requests)} BatchGet requests, ${fmt(lookupMs)} ms ` +
        `(${fmt(get.found)} found); ${fmt(puts.length)} conditional PutItem in ${fmt(writeMs)} ms; ` +
        `${fmt(unique.length)} RRU + ${fmt(puts.length)} WRU = $${fmt(unique.length * DOLLARS_PER_RRU + puts.length * DOLLARS_PER_WRU, 5)}`,
    );
    if (get.found !== 1500) throw new Error(`expected the 1,500 product keys found, got ${get.found}`);
  } finally {
    await stack.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
