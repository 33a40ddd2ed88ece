// The validated zone: one Parquet object per archived file holding the file's valid row versions
// (every row rule applied, duplicates within the file removed), typed, with the version's rank and
// its line. Whatever must look at the whole history reads these, never the CSV again; archive/
// stays the source of truth and `kpi rebuild` writes a missing object again from it.
import { writeParquet, type Column, type ColumnType } from './parquet-writer';
import { importEsm } from './parquet';
import { zstdReady } from './zstd';
import { ARCHIVE_PREFIX, VALIDATED_PREFIX, type Entity } from '../names';
import type { FileVersions } from '../parse/versions';
import type { Reason } from '../parse/rules';

/** Bumped when the columns change; a reader refuses any other (its objects are rewritten from archive/). */
export const VALIDATED_SCHEMA = '1';
const SCHEMA_KEY = 'kpi.validated.schema';
const ROWS_KEY = 'kpi.file.rows';
const REJECTED_KEY = 'kpi.file.rejected';

/** What a zone object says of its file besides its versions. */
export interface ValidatedFile {
  /** rows read, valid or not */
  rows: number;
  /** valid versions in the object */
  versions: number;
  rejected: Partial<Record<Reason, number>>;
}

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

/** Each column's values of a file's versions (version_rank aside: one value for the file). */
function valuesOf(v: FileVersions): Record<string, Column['values']> {
  const num = <T>(xs: T[], f: (x: T) => number) => {
    const out = new Float64Array(xs.length); // a loop: Float64Array.from with a mapper is several times slower
    for (let i = 0; i < xs.length; i++) out[i] = f(xs[i]!);
    return out;
  };
  if (v.entity === 'orders') {
    const o = v.orders;
    return {
      order_id: o.map((x) => x.id),
      user_id: o.map((x) => x.user),
      order_day: num(o, (x) => x.day),
      order_returned: Uint8Array.from(o, (x) => +x.ret),
      line: num(o, (x) => x.line),
    };
  }
  if (v.entity === 'products') {
    const p = v.products;
    return { product_id: p.map((x) => x.id), category: p.map((x) => x.cat), line: num(p, (x) => x.line) };
  }
  const i = v.items;
  return {
    item_id: i.map((x) => x.id),
    order_id: i.map((x) => x.order),
    product_id: i.map((x) => x.product),
    sale_price_cents: num(i, (x) => x.cents),
    item_status: num(i, (x) => x.status),
    line: num(i, (x) => x.line),
  };
}

/** Columns with few distinct values: a dictionary page and indices. */
const DICTIONARY = new Set(['category', 'version_rank']);

/** The zone's object for one accepted file's versions. */
export async function encodeValidated(v: FileVersions, rank: string, archiveKey: string): Promise<Uint8Array> {
  await zstdReady();
  const values = valuesOf(v);
  const n = (v.entity === 'orders' ? v.orders : v.entity === 'products' ? v.products : v.items).length;
  values.version_rank = new Array<string>(n).fill(zoneRank(rank));
  const cols: Column[] = VALIDATED_COLUMNS[v.entity].map(([name, type]) => ({
    name,
    type,
    values: values[name],
    dictionary: DICTIONARY.has(name),
  }));
  return writeParquet(cols, {
    codec: 'ZSTD',
    statistics: true,
    metadata: {
      [SCHEMA_KEY]: VALIDATED_SCHEMA,
      'kpi.validated.entity': v.entity,
      'kpi.archive.key': archiveKey,
      // the file's figures the state keeps (every row read; the rejected ones by reason)
      [ROWS_KEY]: String(v.rows),
      [REJECTED_KEY]: JSON.stringify(v.rejected),
    },
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

/** Checks an object's footer (the whole object, or at least its tail) and returns what it says. */
export async function checkValidated(key: string, entity: Entity, bytes: Uint8Array): Promise<ValidatedFile> {
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
  const kv = new Map(meta.key_value_metadata?.map((e) => [e.key, e.value ?? '']));
  return {
    rows: Number(kv.get(ROWS_KEY) ?? 0),
    versions: Number(meta.num_rows),
    rejected: JSON.parse(kv.get(REJECTED_KEY) ?? '{}') as ValidatedFile['rejected'],
  };
}
