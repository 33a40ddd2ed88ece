// ZSTD for the lake's pages through a WebAssembly build of the reference zstd library
// (@bokuweb/zstd-wasm, ~1 MB, MIT): no native module in the image. The module is instantiated once
// per process (zstdReady); compressing is then synchronous.
interface ZstdModule {
  init(): Promise<void>;
  compress(b: Uint8Array, level: number): Uint8Array;
  decompress(b: Uint8Array): Uint8Array;
}

let mod: ZstdModule | null = null;
let ready: Promise<void> | null = null;

/** Resolves once compress/decompress can be called. */
export function zstdReady(): Promise<void> {
  ready ??= (async () => {
    const m = require('@bokuweb/zstd-wasm') as ZstdModule;
    await m.init();
    mod = m;
  })();
  return ready;
}

function loaded(): ZstdModule {
  if (!mod) throw new Error('zstd is not initialised: await zstdReady() first');
  return mod;
}

/** Level 3, zstd's default: most of the gain of higher levels at a fraction of their time. */
export const zstdCompress = (b: Uint8Array, level = 3): Uint8Array => loaded().compress(b, level);
export const zstdDecompress = (b: Uint8Array): Uint8Array => loaded().decompress(b);
