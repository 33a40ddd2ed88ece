// The curated zone's files: joined items as Apache Parquet (SPEC "Curated zone"), written by our
// minimal writer (parquet-writer.ts) and read with hyparquet: pure JavaScript, no native module
// in the container image.
import { writeParquet } from './parquet-writer';
import type { JoinedRow } from './join';

import { pathToFileURL } from 'node:url';

// hyparquet is an ES module; this CommonJS build loads them with a real dynamic import (a
// plain `import()` would be compiled to require()), by absolute URL so that the working folder
// does not matter.
const dynamicImport = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;
const importEsm = (pkg: string) => dynamicImport(pathToFileURL(require.resolve(pkg)).href);

interface Reader {
  parquetReadObjects(opts: { file: ArrayBuffer }): Promise<Record<string, unknown>[]>;
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

export async function encodeLakeFile(rows: JoinedRow[]): Promise<Uint8Array> {
  return writeParquet(LAKE_COLUMNS.map(([name, type]) => ({ name, type, values: rows.map((r) => r[name]) })));
}

export async function decodeLakeFile(bytes: Uint8Array): Promise<JoinedRow[]> {
  const r = (await importEsm('hyparquet')) as Reader;
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const objects = await r.parquetReadObjects({ file });
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
