// Stage 4 — joined items → aggregates, in the AssemblyScript kernel (assembly/kernel.ts).
// The runtime copies bounded chunks of typed columns into the module's linear memory.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Aggregates } from './aggregates';
import type { Joined } from './join';

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
    const file = path.join(__dirname, '..', 'assembly', 'kernel.wasm');
    compiled = new WebAssembly.Module(readFileSync(file));
  }
  return compiled;
}

export const CHUNK = 1 << 16;

/** Input must be ordered by (day, order), as `Tables.join()` returns it. */
export function aggregateWasm(j: Pick<Joined, 'n' | 'cat' | 'day' | 'order' | 'user' | 'cents' | 'flags'>, chunk = CHUNK): Aggregates {
  const k = new WebAssembly.Instance(module(), {}).exports as unknown as KernelExports;
  let nCats = 0;
  let nUsers = 0;
  const daySet = new Set<number>();
  let lastDay = NaN;
  for (let i = 0; i < j.n; i++) {
    if (j.cat[i] >= nCats) nCats = j.cat[i] + 1;
    if (j.user[i] >= nUsers) nUsers = j.user[i] + 1;
    if (j.day[i] !== lastDay) daySet.add((lastDay = j.day[i]));
  }
  const maxDays = Math.max(1, daySet.size);
  const maxGroups = Math.max(1, Math.min(j.n, nCats * maxDays));
  k.init(chunk, Math.max(1, nCats), Math.max(1, nUsers), maxGroups, maxDays);
  // Views are made after init: growing memory detaches earlier ones.
  const buf = k.memory.buffer;
  const i32 = (w: number, n: number) => new Int32Array(buf, k.layout(w), n);
  const inCat = i32(0, chunk);
  const inDay = i32(1, chunk);
  const inOrder = i32(2, chunk);
  const inUser = i32(3, chunk);
  const inCents = new Float64Array(buf, k.layout(4), chunk);
  const inFlags = new Uint8Array(buf, k.layout(5), chunk);
  for (let off = 0; off < j.n; off += chunk) {
    const end = Math.min(j.n, off + chunk);
    inCat.set(j.cat.subarray(off, end));
    inDay.set(j.day.subarray(off, end));
    inOrder.set(j.order.subarray(off, end));
    inUser.set(j.user.subarray(off, end));
    inCents.set(j.cents.subarray(off, end));
    inFlags.set(j.flags.subarray(off, end));
    k.process(end - off);
  }
  const g = k.groupCount();
  const d = k.dayCount();
  const gCat = i32(6, g), gDay = i32(7, g), gCents = new BigInt64Array(buf, k.layout(8), g);
  const gItems = i32(9, g), gRet = i32(10, g), gOrders = i32(11, g);
  const dDay = i32(12, d), dCents = new BigInt64Array(buf, k.layout(13), d);
  const dItems = i32(14, d), dOrders = i32(15, d), dUsers = i32(16, d), dRet = i32(17, d);
  const out: Aggregates = { groups: [], days: [] };
  for (let x = 0; x < g; x++) {
    out.groups.push({ cat: gCat[x], day: gDay[x], cents: Number(gCents[x]), items: gItems[x], returnedItems: gRet[x], orders: gOrders[x] });
  }
  for (let x = 0; x < d; x++) {
    out.days.push({ day: dDay[x], cents: Number(dCents[x]), items: dItems[x], orders: dOrders[x], users: dUsers[x], returnedOrders: dRet[x] });
  }
  return out;
}
