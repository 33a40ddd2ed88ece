// The joined items as whole arrays: what the reference aggregation reads. Production streams them
// to the kernel in chunks (JoinSource.forEachChunk) and never holds them all.
import type { ChunkColumns, Joined, JoinSource } from '../runtime/core/join/join';

export function materialize(src: JoinSource): Joined {
  const n = src.n;
  const all: ChunkColumns = {
    cat: new Int32Array(n),
    day: new Int32Array(n),
    order: new Int32Array(n),
    user: new Int32Array(n),
    cents: new Float64Array(n),
    flags: new Uint8Array(n),
  };
  if (n) src.forEachChunk(all, () => {});
  return { n, ...all, categories: src.categories };
}
