// `kpi compute`: the whole contract on local files, no AWS — csv → rules → join → kernel → KPI rows.
import { readFileChunks } from './parse/csv';
import { entityFiles, isCsvName, noFilesMessage } from './folder';
import { aggregateWasm } from './aggregate/kernel';
import {
  Tables,
  type FileResult,
  type RejectedRow,
  type RowEngine,
  type SizeHint,
  type UnknownMode,
} from './join/join';
import { toKpis, type KpiTables } from './aggregate/kpis';
import { ENTITIES, type Entity } from './names';
import type { Reason } from './parse/rules';

export interface SourceFile {
  entity: Entity;
  name: string;
  size: number;
  /** reuse: the caller is done with each chunk before the next (the source may refill one buffer) */
  open: (reuse?: boolean) => AsyncIterable<Uint8Array>;
}

export interface StageTimes {
  read: number;
  join: number;
  kernel: number;
  output: number;
}

export interface ComputeResult extends KpiTables {
  rejected: Partial<Record<Reason, number>>;
  files: FileResult[];
  held: RejectedRow[];
  times: StageTimes;
  items: number;
  /** the accepted state itself (the curated zone is written from it) */
  tables: Tables;
}

export interface ComputeOptions {
  /** the row stages (csv + rules): the WebAssembly scanner or the TypeScript one (tests compare them) */
  rowEngine?: RowEngine;
  unknownMode?: UnknownMode;
  onReject?: (r: RejectedRow) => void;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

/** Lists DIR/{products,orders,order_items}/*.csv in file name order. */
export function listLocalSources(dir: string): SourceFile[] {
  const files = entityFiles(dir, isCsvName);
  if (!files.length) throw new Error(noFilesMessage(dir, 'no CSV files'));
  return files.map((f) => ({
    entity: f.entity,
    name: `${f.entity}/${f.name}`,
    size: f.size,
    open: (reuse?: boolean) => readFileChunks(f.path, reuse),
  }));
}

/** Reading one source failed with something other than a verdict on its content (S3, or a bug). */
export class SourceFailed extends Error {
  constructor(
    readonly source: string,
    readonly cause: unknown,
  ) {
    super(`${source}: ${(cause as Error)?.message ?? cause}`);
  }
}

/**
 * Rows to size the dictionaries for: each entity's bytes at the row width of its first file's first
 * chunk. UUID ids make rows twice as wide as decimal ones; a fixed width oversized the hash tables
 * 2.4× there, and every slot page of a table is touched (first-touch faults, TLB misses).
 */
async function sizeHint(sources: SourceFile[]): Promise<SizeHint> {
  const rows = async (e: Entity) => {
    const mine = sources.filter((s) => s.entity === e);
    const bytes = mine.reduce((n, s) => n + s.size, 0);
    return Math.ceil((bytes * 1.05) / ((mine.length && (await rowWidth(mine[0]!))) || DEFAULT_ROW_BYTES[e]));
  };
  return { products: await rows('products'), orders: await rows('orders'), items: await rows('order_items') };
}

/** TheLook-shaped rows with decimal ids, when no sample says otherwise. */
const DEFAULT_ROW_BYTES: Record<Entity, number> = { products: 80, orders: 80, order_items: 95 };

/** Bytes per line in the first chunk of a source (0 if it cannot tell: the read will report why). */
async function rowWidth(src: SourceFile): Promise<number> {
  try {
    for await (const chunk of src.open()) {
      let lines = 0;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      return lines >= 8 ? chunk.length / lines : 0;
    }
  } catch {
    // the file's own read meets the same failure and reports it with its name
  }
  return 0;
}

/**
 * Reads and checks every source into accepted state: products, then orders, then items, each in the
 * given version order.
 */
export async function loadTables(
  sources: SourceFile[],
  opts: ComputeOptions = {},
): Promise<{ tables: Tables; files: FileResult[] }> {
  const hint = await sizeHint(sources);
  const tables = new Tables(opts.unknownMode ?? 'reject', opts.onReject, hint, opts.rowEngine);
  const files: FileResult[] = [];
  const total = sources.reduce((s, f) => s + f.size, 0);
  let done = 0;
  const ordered = [...sources].sort((a, b) => ENTITIES.indexOf(a.entity) - ENTITIES.indexOf(b.entity));
  for (const src of ordered) {
    const counting = (reuse?: boolean) =>
      counted(src.open(reuse), (n) => {
        done += n;
        opts.onProgress?.(done, total);
      });
    try {
      files.push(await tables.readFile(src.entity, src.name, counting));
    } catch (err) {
      throw new SourceFailed(src.name, err);
    }
  }
  return { tables, files };
}

/** Applies the contract to sources given in version order (products, orders, then items). */
export async function computeSources(sources: SourceFile[], opts: ComputeOptions = {}): Promise<ComputeResult> {
  const t0 = performance.now();
  const { tables, files } = await loadTables(sources, opts);
  const t1 = performance.now();
  const joined = tables.joinSource();
  const t2 = performance.now();
  const agg = aggregateWasm(joined);
  const t3 = performance.now();
  const kpis = toKpis(agg, tables.categories);
  const t4 = performance.now();
  return {
    ...kpis,
    rejected: tables.rejectedByReason,
    files,
    held: tables.held,
    items: joined.n,
    tables,
    times: { read: t1 - t0, join: t2 - t1, kernel: t3 - t2, output: t4 - t3 },
  };
}

async function* counted(src: AsyncIterable<Uint8Array>, add: (n: number) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of src) {
    add(chunk.length);
    yield chunk;
  }
}

export async function computeDir(dir: string, opts: ComputeOptions = {}): Promise<ComputeResult> {
  return computeSources(listLocalSources(dir), opts);
}
