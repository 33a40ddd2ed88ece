// One step of `npm run bench:history`, in its own process so that its peak RSS is its own:
//   node bench/history-step.js ROOT STEP   (STEP: validate | transform | load (both) | verify | rebuild)
// ROOT is a checkout whose dist/ is built (this one, or an older one to compare with: only the
// Pipeline API both share is used). The stack's endpoint and names come from the environment, as
// `kpi local` prints them. Prints one JSON line: {step, ms, rssMiB, ...}.
const path = require('node:path');

async function main() {
  const [root, step] = process.argv.slice(2);
  const { Pipeline } = require(path.join(root, 'dist/runtime/stages/pipeline'));
  const { configFromEnv } = require(path.join(root, 'dist/runtime/aws/config'));
  const { Observer } = require(path.join(root, 'dist/runtime/aws/observe'));
  const cfg = configFromEnv();
  // BENCH_LOG=1: the pipeline's log lines (with each step's times) on stderr
  const quiet = new Observer(
    cfg,
    (line) => process.env.BENCH_LOG && console.error(line),
    () => {},
  );
  const pipeline = new Pipeline(cfg, { obs: quiet });
  const t0 = performance.now();
  const out = { step };
  // JavaScript's share of the peak: heap and array buffers, sampled (the rest is DuckDB's and Node's)
  let heap = 0;
  let buffers = 0;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    buffers = Math.max(buffers, m.arrayBuffers);
  }, 50);
  if (step === 'validate') {
    const v = await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    out.validated = v.length;
  } else if (step === 'transform') {
    const t = await pipeline.transform();
    out.items = t.items;
  } else if (step === 'load') {
    const v = await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    out.validated = v.length;
    out.validateMs = Math.round(performance.now() - t0);
    const t = await pipeline.transform();
    out.items = t.items;
  } else if (step === 'verify') {
    const { verify } = require(path.join(root, 'dist/runtime/stages/verify'));
    const r = await verify(pipeline.bucket, pipeline.store, pipeline.state);
    out.ok = r.ok;
    out.differences = r.differences.length;
  } else if (step === 'rebuild') {
    const t = await pipeline.rebuild();
    out.items = t.items;
  } else throw new Error(`unknown step ${step}`);
  out.ms = Math.round(performance.now() - t0);
  out.rssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  clearInterval(sample);
  out.heapMiB = Math.round(heap / 2 ** 20);
  out.arrayBuffersMiB = Math.round(buffers / 2 ** 20);
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
