// Hardening of s3rver's file store so that the local stack keeps S3's guarantees that the pipeline
// relies on (each found by adversarial tests, see test/regressions/):
// - keys are literal: "a/../b" and "a//b" are their own keys, never another key's file (s3rver
//   joins key segments into a path, so ".." walked out of the folder and "//" collapsed);
// - a PUT replaces an object atomically: a GET that has started keeps reading the bytes it
//   started on, and metadata always belongs to the bytes served (s3rver truncated the file in place);
// - a failed write is an error response, never an unhandled stream error that kills the process.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** s3rver appends "._S3rver_metadata.json" (22 bytes) to the last segment; file names stop at 255 bytes. */
export const MAX_LOCAL_SEGMENT_BYTES = 255 - 22;

interface StoreObject {
  bucket: string;
  key: string;
  content: NodeJS.ReadableStream | Buffer;
  metadata: Record<string, string>;
}

interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
  getObject(bucket: string, key: string, options?: unknown): Promise<unknown>;
  putObject(object: StoreObject): Promise<{ size: number; md5: string }>;
}

interface StoreClass {
  encodeKeyPath(key: string): string;
  decodeKeyPath(keyPath: string): string;
}

/** Segments a path join would reinterpret ("." "..", empty) and '&' itself, escaped as &xx. */
export function encodeKeyPath(key: string): string {
  const parts = key.split('/');
  return parts
    .map((seg, i) => {
      const s = seg.replace(/&/g, '&26');
      if (i === parts.length - 1) return s; // the last part is a file-name prefix, or '' for a prefix
      if (s === '') return '&00';
      if (s === '.' || s === '..') return s.replace(/\./g, '&2e');
      return s;
    })
    .join('/');
}

export function decodeKeyPath(keyPath: string): string {
  return keyPath
    .split('/')
    .map((seg) =>
      seg === '&00' ? '' : seg.replace(/&([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    )
    .join('/');
}

/** The first segment of a key too long for the local file store, or null. */
export function tooLongSegment(key: string): string | null {
  for (const seg of encodeKeyPath(key).split('/')) if (Buffer.byteLength(seg) > MAX_LOCAL_SEGMENT_BYTES) return seg;
  return null;
}

export function hardenStore(store: FilesystemStore): void {
  const cls = store.constructor as unknown as StoreClass;
  cls.encodeKeyPath = encodeKeyPath;
  cls.decodeKeyPath = decodeKeyPath;

  // Publishing a new version (rename + metadata) and opening a read (metadata + open) exclude each
  // other per key, so a reader always gets one version's bytes with that version's metadata.
  const locks = new Map<string, Promise<unknown>>();
  const exclusive = async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (locks.get(id) === tail) locks.delete(id);
    }
  };

  const getObject = store.getObject.bind(store);
  store.getObject = (bucket, key, options) => exclusive(`${bucket}/${key}`, () => getObject(bucket, key, options));

  store.putObject = async (object) => {
    const target = store.getResourcePath(object.bucket, object.key, 'object');
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    const md5 = createHash('md5');
    let size = 0;
    try {
      const count = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          md5.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      const source = Buffer.isBuffer(object.content) ? [object.content] : object.content;
      await pipeline(source as NodeJS.ReadableStream, count, createWriteStream(tmp));
      const digest = md5.digest('hex');
      await exclusive(`${object.bucket}/${object.key}`, async () => {
        await fsp.rename(tmp, target);
        await store.putMetadata(object.bucket, object.key, object.metadata, digest);
      });
      return { size, md5: digest };
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  };
}
