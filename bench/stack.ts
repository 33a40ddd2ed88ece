// The benchmarks' embedded stack: a fresh state folder, and a pipeline whose log lines go to
// `log` only when it wants them (alerts are dropped).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configForStack, startLocal, type LocalStack } from '../runtime/local/stack';
import { Observer } from '../runtime/aws/observe';
import { Pipeline } from '../runtime/stages/pipeline';

export async function benchStack(log: (line: string) => void): Promise<{ stack: LocalStack; pipeline: Pipeline }> {
  const stack = await startLocal({ dir: mkdtempSync(path.join(os.tmpdir(), 'kpi-bench-')), port: 0 });
  const cfg = configForStack(stack);
  const pipeline = new Pipeline(cfg, {
    clients: stack.clients,
    obs: new Observer(cfg, log, () => {}),
  });
  return { stack, pipeline };
}
