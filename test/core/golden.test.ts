// Golden and oracle checks: `kpi compute` against DuckDB running the same contract in SQL.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { duckCompute } from '../../bench/duckdb';
import { computeDir } from '../../runtime/core/compute';
import { computeReference } from '../../reference/compute';
import { generate } from '../../runtime/cli/generate';
import { ROOT } from '../helpers';

const KPI = path.join(ROOT, 'bin', 'kpi.js');

test('golden: `kpi compute data/ --json` equals the expected file, which DuckDB produced', (t) => {
  // test/golden/data-kpis.duckdb.json was written by bench/duckdb.ts (SQL), not by this pipeline.
  const expected = JSON.parse(readFileSync(path.join(ROOT, 'test', 'golden', 'data-kpis.duckdb.json'), 'utf8'));
  const out = execFileSync(process.execPath, [KPI, 'compute', path.join(ROOT, 'data'), '--json'], { encoding: 'utf8' });
  const got = JSON.parse(out);
  t.deepEqual(got.category_kpis, expected.category_kpis);
  t.deepEqual(got.order_kpis, expected.order_kpis);
  t.deepEqual(got.rejected, expected.rejected);
  t.true(got.order_kpis.length > 100);
});

for (const [seed, dirty] of [
  [11, 0],
  [12, 0.03],
  [13, 0.2],
] as const) {
  test(`oracle: generated data (seed ${seed}, dirty ${dirty}) equals DuckDB, both engines`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-oracle-'));
    generate(dir, { items: 6000, seed, dirty, partRows: 900 });
    const duck = await duckCompute(dir, 2);
    const wasm = await computeDir(dir);
    const ref = await computeReference(dir);
    t.deepEqual(wasm.category_kpis, duck.category_kpis);
    t.deepEqual(wasm.order_kpis, duck.order_kpis);
    t.deepEqual(wasm.rejected, duck.rejected);
    t.deepEqual(ref.category_kpis, wasm.category_kpis);
    t.deepEqual(ref.order_kpis, wasm.order_kpis);
    t.deepEqual(ref.rejected, wasm.rejected);
    if (dirty > 0) t.is(Object.keys(wasm.rejected).length, 9, 'every reason injected');
  });
}
