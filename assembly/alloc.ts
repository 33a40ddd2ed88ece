// A bump allocator over linear memory (stub runtime: nothing is ever freed; a module instance is
// used for one job and dropped). A failed grow is reported, not trapped: callers say why.

let top: usize = 0;
let failed = false;

/** Forgets every allocation (the next job starts at the heap base again). */
export function reset(): void {
  top = 0;
  failed = false;
}

export function outOfMemory(): bool {
  return failed;
}

/** 16-byte aligned bytes (SIMD loads), or 0 once memory could not grow. */
export function alloc(bytes: usize): usize {
  if (top == 0) top = (__heap_base + 15) & ~15;
  const ptr = (top + 15) & ~(<usize>15);
  const end = ptr + bytes;
  const need = <i32>((<u64>end + 0xffff) >>> 16);
  const have = memory.size();
  // end < ptr: past the 4 GiB of wasm32 (the address wrapped)
  if (failed || end < ptr || (need > have && memory.grow(need - have) < 0)) {
    failed = true;
    return 0;
  }
  top = end;
  return ptr;
}

/** memory.fill, skipped once an allocation failed (the pointers are then 0). */
export function fill(ptr: usize, value: u8, bytes: usize): void {
  if (!failed) memory.fill(ptr, value, bytes);
}
