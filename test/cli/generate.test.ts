// kpi generate --id-style: the same data with ids spelt as UUIDs, prefixed or past 10^9 gives the
// same KPIs as with decimal ids (distinct counts, upserts, duplicates and unknown keys all follow
// the ids), so every benchmark can compare id styles on equal work.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate, ID_STYLES, idOf } from '../../runtime/cli/generate';
import { computeDir } from '../../runtime/core/compute';

test('every id style gives the KPIs and rejections of decimal ids, on a dirty set', async (t) => {
  const results = [];
  for (const idStyle of ID_STYLES) {
    const dir = mkdtempSync(path.join(os.tmpdir(), `kpi-gen-${idStyle}-`));
    generate(dir, { items: 20_000, seed: 7, dirty: 0.03, idStyle });
    results.push({ idStyle, dir, r: await computeDir(dir) });
  }
  const [decimal, ...others] = results;
  t.true(decimal!.r.category_kpis.length > 100);
  for (const o of others) {
    t.deepEqual(o.r.category_kpis, decimal!.r.category_kpis, o.idStyle);
    t.deepEqual(o.r.order_kpis, decimal!.r.order_kpis, o.idStyle);
    t.deepEqual(o.r.rejected, decimal!.r.rejected, o.idStyle);
  }
  const uuidItems = readFileSync(
    path.join(results.find((x) => x.idStyle === 'uuid')!.dir, 'order_items', 'order_items_part001.csv'),
    'utf8',
  );
  t.regex(uuidItems.split('\n')[1]!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12},/);
});

test('ids of each style are distinct per kind, and decimal ids are the plain numbers', (t) => {
  for (const style of ID_STYLES) {
    const seen = new Set<string>();
    for (let n = 1; n <= 50_000; n++) seen.add(idOf(style, 'i', n));
    t.is(seen.size, 50_000, style);
  }
  t.is(idOf('decimal', 'o', 42), '42');
  t.is(idOf('prefixed', 'o', 42), 'ORD-00000042');
  t.is(idOf('bigint', 'p', 42), '1000000000042');
  t.not(idOf('uuid', 'o', 42), idOf('uuid', 'i', 42));
});
