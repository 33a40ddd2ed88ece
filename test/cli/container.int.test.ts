// The container's runtime from a clean production install of exactly what the Dockerfile copies.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers';

test('npm ci --omit=dev of the image files: kpi --help and kpi compute data/ work without dev dependencies', (t) => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const app = mkdtempSync(path.join(os.tmpdir(), 'kpi-image-'));
  // The runtime stage copies these (and nothing else):
  for (const f of ['package.json', 'package-lock.json', 'bin', 'dist/runtime', 'dist/assembly']) {
    t.true(dockerfile.includes(f.startsWith('dist/') ? `/app/${f} ${f}` : f), `Dockerfile copies ${f}`);
    cpSync(path.join(ROOT, f), path.join(app, f), { recursive: true });
  }
  execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: app,
    stdio: 'ignore',
    timeout: 300000,
  });
  t.false(existsSync(path.join(app, 'node_modules', 'typescript')), 'no dev dependencies');
  t.false(existsSync(path.join(app, 'node_modules', 's3rver')));
  t.true(existsSync(path.join(app, 'node_modules', '@aws-sdk', 'client-s3')));
  const help = spawnSync(process.execPath, ['bin/kpi.js', '--help'], { cwd: app, encoding: 'utf8' });
  t.is(help.status, 0);
  t.regex(help.stdout, /kpi compute DIR|compute DIR/);
  const inImage = spawnSync(process.execPath, ['bin/kpi.js', 'compute', path.join(ROOT, 'data'), '--json'], {
    cwd: app,
    encoding: 'utf8',
  });
  t.is(inImage.status, 0, inImage.stderr);
  const inDev = spawnSync(
    process.execPath,
    [path.join(ROOT, 'bin', 'kpi.js'), 'compute', path.join(ROOT, 'data'), '--json'],
    { encoding: 'utf8' },
  );
  t.is(inImage.stdout, inDev.stdout);
  const run = spawnSync(process.execPath, ['bin/kpi.js', 'run', '--help'], { cwd: app, encoding: 'utf8' });
  t.regex(run.stdout, /container entry point/);
  // The transform writes and verify reads the curated zone: the Parquet code runs from the
  // production install (hyparquet, an ES module, loaded from there), started from another folder.
  const lake = spawnSync(
    process.execPath,
    [
      '-e',
      `const p = require(${JSON.stringify(path.join(app, 'dist/runtime/core/formats/parquet.js'))});
       const row = { item_id: 'i', order_id: 'o', user_id: 'u', product_id: 'p', category: 'Jeans', sale_price_cents: 1999, returned: true, order_returned: false };
       p.encodeLakeFile([row]).then(p.decodeLakeFile).then((r) => console.log(JSON.stringify(r)));`,
    ],
    { cwd: os.tmpdir(), encoding: 'utf8' },
  );
  t.is(lake.status, 0, lake.stderr);
  t.deepEqual(JSON.parse(lake.stdout), [
    {
      item_id: 'i',
      order_id: 'o',
      user_id: 'u',
      product_id: 'p',
      category: 'Jeans',
      sale_price_cents: 1999,
      returned: true,
      order_returned: false,
    },
  ]);
  const local = spawnSync(process.execPath, ['bin/kpi.js', 'local', '--port', '0', '--dir', path.join(app, '.l')], {
    cwd: app,
    encoding: 'utf8',
  });
  t.is(local.status, 1);
  t.regex(local.stderr, /needs the dev dependency 's3rver'/);
});
