// The bulk path on the history engine (DuckDB over the validated zone) and the one in memory reach
// the same state, byte for byte: the same index run (every i/o/p/hq/d/f record, their ranks and
// values), the same lake files (named by content), the same body and KPIs — on dirty generated
// data with held items, several versions of keys, non-ASCII and astral ids and a U+FEFF category.
// Then the whole pipeline with KPI_HISTORY_ENGINE=duckdb: first load, new files, verify, rebuild.
import test from 'ava';
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { generate } from '../../runtime/cli/generate';
import { planUpload, upload } from '../../runtime/cli/upload';
import { RunWriter, type Rec } from '../../runtime/state/runfile';
import { listArchive } from '../../runtime/state/pending';
import { bulkApply } from '../../runtime/state/transform';
import type { BulkOutcome } from '../../runtime/state/bulk';
import { verify } from '../../runtime/stages/verify';
import { expectEqualToCompute, quietPipeline, withStack } from '../stack';

async function runBytes(out: BulkOutcome): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const w = new RunWriter((c) => chunks.push(c));
  try {
    if (typeof out.records === 'function') for (const _ of out.records(w));
    else for await (const r of out.records as AsyncIterable<Rec>) w.add(r);
  } finally {
    out.close();
  }
  w.end();
  return Buffer.concat(chunks);
}

function dataset(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-engines-'));
  generate(dir, { items: 6000, seed: 8, dirty: 0.05, partRows: 800, idStyle: 'prefixed' });
  // ids a byte sort and a UTF-16 sort order differently, a category with U+FEFF, an item held for ever
  const odd = ['é1', '\u{1F600}a', '\uFFFDz', 'Z'];
  mkdirSync(path.join(dir, 'products'), { recursive: true });
  writeFileSync(path.join(dir, 'products', 'zz.csv'), `id,category\n${odd.map((p) => `${p},\uFEFFOdd`).join('\n')}\n`);
  writeFileSync(
    path.join(dir, 'orders', 'zz.csv'),
    `order_id,user_id,status,created_at\n${odd.map((o) => `${o},u\u{1F600},Returned,2025-02-01T00:00:00Z`).join('\n')}\n`,
  );
  // held items waiting for orders whose ids sort differently as bytes and as UTF-16
  const heldOdd = ['nope\u{1F600}', 'nope\uFFFDa', 'nop\u00E9', 'nope\uE000']
    .map((o, k) => `held${k},${o},Z,1.00,\n`)
    .join('');
  writeFileSync(
    path.join(dir, 'order_items', 'zz.csv'),
    `id,order_id,product_id,sale_price,status\n${odd.map((i, k) => `${i},${odd[k]},${odd[3 - k]},1.5${k},`).join('\n')}\nheld,nope,Z,2.00,\n${heldOdd}`,
  );
  return dir;
}

test.serial('the engine bulk path writes the same index run, lake, body and KPIs as the in-memory one', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    await upload(pipeline.bucket, planUpload(dataset()));
    await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    const versions = await listArchive(pipeline.bucket);
    const mem = await bulkApply(pipeline.bucket, versions, undefined, false, 'memory');
    const lakeAfterMemory = await pipeline.bucket.list('curated/');
    const eng = await bulkApply(pipeline.bucket, versions, undefined, false, 'duckdb');
    t.true(mem.body.held > 0 && mem.body.joined > 6000 * 0.8, JSON.stringify(mem.body));
    t.deepEqual(eng.body, mem.body);
    t.deepEqual(eng.res.category_kpis, mem.res.category_kpis);
    t.deepEqual(eng.res.order_kpis, mem.res.order_kpis);
    t.is(eng.lakeWritten, 0, 'every day file the engine encodes already exists under its content hash');
    t.deepEqual(await pipeline.bucket.list('curated/'), lakeAfterMemory);
    const [a, b] = [await runBytes(mem), await runBytes(eng)];
    t.true(a.length > 100_000);
    t.true(a.equals(b), 'the two index runs differ');
  });
});

test.serial('KPI_HISTORY_ENGINE=duckdb: first load, more files incrementally, verify, rebuild', async (t) => {
  await withStack(async (s) => {
    const { pipeline, logs } = quietPipeline(s, { historyEngine: 'duckdb' });
    const dir = dataset();
    await upload(pipeline.bucket, planUpload(dir));
    await pipeline.process();
    t.true(logs.some((l) => l.event === 'bulk_applied' && typeof (l.ms as Record<string, number>).sql === 'number'));
    t.true(logs.some((l) => l.event === 'bulk_engine' && l.engine === 'duckdb' && l.chosen_by === 'duckdb'));
    await expectEqualToCompute(t, s, dir);
    writeFileSync(
      path.join(dir, 'orders', 'zzz.csv'),
      'order_id,user_id,status,created_at\nnope,u1,Complete,2025-02-02T00:00:00Z\n',
    );
    await upload(
      pipeline.bucket,
      planUpload(dir).filter((p) => p.key.endsWith('zzz.csv')),
    );
    await pipeline.process();
    await expectEqualToCompute(t, s, dir);
    t.true((await verify(pipeline.bucket, pipeline.store, pipeline.state)).ok);
    await pipeline.rebuild();
    await expectEqualToCompute(t, s, dir);
    t.true((await verify(pipeline.bucket, pipeline.store, pipeline.state)).ok);
  });
});

test.serial('by default (auto) a small history takes the in-memory bulk path, and says so', async (t) => {
  await withStack(async (s) => {
    const { pipeline, logs } = quietPipeline(s);
    t.is(pipeline.cfg.historyEngine, 'auto');
    const dir = dataset();
    await upload(pipeline.bucket, planUpload(dir));
    await pipeline.process();
    const chosen = logs.find((l) => l.event === 'bulk_engine');
    t.like(chosen, { engine: 'memory', chosen_by: 'auto' });
    t.true((chosen!.memory_path_estimate_mib as number) >= 0);
    await expectEqualToCompute(t, s, dir);
  });
});

test.serial(
  'a bulk run on DuckDB meeting a missing or truncated validated object: an alert naming it, nothing written from a partial history, the zone written again from archive/, tables exact',
  async (t) => {
    await withStack(async (s) => {
      const { pipeline, alerts, logs } = quietPipeline(s, { historyEngine: 'duckdb' });
      const b = pipeline.bucket;
      const dir = dataset();
      await upload(b, planUpload(dir));
      await pipeline.validate((await b.list('ecommerce-data/')).map((o) => o.key));
      const zone = (await b.list('validated/')).map((o) => o.key);
      const [missing, truncated] = [zone[1]!, zone[zone.length - 2]!];
      const bytes = new Map<string, Buffer>();
      for (const k of [missing, truncated]) bytes.set(k, await b.readBytes(k));
      await b.delete(missing);
      await b.put(truncated, bytes.get(truncated)!.subarray(0, 100));
      await pipeline.transform();
      for (const k of [missing, truncated]) {
        t.true(
          alerts.some((a) => a.includes(k)),
          `no alert names ${k}: ${alerts.join(' | ')}`,
        );
        t.true((await b.readBytes(k)).equals(bytes.get(k)!), `${k} written again, the same bytes`);
      }
      // the first attempt stopped before committing or writing a row
      t.is(logs.filter((l) => l.event === 'bulk_applied').length, 1);
      await expectEqualToCompute(t, s, dir);
      t.true((await verify(b, pipeline.store, pipeline.state)).ok);
    });
  },
);
