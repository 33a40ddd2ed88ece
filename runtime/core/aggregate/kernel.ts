// Stage 4 — joined items → aggregates, in the AssemblyScript kernel (assembly/kernel.ts).
// The runtime copies bounded chunks of typed columns into the module's linear memory.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Aggregates } from './aggregates';
import { arraySource, type JoinSource, type Joined } from '../join/join';

/** Column addresses the module exports by name (globals set by init). */
type ColumnName =
  | 'inCat'
  | 'inDay'
  | 'inOrder'
  | 'inUser'
  | 'inCents'
  | 'inFlags'
  | 'gCat'
  | 'gDay'
  | 'gCents'
  | 'gItems'
  | 'gReturned'
  | 'gOrders'
  | 'dDay'
  | 'dCents'
  | 'dItems'
  | 'dOrders'
  | 'dUsers'
  | 'dReturnedOrders';

type KernelExports = {
  memory: WebAssembly.Memory;
  INIT_OK: WebAssembly.Global;
  INIT_OUT_OF_MEMORY: WebAssembly.Global;
  init(chunk: number, nCats: number, nUsers: number, maxGroups: number, maxDays: number): number;
  process(from: number, to: number): void;
  groupCount(): number;
  dayCount(): number;
} & Record<ColumnName, WebAssembly.Global>;

/** release: -O3, asserts off (the default); debug: asserts on, with a .wat beside it (tests). */
export type KernelBuild = 'release' | 'debug';

/** The tables the kernel needs do not fit in its linear memory (4 GiB in wasm32). */
export class KernelOutOfMemory extends Error {}

const compiled: Partial<Record<KernelBuild, WebAssembly.Module>> = {};

function module(build: KernelBuild): WebAssembly.Module {
  const file = path.join(
    __dirname,
    '..',
    '..',
    '..',
    'assembly',
    build === 'debug' ? 'kernel.debug.wasm' : 'kernel.wasm',
  );
  return (compiled[build] ??= new WebAssembly.Module(readFileSync(file)));
}

/** Items per kernel call: large, since each chunk is one pass of the join's scatter over all orders. */
export const CHUNK = 1 << 20;
/** Items per call into the module. */
const CALL = 1 << 14;

const WASM32_BYTES = 2 ** 32;

/**
 * What init allocates (assembly/kernel.ts), so that a request past wasm32's 4 GiB fails with a message,
 * not a wrapped address.
 */
export function kernelBytes(chunk: number, nCats: number, nUsers: number, maxGroups: number, maxDays: number): number {
  const pow2 = (n: number) => Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(1, n))));
  return (
    chunk * 25 +
    pow2(maxGroups * 2) * 4 +
    maxGroups * 28 +
    pow2(maxDays * 2) * 4 +
    maxDays * 28 +
    nCats * 12 +
    nUsers * 4
  );
}

/**
 * Aggregates joined items in the WASM kernel. The source writes each chunk straight into the
 * module's input columns. Whole arrays must be ordered by (day, order), as the join emits them.
 */
export function aggregateWasm(
  input: JoinSource | Pick<Joined, 'n' | 'cat' | 'day' | 'order' | 'user' | 'cents' | 'flags'>,
  chunk = CHUNK,
  build: KernelBuild = 'release',
): Aggregates {
  const src: JoinSource = 'forEachChunk' in input ? input : arraySource(input);
  // A small input (one day of the incremental path) needs no 25 MB of input columns.
  chunk = Math.max(1, Math.min(chunk, src.n));
  const k = new WebAssembly.Instance(module(build), {}).exports as unknown as KernelExports;
  const maxDays = Math.max(1, src.days);
  const maxGroups = Math.max(1, Math.min(src.n, src.nCats * maxDays));
  const bytes = kernelBytes(chunk, Math.max(1, src.nCats), Math.max(1, src.nUsers), maxGroups, maxDays);
  if (bytes > WASM32_BYTES)
    throw new KernelOutOfMemory(
      `the KPI kernel would need ${(bytes / 2 ** 30).toFixed(1)} GiB for ${maxGroups} (category, day) groups, ${maxDays} days and ${src.nUsers} customers: more than WebAssembly's 4 GiB`,
    );
  const status = k.init(chunk, Math.max(1, src.nCats), Math.max(1, src.nUsers), maxGroups, maxDays);
  if (status === k.INIT_OUT_OF_MEMORY.value) {
    throw new KernelOutOfMemory(
      `the KPI kernel cannot hold ${maxGroups} (category, day) groups, ${maxDays} days, ${src.nUsers} customers in WebAssembly memory (4 GiB at most)`,
    );
  }
  if (status !== k.INIT_OK.value) throw new Error(`kernel init returned ${status}`);
  // Views are made after init: growing memory detaches earlier ones.
  const buf = k.memory.buffer;
  const at = (name: ColumnName) => k[name].value as number;
  const i32 = (name: ColumnName, n: number) => new Int32Array(buf, at(name), n);
  const input_ = {
    cat: i32('inCat', chunk),
    day: i32('inDay', chunk),
    order: i32('inOrder', chunk),
    user: i32('inUser', chunk),
    cents: new Float64Array(buf, at('inCents'), chunk),
    flags: new Uint8Array(buf, at('inFlags'), chunk),
  };
  // Called on slices: V8 runs a wasm call to its end in the code it started with, so one long
  // call would stay in the baseline tier; short ones move to the optimized code after a few.
  const onChunk = (count: number): void => {
    for (let from = 0; from < count; from += CALL) k.process(from, Math.min(count, from + CALL));
  };
  if (src.n) src.forEachChunk(input_, onChunk);
  const g = k.groupCount();
  const d = k.dayCount();
  const gCat = i32('gCat', g),
    gDay = i32('gDay', g),
    gCents = new BigInt64Array(buf, at('gCents'), g);
  const gItems = i32('gItems', g),
    gRet = i32('gReturned', g),
    gOrders = i32('gOrders', g);
  const dDay = i32('dDay', d),
    dCents = new BigInt64Array(buf, at('dCents'), d);
  const dItems = i32('dItems', d),
    dOrders = i32('dOrders', d),
    dUsers = i32('dUsers', d),
    dRet = i32('dReturnedOrders', d);
  const out: Aggregates = { groups: [], days: [] };
  for (let x = 0; x < g; x++) {
    out.groups.push({
      cat: gCat[x],
      day: gDay[x],
      cents: Number(gCents[x]),
      items: gItems[x],
      returnedItems: gRet[x],
      orders: gOrders[x],
    });
  }
  for (let x = 0; x < d; x++) {
    out.days.push({
      day: dDay[x],
      cents: Number(dCents[x]),
      items: dItems[x],
      orders: dOrders[x],
      users: dUsers[x],
      returnedOrders: dRet[x],
    });
  }
  return out;
}
