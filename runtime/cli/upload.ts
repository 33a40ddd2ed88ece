// `kpi upload DIR`: DIR/{orders,order_items,products}/*.csv → ecommerce-data/<entity>/<file>.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { entityFiles, isCsvName, noFilesMessage } from '../core/folder';
import { LANDING_PREFIX } from '../core/names';
import type { Bucket } from '../aws/s3store';

export interface UploadItem {
  file: string;
  key: string;
  size: number;
}

/** The *.csv files of the entity folders; `skipped` gets the others (named, never silently left out). */
export function planUpload(dir: string, skipped: string[] = []): UploadItem[] {
  const files = entityFiles(dir, (name) => !name.startsWith('.'));
  for (const f of files) if (!isCsvName(f.name)) skipped.push(`${f.entity}/${f.name}`);
  const csv = files.filter((f) => isCsvName(f.name));
  if (!csv.length) throw new Error(noFilesMessage(dir, 'no CSV files to upload'));
  return csv.map((f) => ({ file: f.path, key: `${LANDING_PREFIX}${f.entity}/${f.name}`, size: f.size }));
}

export const skippedMessage = (skipped: string[]) =>
  `kpi: skipped ${skipped.length} file(s) that are not *.csv, as kpi compute does: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', ...' : ''}`;

/**
 * Uploads the files, those of one entity folder one after another in the order given (file name
 * order from planUpload), the folders side by side. Later upload wins (SPEC), and S3 orders
 * uploads of the same second by key: one at a time per folder, each file's upload time is at
 * least the previous one's, so the pipeline applies a folder's files in the same order as
 * kpi compute does (regression: a large part file finishing after its small corrections file).
 */
export async function upload(
  bucket: Bucket,
  items: UploadItem[],
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const total = items.reduce((s, i) => s + i.size, 0);
  let done = 0;
  const byFolder = new Map<string, UploadItem[]>();
  for (const it of items) {
    const folder = it.key.slice(0, it.key.lastIndexOf('/') + 1);
    (byFolder.get(folder) ?? byFolder.set(folder, []).get(folder)!).push(it);
  }
  const worker = async (queue: UploadItem[]) => {
    for (const it of queue) {
      // A buffer can be re-sent when the SDK retries (throttling, dropped connections); a stream cannot,
      // so only files too big to hold are streamed.
      const body = it.size > 256 << 20 ? createReadStream(it.file) : await readFile(it.file);
      await bucket.put(it.key, body, { length: it.size });
      done += it.size;
      onProgress?.(done, total);
    }
  };
  await Promise.all([...byFolder.values()].map(worker));
}
