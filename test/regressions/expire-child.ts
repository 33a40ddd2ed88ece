// Held-item expiry in its own process with a small heap (test/regressions/expire-memory.int.test.ts):
// argv[2] is the state's runs as JSON; the stack comes from the environment.
import { makeClients } from '../../runtime/aws/clients';
import { configFromEnv } from '../../runtime/aws/config';
import { Bucket } from '../../runtime/aws/s3store';
import { Observer } from '../../runtime/aws/observe';
import { KeyIndex, type RunRef } from '../../runtime/state/keyindex';
import { expireHeld } from '../../runtime/state/expire';

const cfg = configFromEnv();
const clients = makeClients(cfg, { s3: cfg.endpoint, dynamodb: cfg.endpoint, local: true });
const bucket = new Bucket(clients.s3, cfg.bucket);
const obs = new Observer(
  cfg,
  () => undefined,
  () => undefined,
);
const runs = JSON.parse(process.argv[2]!) as RunRef[];
expireHeld({ bucket, obs, holdSeconds: 0 }, new KeyIndex(bucket, runs), Date.now()).then(
  (n) => process.stdout.write(`EXPIRED ${n}\n`),
  (err: unknown) => {
    process.stdout.write(`FAILED ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
