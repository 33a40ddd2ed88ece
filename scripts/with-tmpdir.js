#!/usr/bin/env node
// `node scripts/with-tmpdir.js CMD ARGS...`: runs CMD with TMPDIR set to a new directory, removed
// afterwards. npm test and the benchmarks run through it: the tests, the benchmarks and the runtime
// code they drive put embedded stacks (a 20M-item bench stack is 5 GB), DuckDB spills and fixtures
// under os.tmpdir(), and runs used to leave them there (19 GB in /tmp after a few days).
// KEEP_TMPDIR=1 keeps the directory to look at.
const { spawnSync } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error('usage: node scripts/with-tmpdir.js CMD [ARGS...]');
  process.exit(2);
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-tmpdir-'));
// The child shares the terminal's process group: Ctrl-C reaches it, and we clean up after it ends.
process.on('SIGINT', () => {});
const run = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, TMPDIR: dir } });
if (process.env.KEEP_TMPDIR) console.error(`temporary files kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
if (run.error) throw run.error;
process.exit(run.status ?? 1);
