// The `kpi` executable as a user runs it.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { ROOT, writeTree, PRODUCTS, ORDERS } from '../helpers';

const kpi = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'bin', 'kpi.js'), ...args], { encoding: 'utf8' });

test('--help on every command', (t) => {
  t.regex(kpi('--help').stdout, /Commands:/);
  for (const cmd of ['compute', 'generate', 'local', 'start', 'upload', 'query', 'run']) {
    const r = kpi(cmd, '--help');
    t.is(r.status, 0, cmd);
    t.regex(r.stdout, new RegExp(`Usage: kpi ${cmd}`), cmd);
  }
});

test('usage errors exit 2 with a hint; a missing folder is a clear error', (t) => {
  const r = kpi('compute');
  t.is(r.status, 2);
  t.regex(r.stderr, /needs exactly one DIR/);
  t.is(kpi('frobnicate').status, 2);
  t.is(kpi('compute', '.', '--bogus').status, 2);
  const m = kpi('compute', '/nonexistent/dir');
  t.is(m.status, 1);
  t.regex(m.stderr, /not a directory/);
});

test('compute prints readable tables and names rejected files on stderr', (t) => {
  const dir = writeTree({
    'products/p.csv': PRODUCTS,
    'orders/o.csv': ORDERS,
    'orders/x.csv': 'nope\n1\n',
    'order_items/i.csv': 'id,order_id,product_id,sale_price\n1,o1,p1,1.5\n',
  });
  const r = kpi('compute', dir);
  t.is(r.status, 0);
  t.regex(r.stdout, /category_kpi_table \(1 rows\)/);
  t.regex(r.stdout, /Jeans\s+2025-03-01\s+1\.50\s+1\.50\s+0\.0000/);
  t.regex(r.stderr, /rejected file orders\/x\.csv: missing required columns/);
});

test('generate is deterministic and writes part files of each entity', (t) => {
  const a = mkdtempSync(path.join(os.tmpdir(), 'gen-'));
  const b = mkdtempSync(path.join(os.tmpdir(), 'gen-'));
  t.is(kpi('generate', a, '--items', '3000', '--seed', '5', '--dirty', '0.05').status, 0);
  t.is(kpi('generate', b, '--items', '3000', '--seed', '5', '--dirty', '0.05').status, 0);
  t.deepEqual(kpi('compute', a, '--json').stdout, kpi('compute', b, '--json').stdout);
  t.true(readdirSync(path.join(a, 'order_items')).length > 2);
  t.is(kpi('generate', a, '--items', 'many').status, 2);
});
