// `npm run bench:local -- --items N`: upload a generated set to the embedded stack and time it
// until every KPI is queryable (tables equal to kpi compute of the same folder).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { computeDir } from '../runtime/core/compute';
import { generate } from '../runtime/cli/generate';
import { KpiStore } from '../runtime/aws/kpistore';
import { configForStack, startLocal } from '../runtime/local/stack';
import { Observer } from '../runtime/aws/observe';
import { Pipeline } from '../runtime/stages/pipeline';
import { Dispatcher } from '../runtime/local/dispatcher';
import { Bucket } from '../runtime/aws/s3store';
import { planUpload, upload } from '../runtime/cli/upload';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--items');
  const items = i > 0 ? Number(process.argv[i + 1]) : 27000;
  const dir = path.join(__dirname, '..', '..', '.bench', `local-${items}`);
  if (!existsSync(path.join(dir, '.complete'))) {
    generate(dir, { items, seed: 3, dirty: 0.01, partRows: Math.max(2000, Math.ceil(items / 10)) });
    writeFileSync(path.join(dir, '.complete'), '');
  }
  const plan = planUpload(dir);
  const stack = await startLocal({ dir: mkdtempSync(path.join(os.tmpdir(), 'kpi-bench-')), port: 0 });
  const cfg = configForStack(stack);
  const pipeline = new Pipeline(cfg, {
    clients: stack.clients,
    obs: new Observer(
      cfg,
      (l) => process.env.BENCH_LOG && /batch_applied|transform_done/.test(l) && console.log(l),
      () => {},
    ),
  });
  const d = new Dispatcher(pipeline, 100);
  stack.onObjectCreated((k) => d.enqueue(k));
  const t0 = performance.now();
  await upload(new Bucket(stack.clients.s3, stack.bucket), plan);
  const tUp = performance.now();
  await d.idle();
  const t1 = performance.now();
  const got = await new KpiStore(stack.clients.ddb, stack.categoryTable, stack.orderTable).readAll();
  const want = await computeDir(dir);
  const equal = isDeepStrictEqual(got.category_kpis, want.category_kpis) && isDeepStrictEqual(got.order_kpis, want.order_kpis);
  await stack.close();
  const mb = plan.reduce((s, p) => s + p.size, 0) / 1e6;
  console.log(
    `${items.toLocaleString()} items, ${plan.length} files, ${mb.toFixed(1)} MB: upload ${((tUp - t0) / 1000).toFixed(2)} s, all KPIs queryable after ${((t1 - t0) / 1000).toFixed(2)} s (${d.batches.length} batches), tables equal kpi compute: ${equal ? 'yes' : 'NO'}`,
  );
  if (!equal || d.errors.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
