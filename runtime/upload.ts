// `kpi upload DIR`: DIR/{orders,order_items,products}/*.csv → ecommerce-data/<entity>/<file>.
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ENTITIES, LANDING_PREFIX } from './names';
import type { Bucket } from './s3store';

export interface UploadItem {
  file: string;
  key: string;
  size: number;
}

export function planUpload(dir: string): UploadItem[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: not a directory`);
  const out: UploadItem[] = [];
  for (const entity of ENTITIES) {
    const sub = path.join(dir, entity);
    if (!existsSync(sub)) continue;
    for (const name of readdirSync(sub).sort()) {
      const file = path.join(sub, name);
      if (!statSync(file).isFile() || name.startsWith('.')) continue;
      out.push({ file, key: `${LANDING_PREFIX}${entity}/${name}`, size: statSync(file).size });
    }
  }
  if (!out.length) throw new Error(`${dir}: nothing to upload (expected files under ${ENTITIES.map((e) => `${e}/`).join(', ')})`);
  return out;
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
