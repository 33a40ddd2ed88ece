// The state index: a log-structured merge of immutable runs in S3 (state/index/). A transform adds
// one run holding what it changed; a look-up reads the newest run first and stops at the first run
// holding the key, fetching only the blocks that can hold it (byte-range GETs). Runs are merged in
// the background of a transform so there are O(log n) of them. Runs never change once written,
// so their indexes and blocks are cached by name.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  blockOf,
  cmp,
  decodeBlock,
  decodeIndex,
  encodeRun,
  findIn,
  RunWriter,
  type Rec,
  type RunIndex,
} from './runfile';
import { hashKey } from './bloom';
import { STATE_PREFIX } from '../core/names';
import { inPool } from '../core/pool';
import type { Bucket } from '../aws/s3store';

export const INDEX_PREFIX = `${STATE_PREFIX}index/`;

export interface RunRef {
  name: string;
  bytes: number;
  indexAt: number;
  records: number;
  minKey: string;
  maxKey: string;
}

/** Block reads in flight at once. */
const IN_FLIGHT = 16;
/** Contiguous blocks are fetched in one GET up to this size. */
const COALESCE_BYTES = 1 << 20;
const BLOCK_CACHE = 20000;
/** Run indexes kept: more than the at most 12 live runs, so merges do not evict live ones. */
const INDEX_CACHE = 64;

const indexCache = new Map<string, RunIndex>();
const blockCache = new Map<string, Rec[]>();

/** Oldest entry out first: runs merged away are never asked for again. */
function remember<V>(cache: Map<string, V>, max: number, k: string, v: V): void {
  if (cache.size >= max) cache.delete(cache.keys().next().value!);
  cache.set(k, v);
}

export class KeyIndex {
  /** Records fetched from S3 by the last calls (for the cost figures in logs and tests). */
  blocksRead = 0;
  bytesRead = 0;
  /** (key, run) pairs a Bloom filter ruled out: block reads saved, at most one each */
  bloomSkips = 0;

  /** runs: newest first */
  constructor(
    private readonly bucket: Bucket,
    readonly runs: RunRef[],
  ) {}

  private async index(run: RunRef): Promise<RunIndex> {
    let ix = indexCache.get(run.name);
    if (!ix) {
      const b = await this.bucket.readRange(INDEX_PREFIX + run.name, run.indexAt, run.bytes - run.indexAt);
      this.bytesRead += b.length;
      ix = decodeIndex(b);
      remember(indexCache, INDEX_CACHE, run.name, ix);
    }
    return ix;
  }

  /** Decoded blocks `ids` of a run (cached), contiguous ones fetched together. */
  private async blocks(run: RunRef, ix: RunIndex, ids: number[]): Promise<Map<number, Rec[]>> {
    const out = new Map<number, Rec[]>();
    const missing: number[] = [];
    for (const id of ids) {
      const c = blockCache.get(`${run.name}#${id}`);
      if (c) out.set(id, c);
      else missing.push(id);
    }
    const ranges: number[][] = [];
    for (const id of missing) {
      const last = ranges.at(-1);
      const prev = last?.at(-1);
      if (last && prev === id - 1 && ix.blocks[id]![1] + ix.blocks[id]![2] - ix.blocks[last[0]!]![1] <= COALESCE_BYTES)
        last.push(id);
      else ranges.push([id]);
    }
    await inPool(ranges, IN_FLIGHT, async (r) => {
      const start = ix.blocks[r[0]!]![1];
      const end = ix.blocks[r.at(-1)!]![1] + ix.blocks[r.at(-1)!]![2];
      const b = await this.bucket.readRange(INDEX_PREFIX + run.name, start, end - start);
      this.blocksRead += r.length;
      this.bytesRead += b.length;
      for (const id of r) {
        const [, off, len] = ix.blocks[id]!;
        const recs = decodeBlock(b.subarray(off - start, off - start + len), ix);
        remember(blockCache, BLOCK_CACHE, `${run.name}#${id}`, recs);
        out.set(id, recs);
      }
    });
    return out;
  }

  /** The current record of each key that has one (deleted keys are absent). */
  async get(keys: Iterable<string>): Promise<Map<string, Rec>> {
    const found = new Map<string, Rec>();
    let todo = [...new Set(keys)].sort(cmp);
    const hashes = new Map(todo.map((k) => [k, hashKey(k)]));
    for (const run of this.runs) {
      if (!todo.length) break;
      let inRange = todo.filter((k) => k >= run.minKey && k <= run.maxKey);
      if (!inRange.length) continue;
      const ix = await this.index(run);
      const bloom = ix.bloom;
      if (bloom) {
        const before = inRange.length;
        inRange = inRange.filter((k) => bloom.mayHold(hashes.get(k)!));
        this.bloomSkips += before - inRange.length;
      }
      const byBlock = new Map<number, string[]>();
      for (const k of inRange) {
        const b = blockOf(ix, k);
        if (b >= 0) (byBlock.get(b) ?? byBlock.set(b, []).get(b)!).push(k);
      }
      const blocks = await this.blocks(run, ix, [...byBlock.keys()]);
      const done = new Set<string>();
      for (const [b, ks] of byBlock) {
        for (const k of ks) {
          const r = findIn(blocks.get(b)!, k);
          if (r) {
            done.add(k);
            if (r.val !== null) found.set(k, r);
          }
        }
      }
      if (done.size) todo = todo.filter((k) => !done.has(k));
    }
    return found;
  }

  /** Every current record whose key starts with `pfx`, in key order. */
  async scan(pfx: string): Promise<Rec[]> {
    const seen = new Map<string, Rec>();
    for (const run of this.runs) {
      if (!mayHold(run, pfx)) continue;
      const ix = await this.index(run);
      const first = Math.max(0, blockOf(ix, pfx));
      const ids: number[] = [];
      for (let b = first; b < ix.blocks.length && !pastPrefix(ix.blocks[b]![0], pfx); b++) ids.push(b);
      const blocks = await this.blocks(run, ix, ids);
      for (const id of ids) {
        for (const r of blocks.get(id)!) if (r.key.startsWith(pfx) && !seen.has(r.key)) seen.set(r.key, r);
      }
    }
    return [...seen.values()].filter((r) => r.val !== null).sort((a, b) => cmp(a.key, b.key));
  }

  /**
   * The same records as scan, streamed: the runs are read side by side a few MB at a time and merged,
   * so memory does not grow with how many records match (scan holds them all, and caches blocks).
   */
  async *scanEach(pfx: string): AsyncGenerator<Rec> {
    const runs = this.runs.filter((r) => mayHold(r, pfx));
    for await (const r of newestOf(runs.map((run) => scanRun(this.bucket, run, pfx)))) if (r.val !== null) yield r;
  }
}

/** Whether a run's key range can hold a key starting with pfx. */
const mayHold = (run: RunRef, pfx: string) => !(run.maxKey < pfx || run.minKey > pfx + '\uffff');

/** Whether a block whose first key is `first` (and every later one) is past the keys starting with pfx. */
const pastPrefix = (first: string, pfx: string) => pfx !== '' && first > pfx && !first.startsWith(pfx);

/** Writes sorted records as a new run (in memory when small; through a temp file when large). */
export async function writeRun(bucket: Bucket, recs: Rec[]): Promise<RunRef> {
  if (recs.length > 100_000) return writeRunFile(bucket, recs, recs.length);
  const name = `${Date.now().toString(36)}-${randomUUID()}.run`;
  const r = encodeRun(recs);
  await bucket.put(INDEX_PREFIX + name, r.bytes, { contentType: 'application/octet-stream' });
  return { name, bytes: r.bytes.length, indexAt: r.indexAt, records: r.records, minKey: r.minKey, maxKey: r.maxKey };
}

/**
 * A run's records block after block, a few MB per GET: all of them, or those whose key starts with
 * `pfx` (from the first block that can hold one). Nothing is held but the current GET.
 */
async function* scanRun(bucket: Bucket, run: RunRef, pfx = ''): AsyncGenerator<Rec> {
  const ix =
    indexCache.get(run.name) ??
    decodeIndex(await bucket.readRange(INDEX_PREFIX + run.name, run.indexAt, run.bytes - run.indexAt));
  const STEP = 4 << 20;
  const past = (b: number) => pastPrefix(ix.blocks[b]![0], pfx);
  for (let b = Math.max(0, blockOf(ix, pfx)); b < ix.blocks.length && !past(b);) {
    const start = ix.blocks[b]![1];
    let e = b;
    while (e + 1 < ix.blocks.length && !past(e + 1) && ix.blocks[e + 1]![1] + ix.blocks[e + 1]![2] - start <= STEP) e++;
    const end = ix.blocks[e]![1] + ix.blocks[e]![2];
    const buf = await bucket.readRange(INDEX_PREFIX + run.name, start, end - start);
    for (let i = b; i <= e; i++) {
      const [, off, len] = ix.blocks[i]!;
      for (const r of decodeBlock(buf.subarray(off - start, off - start + len), ix)) if (r.key.startsWith(pfx)) yield r;
    }
    b = e + 1;
  }
}

/** Sorted streams of runs (newest first) as one sorted stream: for each key the newest record. */
async function* newestOf(its: AsyncIterator<Rec>[]): AsyncGenerator<Rec> {
  const heads: (Rec | undefined)[] = await Promise.all(
    its.map(async (it) => (await it.next()).value as Rec | undefined),
  );
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h && (best < 0 || h.key < heads[best]!.key)) best = i;
    }
    if (best < 0) return;
    const win = heads[best]!;
    for (let i = 0; i < heads.length; i++) {
      if (heads[i]?.key === win.key) heads[i] = (await its[i]!.next()).value as Rec | undefined;
    }
    yield win;
  }
}

/**
 * Merges runs (newest first) into one: for each key the newest record wins. When the merge includes
 * the oldest run, deletions have nothing left to hide and are dropped. Streams through a temp file,
 * so memory stays a few blocks per run whatever their size.
 */
export async function mergeRuns(bucket: Bucket, runs: RunRef[], dropDeletes: boolean): Promise<RunRef> {
  async function* merged(): AsyncGenerator<Rec> {
    for await (const r of newestOf(runs.map((run) => scanRun(bucket, run))))
      if (r.val !== null || !dropDeletes) yield r;
  }
  return writeRunFile(
    bucket,
    merged(),
    runs.reduce((n, r) => n + r.records, 0),
  );
}

/**
 * Writes records (sorted) as a run through a temp file: memory stays a block whatever the size.
 * `recs` may also be a function that adds them to the writer itself, yielding now and then.
 */
export async function writeRunFile(
  bucket: Bucket,
  recs: Iterable<Rec> | AsyncIterable<Rec> | ((w: RunWriter) => Iterable<void>),
  /** at most this many records, when known (sizes the Bloom filter without keeping every hash) */
  expectedKeys?: number,
): Promise<RunRef> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-run-'));
  const file = path.join(dir, 'run');
  const ws = createWriteStream(file);
  const w = new RunWriter((c) => void ws.write(c), expectedKeys);
  try {
    let n = 0;
    const drain = () => new Promise<void>((res) => ws.once('drain', () => res()));
    // Let the file stream drain now and then: the writer's chunks are small. A plain for-of over a
    // synchronous source: `for await` would cost a promise per record.
    if (Symbol.asyncIterator in recs) {
      for await (const r of recs) {
        w.add(r);
        if (++n % 50000 === 0 && ws.writableNeedDrain) await drain();
      }
    } else {
      // A synchronous source adds its records itself (or is added record by record), yielding now
      // and then even when the file keeps up: the lease renewal timer must get to run.
      const fill =
        typeof recs === 'function'
          ? recs
          : function* (writer: RunWriter): Generator<void> {
              for (const r of recs) {
                writer.add(r);
                if (++n % 50000 === 0) yield;
              }
            };
      for (const _ of fill(w)) await (ws.writableNeedDrain ? drain() : new Promise<void>((res) => setImmediate(res)));
    }
    const end = w.end();
    await new Promise<void>((res, rej) => ws.end((err?: Error | null) => (err ? rej(err) : res())));
    const name = `${Date.now().toString(36)}-${randomUUID()}.run`;
    await bucket.putFile(INDEX_PREFIX + name, file, { contentType: 'application/octet-stream' });
    return { name, bytes: end.bytes, indexAt: end.indexAt, records: w.records, minKey: w.minKey, maxKey: w.maxKey };
  } finally {
    ws.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Which runs to merge (newest first): the newest ones while the runs merged so far hold at least
 * half as many bytes as the next older one — sizes then grow geometrically, so a key is rewritten
 * O(log n) times and a look-up visits O(log n) runs. At most 12 runs are left in any case.
 */
export function mergePlan(runs: RunRef[]): number {
  let k = 1;
  let sum = runs[0]?.bytes ?? 0;
  while (k < runs.length && sum * 2 >= runs[k]!.bytes) sum += runs[k++]!.bytes;
  if (k < 2 && runs.length > 12) k = runs.length - 11;
  return k >= 2 ? k : 0;
}
