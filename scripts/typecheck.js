#!/usr/bin/env node
// npm run typecheck: the whole program under tsconfig.json (strict, noUnusedLocals), then the
// infra, cli and aws layers also under noUncheckedIndexedAccess (tsconfig.strict.json). The core's
// typed-array hot loops are left out of that second pass on purpose; tsc reports errors in every
// file it reads, so errors outside those layers are filtered out of it.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const root = path.join(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const run = (args) => spawnSync(process.execPath, [tsc, ...args], { cwd: root, encoding: 'utf8' });
const base = run(['-p', 'tsconfig.json', '--noEmit']);
process.stdout.write(base.stdout);
if (base.status !== 0) process.exit(1);
const strict = run(['-p', 'tsconfig.strict.json']);
const mine = strict.stdout
  .split('\n')
  .filter((l) => /^(infra|runtime\/cli|runtime\/aws)\/|^runtime\/state\/(keyindex|statestore)\.ts/.test(l));
if (mine.length) {
  console.log(mine.join('\n'));
  process.exit(1);
}
console.log(
  "typecheck: ok (strict; noUncheckedIndexedAccess in infra/, runtime/cli/, runtime/aws/, the state's stores)",
);
