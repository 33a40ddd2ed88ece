// Stores, S3 side: streaming reads into the parser, puts, copies and deletes, all paginated and idempotent.
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface ObjectInfo {
  key: string;
  lastModified: number;
  etag: string;
  size: number;
  /** set when the bucket has versioning on */
  versionId?: string;
  metadata?: Record<string, string>;
}

/** One version of an object, saved to a local file: exactly the bytes the pipeline then works on. */
export interface Downloaded extends ObjectInfo {
  file: string;
  sha256: string;
}

/** Files up to this size are sent from memory, so that the SDK can resend them on a retry. */
const RESENDABLE = 256 << 20;

export class Bucket {
  constructor(
    readonly s3: S3Client,
    readonly name: string,
  ) {}

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const r = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) {
        out.push({ key: o.Key!, lastModified: o.LastModified?.getTime() ?? 0, etag: o.ETag ?? '', size: o.Size ?? 0 });
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const r = await this.s3.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return {
        key,
        lastModified: r.LastModified?.getTime() ?? 0,
        etag: r.ETag ?? '',
        size: r.ContentLength ?? 0,
        versionId: r.VersionId,
        metadata: r.Metadata,
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** The object's bytes as a stream of chunks (never the whole object in memory). */
  async *read(key: string): AsyncIterable<Uint8Array> {
    const r = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
    for await (const chunk of r.Body as Readable) yield chunk as Uint8Array;
  }

  /** A whole (small) object's bytes: a lake day, a commit record. */
  async readBytes(key: string): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    for await (const c of this.read(key)) chunks.push(c);
    return Buffer.concat(chunks);
  }

  /** Bytes [start, start + length) of an object, in one request (the state index's block reads). */
  async readRange(key: string, start: number, length: number): Promise<Buffer> {
    const r = await this.s3.send(
      new GetObjectCommand({ Bucket: this.name, Key: key, Range: `bytes=${start}-${start + length - 1}` }),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of r.Body as Readable) chunks.push(chunk as Buffer);
    const b = Buffer.concat(chunks);
    if (b.length !== length) throw new Error(`short read of ${key} at ${start}: ${b.length} of ${length} bytes`);
    return b;
  }

  /**
   * Saves one version of an object to `file` (the current one, or `versionId`), hashing it on the
   * way: its LastModified, ETag and VersionId come from the same response as the bytes, so they
   * describe exactly what was read. Null when the object (or that version) no longer exists.
   */
  async download(key: string, file: string, versionId?: string): Promise<Downloaded | null> {
    let r;
    try {
      r = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key, VersionId: versionId }));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(r.Body as Readable, tap, createWriteStream(file));
    if (r.ContentLength !== undefined && size !== r.ContentLength)
      throw new Error(`short read of ${key}: ${size} of ${r.ContentLength} bytes`);
    return {
      key,
      file,
      size,
      sha256: hash.digest('hex'),
      lastModified: r.LastModified?.getTime() ?? 0,
      etag: r.ETag ?? '',
      versionId: r.VersionId,
      metadata: r.Metadata,
    };
  }

  /** A small object as text (a JSON summary), or null when it does not exist. */
  async readText(key: string): Promise<string | null> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      return (await r.Body?.transformToString('utf8')) ?? null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Uploads a local file's bytes unchanged. */
  async putFile(
    key: string,
    file: string,
    extra: { contentType?: string; metadata?: Record<string, string> } = {},
  ): Promise<void> {
    const { size } = await stat(file);
    const body = size > RESENDABLE ? createReadStream(file) : await readFile(file);
    await this.put(key, body, { ...extra, length: size });
  }

  /** Deletes exactly one version: never a newer upload of the same key. */
  async deleteVersion(key: string, versionId: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.name, Key: key, VersionId: versionId }));
  }

  async put(
    key: string,
    body: string | Uint8Array | Readable,
    extra: { contentType?: string; metadata?: Record<string, string>; length?: number } = {},
  ): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.name,
        Key: key,
        Body: body,
        ContentType: extra.contentType ?? 'text/csv',
        Metadata: extra.metadata,
        ContentLength: extra.length,
      }),
    );
  }

  /** Server-side copy (nothing passes through the task). */
  async copy(from: string, to: string, metadata?: Record<string, string>): Promise<void> {
    try {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: this.name,
          Key: to,
          CopySource: `${this.name}/${from.split('/').map(encodeURIComponent).join('/')}`,
          ...(metadata ? { Metadata: metadata, MetadataDirective: 'REPLACE', ContentType: 'text/csv' } : {}),
        }),
      );
    } catch (err) {
      // Some S3-compatible servers (s3rver) decode '+' in a copy source as a space and miss the
      // object; it exists (the caller just read it), so copy it through the client instead.
      if (!isNotFound(err) || !(await this.head(from))) throw err;
      const chunks: Uint8Array[] = [];
      for await (const c of this.read(from)) chunks.push(c);
      await this.put(to, Buffer.concat(chunks), { metadata });
    }
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.name, Key: key }));
  }
}

/**
 * A missing object. S3 answers 404 only to a caller allowed s3:ListBucket on the whole bucket; the
 * task roles list their own prefixes only, so a GET or HEAD of a missing key gets 403 AccessDenied
 * (AWS docs, GetObject and HeadObject "Permissions"). Every object the pipeline reads is under a
 * prefix its role may read (the IAM test checks each call), so there a 403 means "not there".
 */
export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  return (
    e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.name === 'NoSuchVersion' || status === 404 || status === 403
  );
}

/** S3 user metadata travels in HTTP headers, which take ASCII only: values are URI-encoded. */
export const metaValue = (v: string) => encodeURIComponent(v);
