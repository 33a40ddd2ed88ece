#!/usr/bin/env node
// Builds assembly/kernel.ts into dist/assembly/kernel.wasm (stub runtime, no imports).
const { execFileSync } = require('node:child_process');
const { mkdirSync } = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
mkdirSync(path.join(root, 'dist', 'assembly'), { recursive: true });
const asc = path.join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
execFileSync(process.execPath, [asc, 'assembly/kernel.ts', '-o', 'dist/assembly/kernel.wasm', '-O3', '--runtime', 'stub', '--noAssert', '--use', 'abort=', '--enable', 'simd'], {
  cwd: root,
  stdio: 'inherit',
});
