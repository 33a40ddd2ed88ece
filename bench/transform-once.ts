// One transform over an archive that is already validated: where a bulk (or incremental) run's
// time goes, without uploads and validation competing for the process. Not a bar; a profile aid.
import { benchStack } from './stack';
import { Bucket } from '../runtime/aws/s3store';
import { planUpload, upload } from '../runtime/cli/upload';

async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const { stack, pipeline } = await benchStack((l) => void (/applied|transform_done/.test(l) && console.log(l)));
  await upload(new Bucket(stack.clients.s3, stack.bucket), planUpload(dir));
  await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
  const t0 = performance.now();
  await pipeline.transform();
  console.log(`transform ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  // Then one more folder (a new day) applied incrementally: its time and the memory it adds.
  const then = process.argv[3];
  if (then) {
    await upload(new Bucket(stack.clients.s3, stack.bucket), planUpload(then));
    await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    (globalThis as { gc?: () => void }).gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const t1 = performance.now();
    const r = await pipeline.transform();
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(
      `incremental transform ${((performance.now() - t1) / 1000).toFixed(2)} s, ${r.changedDates.length} day(s), ${r.lookups} look-ups, ${r.blocksRead} blocks read; RSS ${(base / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(0)} MiB (+${((peak - base) / 2 ** 20).toFixed(0)} MiB)`,
    );
  }
  await stack.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
