#!/usr/bin/env node
// Builds each module asconfig.json lists (its own key "modules": asc would merge "entries" into one
// module) with its targets: release (dist/assembly/NAME.wasm, -O3, asserts off) and debug
// (NAME.debug.wasm + .wat, asserts on; the kernel tests run it).
// kernel: joined items → aggregates; rows: CSV bytes → row verdicts.
const { execFileSync } = require('node:child_process');
const { mkdirSync, readFileSync } = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
const out = path.join(root, 'dist', 'assembly');
mkdirSync(out, { recursive: true });
const asc = path.join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const { modules } = JSON.parse(readFileSync(path.join(root, 'asconfig.json'), 'utf8'));
for (const entry of modules) {
  const name = path.basename(entry, '.ts');
  for (const target of ['release', 'debug']) {
    const base = path.join(out, target === 'debug' ? `${name}.debug` : name);
    const files = ['--outFile', `${base}.wasm`, ...(target === 'debug' ? ['--textFile', `${base}.wat`] : [])];
    execFileSync(process.execPath, [asc, entry, '--config', 'asconfig.json', '--target', target, ...files], {
      cwd: root,
      stdio: 'inherit',
    });
  }
}
