// The curated zone's files: joined items as Apache Parquet (SPEC "Curated zone"), written by our
// minimal writer (parquet-writer.ts) and read with hyparquet: pure JavaScript, no native module
// in the container image.
import { writeParquet, type Column, type Utf8Dict } from './parquet-writer';
import { Interner } from '../join/intern';
import { zstdDecompress, zstdReady } from './zstd';
import type { JoinedRow } from '../join/joined-row';

import { pathToFileURL } from 'node:url';

// hyparquet is an ES module; this CommonJS build loads them with a real dynamic import (a
// plain `import()` would be compiled to require()), by absolute URL so that the working folder
// does not matter.
const dynamicImport = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;
export const importEsm = (pkg: string) => dynamicImport(pathToFileURL(require.resolve(pkg)).href);

interface Reader {
  parquetReadObjects(opts: {
    file: ArrayBuffer;
    compressors?: Record<string, (input: Uint8Array, outputLength: number) => Uint8Array>;
  }): Promise<Record<string, unknown>[]>;
}

/** Column order and Parquet types of the curated zone. order_date is the partition, not a column. */
export const LAKE_COLUMNS = [
  ['item_id', 'STRING'],
  ['order_id', 'STRING'],
  ['user_id', 'STRING'],
  ['product_id', 'STRING'],
  ['category', 'STRING'],
  ['sale_price_cents', 'INT64'],
  ['returned', 'BOOLEAN'],
  ['order_returned', 'BOOLEAN'],
] as const;

/** One day's joined items as columns: key columns are dictionary ids (no string per value). */
export interface LakeColumns {
  item: Int32Array;
  order: Int32Array;
  user: Int32Array;
  product: Int32Array;
  category: Int32Array;
  cents: Float64Array;
  returned: Uint8Array;
  orderReturned: Uint8Array;
}

export interface LakeDicts {
  items: Utf8Dict;
  orders: Utf8Dict;
  users: Utf8Dict;
  products: Utf8Dict;
  categories: Utf8Dict;
}

/** A lake file from columns: the same bytes encodeLakeFile gives for the same rows. */
export function encodeLakeColumns(c: LakeColumns, d: LakeDicts): Uint8Array {
  const source: Record<(typeof LAKE_COLUMNS)[number][0], Pick<Column, 'values' | 'ids' | 'dict'>> = {
    item_id: { ids: c.item, dict: d.items },
    order_id: { ids: c.order, dict: d.orders },
    user_id: { ids: c.user, dict: d.users },
    product_id: { ids: c.product, dict: d.products },
    category: { ids: c.category, dict: d.categories },
    sale_price_cents: { values: c.cents },
    returned: { values: c.returned },
    order_returned: { values: c.orderReturned },
  };
  return writeParquet(
    LAKE_COLUMNS.map(([name, type]) => ({ name, type, dictionary: DICTIONARY_COLUMNS.has(name), ...source[name] })),
    LAKE_WRITE,
  );
}

/**
 * The lake's encoding (issue 20): ZSTD pages (the ids compress well in item_id order), a
 * dictionary for the few categories, min/max statistics so Athena and DuckDB skip files by value.
 * One row group per file: a file is one day, well under Athena's preferred row-group size.
 */
export const LAKE_WRITE = { codec: 'ZSTD', statistics: true } as const;
export const DICTIONARY_COLUMNS = new Set<string>(['category']);

/** Await once before writing lake files (the codec is a WebAssembly module). */
export const lakeCodecReady = zstdReady;

/** Rows as lake columns over dictionaries of their own (the incremental path's few days). */
export function lakeColumnsOf(rows: JoinedRow[]): { cols: LakeColumns; dicts: LakeDicts } {
  const dicts = {
    items: new Interner(),
    orders: new Interner(),
    users: new Interner(),
    products: new Interner(),
    categories: new Interner(),
  };
  const ids = (d: Interner, f: (r: JoinedRow) => string) => Int32Array.from(rows, (r) => d.internString(f(r)));
  const cols: LakeColumns = {
    item: ids(dicts.items, (r) => r.item_id),
    order: ids(dicts.orders, (r) => r.order_id),
    user: ids(dicts.users, (r) => r.user_id),
    product: ids(dicts.products, (r) => r.product_id),
    category: ids(dicts.categories, (r) => r.category),
    cents: Float64Array.from(rows, (r) => r.sale_price_cents),
    returned: Uint8Array.from(rows, (r) => +r.returned),
    orderReturned: Uint8Array.from(rows, (r) => +r.order_returned),
  };
  return { cols, dicts };
}

export async function encodeLakeFile(rows: JoinedRow[]): Promise<Uint8Array> {
  await zstdReady();
  const { cols, dicts } = lakeColumnsOf(rows);
  return encodeLakeColumns(cols, dicts);
}

export async function decodeLakeFile(bytes: Uint8Array): Promise<JoinedRow[]> {
  const r = (await importEsm('hyparquet')) as Reader;
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  await zstdReady();
  const objects = await r.parquetReadObjects({ file, compressors: { ZSTD: (input) => zstdDecompress(input) } });
  return objects.map((o) => ({
    item_id: String(o.item_id),
    order_id: String(o.order_id),
    user_id: String(o.user_id),
    product_id: String(o.product_id),
    category: String(o.category),
    sale_price_cents: Number(o.sale_price_cents),
    returned: o.returned === true,
    order_returned: o.order_returned === true,
  }));
}
