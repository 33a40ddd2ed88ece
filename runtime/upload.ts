// `kpi upload DIR`: DIR/{orders,order_items,products}/*.csv → ecommerce-data/<entity>/<file>.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { entityFiles, noFilesMessage } from './folder';
import { LANDING_PREFIX } from './names';
import type { Bucket } from './s3store';

export interface UploadItem {
  file: string;
  key: string;
  size: number;
}

/** Every file of the entity folders (not only *.csv: what is not CSV is rejected to err/, never skipped). */
export function planUpload(dir: string): UploadItem[] {
  const files = entityFiles(dir, (name) => !name.startsWith('.'));
  if (!files.length) throw new Error(noFilesMessage(dir, 'nothing to upload'));
  return files.map((f) => ({ file: f.path, key: `${LANDING_PREFIX}${f.entity}/${f.name}`, size: f.size }));
}

export async function upload(bucket: Bucket, items: UploadItem[], onProgress?: (done: number, total: number) => void, concurrency = 4): Promise<void> {
  const total = items.reduce((s, i) => s + i.size, 0);
  let done = 0;
  const queue = [...items];
  const worker = async () => {
    for (let it = queue.shift(); it; it = queue.shift()) {
      // A buffer can be re-sent when the SDK retries (throttling, dropped connections); a stream cannot,
      // so only files too big to hold are streamed.
      const body = it.size > 256 << 20 ? createReadStream(it.file) : await readFile(it.file);
      await bucket.put(it.key, body, { length: it.size });
      done += it.size;
      onProgress?.(done, total);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
