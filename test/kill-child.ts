// A transform in its own process, for the kill tests (test/stages/kills.int.test.ts): it runs the
// real pipeline against the stack named by its environment and, at the step named by argv[2],
// prints "AT <step>" and stops there until the parent SIGKILLs it. argv[3]: the lease in ms;
// argv[4]: the bulk factor ('Infinity': always the incremental path).
import { makeClients } from '../runtime/aws/clients';
import { configFromEnv } from '../runtime/aws/config';
import { Observer } from '../runtime/aws/observe';
import { Pipeline } from '../runtime/stages/pipeline';

const step = process.argv[2] ?? '';
const leaseMs = Number(process.argv[3] ?? 60_000);
const bulkFactor = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const stop = (at: string) => () => {
  if (at !== step) return;
  process.stdout.write(`AT ${at}\n`);
  setInterval(() => undefined, 1000); // keeps the process alive: the parent kills it here
  return new Promise<void>(() => undefined);
};
let writes = 0;
const cfg = configFromEnv();
const clients = makeClients(cfg, { s3: cfg.endpoint, dynamodb: cfg.endpoint, local: true });
const pipeline = new Pipeline(cfg, {
  clients,
  obs: new Observer(
    cfg,
    () => undefined,
    () => undefined,
  ),
  state: { leaseMs },
  bulkFactor,
  hooks: { beforeCommit: stop('beforeCommit'), afterCommit: stop('afterCommit'), beforeRelease: stop('beforeRelease') },
  // during the clean-up: after the third KPI row write
  store: { beforeBatch: () => (++writes === 3 ? stop('cleanup')() : undefined) },
});
pipeline.process().then(
  () => process.stdout.write('DONE\n'),
  (err: unknown) => {
    process.stdout.write(`FAILED ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
