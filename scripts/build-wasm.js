#!/usr/bin/env node
// Builds each module of assembly/ with the targets of asconfig.json: release (dist/assembly/NAME.wasm,
// -O3, asserts off) and debug (NAME.debug.wasm + .wat, asserts on; the tests run it).
// kernel: joined items → aggregates; rows: CSV bytes → row verdicts.
const { execFileSync } = require('node:child_process');
const { mkdirSync } = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
const out = path.join(root, 'dist', 'assembly');
mkdirSync(out, { recursive: true });
const asc = path.join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
for (const name of ['kernel', 'rows']) {
  for (const target of ['release', 'debug']) {
    const base = path.join(out, target === 'debug' ? `${name}.debug` : name);
    const files = ['--outFile', `${base}.wasm`, ...(target === 'debug' ? ['--textFile', `${base}.wat`] : [])];
    execFileSync(process.execPath, [asc, `assembly/${name}.ts`, '--config', 'asconfig.json', '--target', target, ...files], { cwd: root, stdio: 'inherit' });
  }
}
