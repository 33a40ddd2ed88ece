// Stage 4 — joined items → aggregates, in the AssemblyScript kernel (assembly/kernel.ts).
// The runtime copies bounded chunks of typed columns into the module's linear memory.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Aggregates } from './aggregates';
import { arraySource, type JoinSource, type Joined } from './join';

interface KernelExports {
  memory: WebAssembly.Memory;
  init(chunk: number, nCats: number, nUsers: number, maxGroups: number, maxDays: number): void;
  process(n: number): void;
  groupCount(): number;
  dayCount(): number;
  layout(which: number): number;
}

let compiled: WebAssembly.Module | null = null;

function module(): WebAssembly.Module {
  if (!compiled) {
    const file = path.join(__dirname, '..', '..', 'assembly', 'kernel.wasm');
    compiled = new WebAssembly.Module(readFileSync(file));
  }
  return compiled;
}

export const CHUNK = 1 << 16;

/**
 * Aggregates joined items in the WASM kernel. The source writes each chunk straight into the
 * module's input columns. Whole arrays must be ordered by (day, order), as the join emits them.
 */
export function aggregateWasm(input: JoinSource | Pick<Joined, 'n' | 'cat' | 'day' | 'order' | 'user' | 'cents' | 'flags'>, chunk = CHUNK): Aggregates {
  const src: JoinSource = 'forEachChunk' in input ? input : arraySource(input);
  const k = new WebAssembly.Instance(module(), {}).exports as unknown as KernelExports;
  const maxDays = Math.max(1, src.days);
  const maxGroups = Math.max(1, Math.min(src.n, src.nCats * maxDays));
  k.init(chunk, Math.max(1, src.nCats), Math.max(1, src.nUsers), maxGroups, maxDays);
  // Views are made after init: growing memory detaches earlier ones.
  const buf = k.memory.buffer;
  const i32 = (w: number, n: number) => new Int32Array(buf, k.layout(w), n);
  const input_ = {
    cat: i32(0, chunk),
    day: i32(1, chunk),
    order: i32(2, chunk),
    user: i32(3, chunk),
    cents: new Float64Array(buf, k.layout(4), chunk),
    flags: new Uint8Array(buf, k.layout(5), chunk),
  };
  if (src.n) src.forEachChunk(input_, (count) => k.process(count));
  const g = k.groupCount();
  const d = k.dayCount();
  const gCat = i32(6, g),
    gDay = i32(7, g),
    gCents = new BigInt64Array(buf, k.layout(8), g);
  const gItems = i32(9, g),
    gRet = i32(10, g),
    gOrders = i32(11, g);
  const dDay = i32(12, d),
    dCents = new BigInt64Array(buf, k.layout(13), d);
  const dItems = i32(14, d),
    dOrders = i32(15, d),
    dUsers = i32(16, d),
    dRet = i32(17, d);
  const out: Aggregates = { groups: [], days: [] };
  for (let x = 0; x < g; x++) {
    out.groups.push({ cat: gCat[x], day: gDay[x], cents: Number(gCents[x]), items: gItems[x], returnedItems: gRet[x], orders: gOrders[x] });
  }
  for (let x = 0; x < d; x++) {
    out.days.push({ day: dDay[x], cents: Number(dCents[x]), items: dItems[x], orders: dOrders[x], users: dUsers[x], returnedOrders: dRet[x] });
  }
  return out;
}
