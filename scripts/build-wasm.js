#!/usr/bin/env node
// Builds assembly/kernel.ts with the targets of asconfig.json: release (dist/assembly/kernel.wasm,
// -O3, asserts off) and debug (kernel.debug.wasm + .wat, asserts on; the kernel tests run it).
const { execFileSync } = require('node:child_process');
const { mkdirSync } = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
mkdirSync(path.join(root, 'dist', 'assembly'), { recursive: true });
const asc = path.join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
for (const target of ['release', 'debug']) {
  execFileSync(process.execPath, [asc, '--config', 'asconfig.json', '--target', target], { cwd: root, stdio: 'inherit' });
}
