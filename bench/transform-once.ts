// One transform over an archive that is already validated: where a bulk (or incremental) run's
// time goes, without uploads and validation competing for the process. Not a bar; a profile aid.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configForStack, startLocal } from '../runtime/local/stack';
import { Observer } from '../runtime/aws/observe';
import { Pipeline } from '../runtime/stages/pipeline';
import { Bucket } from '../runtime/aws/s3store';
import { planUpload, upload } from '../runtime/cli/upload';

async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const stack = await startLocal({ dir: mkdtempSync(path.join(os.tmpdir(), 'kpi-bench-')), port: 0 });
  const cfg = configForStack(stack);
  const pipeline = new Pipeline(cfg, { clients: stack.clients, obs: new Observer(cfg, (l) => /applied|transform_done/.test(l) && console.log(l), () => {}) });
  await upload(new Bucket(stack.clients.s3, stack.bucket), planUpload(dir));
  await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
  const t0 = performance.now();
  await pipeline.transform();
  console.log(`transform ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  await stack.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
