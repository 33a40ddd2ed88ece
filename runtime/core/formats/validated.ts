// The validated zone: one Parquet object per archived file holding the file's valid row versions
// (every row rule applied, duplicates within the file removed), typed, with the version's rank and
// its line. Whatever must look at the whole history reads these, never the CSV again; archive/
// stays the source of truth and `kpi rebuild` writes a missing object again from it.
import { writeParquet, type Column, type ColumnType } from './parquet-writer';
import { importEsm } from './parquet';
import { zstdReady } from './zstd';
import { ARCHIVE_PREFIX, VALIDATED_PREFIX, type Entity } from '../names';
import type { FileVersions } from '../parse/versions';

/** Bumped when the columns change; a reader refuses any other (its objects are rewritten from archive/). */
export const VALIDATED_SCHEMA = '1';
const SCHEMA_KEY = 'kpi.validated.schema';

/** Each entity's columns, in file order. `version_rank` orders versions as SPEC's version order. */
export const VALIDATED_COLUMNS: Record<Entity, readonly (readonly [string, ColumnType])[]> = {
  orders: [
    ['order_id', 'STRING'],
    ['user_id', 'STRING'],
    ['order_day', 'INT64'],
    ['order_returned', 'BOOLEAN'],
    ['line', 'INT64'],
    ['version_rank', 'STRING'],
  ],
  products: [
    ['product_id', 'STRING'],
    ['category', 'STRING'],
    ['line', 'INT64'],
    ['version_rank', 'STRING'],
  ],
  order_items: [
    ['item_id', 'STRING'],
    ['order_id', 'STRING'],
    ['product_id', 'STRING'],
    ['sale_price_cents', 'INT64'],
    ['item_status', 'INT64'],
    ['line', 'INT64'],
    ['version_rank', 'STRING'],
  ],
};

/** archive/<entity>/<name>/<ms>.csv → validated/<entity>/<name>/<ms>.parquet */
export function validatedKey(archiveKey: string): string {
  if (!archiveKey.startsWith(ARCHIVE_PREFIX) || !archiveKey.endsWith('.csv'))
    throw new Error(`not an archive key: ${archiveKey}`);
  return `${VALIDATED_PREFIX}${archiveKey.slice(ARCHIVE_PREFIX.length, -'.csv'.length)}.parquet`;
}

/**
 * A rank as the zone stores it: the state's rank with a space for its NUL (engines differ on NUL
 * in strings). The 13-digit time fixes the separator's place, so string order is unchanged.
 */
export const zoneRank = (rank: string) => rank.replace('\u0000', ' ');

/** The zone's object for one accepted file's versions. */
export async function encodeValidated(v: FileVersions, rank: string, archiveKey: string): Promise<Uint8Array> {
  await zstdReady();
  const r = zoneRank(rank);
  const col = (name: string, values: Column['values'], dictionary = false): Column => {
    const type = VALIDATED_COLUMNS[v.entity].find((c) => c[0] === name)![1];
    return { name, type, values, dictionary };
  };
  const rankCol = (n: number) => col('version_rank', new Array<string>(n).fill(r), true);
  let cols: Column[];
  if (v.entity === 'orders')
    cols = [
      col(
        'order_id',
        v.orders.map((o) => o.id),
      ),
      col(
        'user_id',
        v.orders.map((o) => o.user),
      ),
      col(
        'order_day',
        Float64Array.from(v.orders, (o) => o.day),
      ),
      col(
        'order_returned',
        Uint8Array.from(v.orders, (o) => +o.ret),
      ),
      col(
        'line',
        Float64Array.from(v.orders, (o) => o.line),
      ),
      rankCol(v.orders.length),
    ];
  else if (v.entity === 'products')
    cols = [
      col(
        'product_id',
        v.products.map((p) => p.id),
      ),
      col(
        'category',
        v.products.map((p) => p.cat),
        true,
      ),
      col(
        'line',
        Float64Array.from(v.products, (p) => p.line),
      ),
      rankCol(v.products.length),
    ];
  else
    cols = [
      col(
        'item_id',
        v.items.map((i) => i.id),
      ),
      col(
        'order_id',
        v.items.map((i) => i.order),
      ),
      col(
        'product_id',
        v.items.map((i) => i.product),
      ),
      col(
        'sale_price_cents',
        Float64Array.from(v.items, (i) => i.cents),
      ),
      col(
        'item_status',
        Float64Array.from(v.items, (i) => i.status),
      ),
      col(
        'line',
        Float64Array.from(v.items, (i) => i.line),
      ),
      rankCol(v.items.length),
    ];
  return writeParquet(cols, {
    codec: 'ZSTD',
    statistics: true,
    metadata: { [SCHEMA_KEY]: VALIDATED_SCHEMA, 'kpi.validated.entity': v.entity, 'kpi.archive.key': archiveKey },
  });
}

/** A validated object the history engine cannot use: missing, truncated, or of another schema. */
export class ValidatedObjectError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key}: ${problem}`);
  }
}

interface MetadataReader {
  parquetMetadata(file: ArrayBuffer): {
    num_rows: bigint;
    schema: { name: string; type?: string }[];
    key_value_metadata?: { key: string; value?: string }[];
  };
}

const PHYSICAL: Record<ColumnType, string> = { STRING: 'BYTE_ARRAY', INT64: 'INT64', BOOLEAN: 'BOOLEAN' };

/** Checks an object's footer (the whole object, or at least its tail) and returns its row count. */
export async function checkValidated(key: string, entity: Entity, bytes: Uint8Array): Promise<number> {
  const r = (await importEsm('hyparquet')) as MetadataReader;
  let meta: ReturnType<MetadataReader['parquetMetadata']>;
  try {
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    meta = r.parquetMetadata(buf);
  } catch (err) {
    throw new ValidatedObjectError(key, `not a whole Parquet file (${(err as Error).message}); truncated?`);
  }
  const schema = meta.key_value_metadata?.find((kv) => kv.key === SCHEMA_KEY)?.value;
  if (schema !== VALIDATED_SCHEMA)
    throw new ValidatedObjectError(
      key,
      `validated-zone schema ${schema ?? '(none)'}, this code reads ${VALIDATED_SCHEMA}`,
    );
  const want = VALIDATED_COLUMNS[entity].map(([n, t]) => `${n}:${PHYSICAL[t]}`).join(',');
  const got = meta.schema
    .slice(1)
    .map((c) => `${c.name}:${c.type}`)
    .join(',');
  if (got !== want) throw new ValidatedObjectError(key, `columns ${got}, expected ${want}`);
  return Number(meta.num_rows);
}
