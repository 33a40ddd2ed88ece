// The validated zone's objects of a set of archived files, fetched to local disk for the engine and
// checked first: a missing, truncated or other-schema object is a ValidatedObjectError naming it,
// before any SQL runs (so nothing downstream is written from a partial history).
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { checkValidated, validatedKey, ValidatedObjectError, type ValidatedFile } from '../core/formats/validated';
import { inPool } from '../core/pool';

import type { ArchivedVersion } from '../core/layout';
import type { Bucket } from '../aws/s3store';
import type { ZoneFiles } from './duckdb';

/** Footers are small; the tail read for the check. */
const TAIL = 1 << 20;

/** Downloads the zone object of every version into `dir` (in flight: 16), checks each, returns the files. */
export async function fetchZone(
  bucket: Bucket,
  versions: readonly ArchivedVersion[],
  dir: string,
  onProgress?: (done: number, total: number) => void,
): Promise<{ files: ZoneFiles; meta: ValidatedFile[] }> {
  const files: ZoneFiles = { orders: [], products: [], order_items: [] };
  const meta: ValidatedFile[] = new Array(versions.length);
  const local = versions.map((_, i) => path.join(dir, `${i}.parquet`));
  let done = 0;
  await inPool(versions, 16, async (v, i) => {
    meta[i] = await fetchValidated(bucket, v, local[i]!);
    onProgress?.(++done, versions.length);
  });
  versions.forEach((v, i) => files[v.entity].push(local[i]!));
  return { files, meta };
}

/** One version's zone object, downloaded to `file` and checked: a ValidatedObjectError if missing or unreadable. */
export async function fetchValidated(bucket: Bucket, v: ArchivedVersion, file: string): Promise<ValidatedFile> {
  const key = validatedKey(v.key);
  if (!(await bucket.download(key, file)))
    throw new ValidatedObjectError(
      key,
      `missing (the validated object of ${v.key}); kpi rebuild writes it again from archive/`,
    );
  return checkValidated(key, v.entity, tail(file));
}

function tail(file: string): Uint8Array {
  const size = statSync(file).size;
  const n = Math.min(size, TAIL);
  const buf = Buffer.alloc(n);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, n, size - n);
  } finally {
    closeSync(fd);
  }
  return buf;
}
