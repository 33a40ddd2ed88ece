// The image build, checked without a Docker engine: every file the build stage needs is copied
// into it and not excluded by .dockerignore (regression: asconfig.json, read by build:wasm, was not).
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers';

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter(Boolean);

/** Sources of the COPY lines of one stage (FROM … AS name up to the next FROM). */
function copiedIn(stage: string): string[] {
  const part = dockerfile.split(/^FROM /m).find((p) => new RegExp(`AS ${stage}\\s`).test(p.split('\n')[0] + '\n'));
  if (!part) throw new Error(`no stage ${stage}`);
  return part
    .split('\n')
    .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
    .flatMap((l) => l.slice(5).trim().split(/\s+/).slice(0, -1));
}

test('the build stage copies every input of npm run build:wasm and tsc -p tsconfig.runtime.json, none of them dockerignored', (t) => {
  const copied = copiedIn('build');
  for (const need of [
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.runtime.json',
    'asconfig.json',
    'scripts',
    'assembly',
    'runtime',
  ]) {
    t.true(copied.includes(need), `${need} is not copied into the build stage`);
    t.true(existsSync(path.join(ROOT, need)), need);
    t.false(ignored.includes(need), `${need} is in .dockerignore`);
  }
  // what build:wasm reads is exactly what asconfig.json names
  const asconfig = JSON.parse(readFileSync(path.join(ROOT, 'asconfig.json'), 'utf8'));
  t.deepEqual(asconfig.modules, ['assembly/kernel.ts', 'assembly/rows.ts']);
  for (const entry of asconfig.modules)
    t.true(
      copied.some((c) => entry.startsWith(`${c}/`)),
      entry,
    );
});
