// The tasks as ECS runs them, without Docker: each stage's `kpi run` started as a child process with
// the task definition's environment and its read-only root filesystem emulated — every path not
// under one of the container's mount points is unwritable. Regression: the task definition set
// readonlyRootFilesystem with no volume, so validate's temporary copy failed for every file.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProgram, type Captured } from '../infra-mocks';
import { ROOT } from '../helpers';
import { expectEqualToCompute, withStack } from '../stack';

interface Container {
  environment: { name: string; value: string }[];
  mountPoints?: { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
  readonlyRootFilesystem?: boolean;
}

const run = runProgram({ 'kpi:protect': 'false' });

async function container(stage: string): Promise<{ c: Container; volumes: string[] }> {
  const { resources } = await run;
  const td = resources.find(
    (r: Captured) => r.type === 'aws:ecs/taskDefinition:TaskDefinition' && r.inputs.family === `kpi-${stage}`,
  )!.inputs;
  return {
    c: JSON.parse(td.containerDefinitions)[0] as Container,
    volumes: ((td.volumes ?? []) as { name: string }[]).map((v) => v.name),
  };
}

const under = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/**
 * The environment a stage's process sees in its task, with paths mapped onto this machine: a
 * mount point (a volume the task definition declares) becomes a fresh writable folder; anything
 * else on the read-only root, a path under a regular file (unwritable even for root).
 */
function emulate(c: Container, volumes: string[]): Record<string, string> {
  const env = Object.fromEntries(c.environment.map((e) => [e.name, e.value]));
  const blocker = path.join(mkdtempSync(path.join(os.tmpdir(), 'kpi-ro-')), 'read-only-root');
  writeFileSync(blocker, '');
  const tmp = env.TMPDIR ?? '/tmp';
  const mount = (c.mountPoints ?? []).find(
    (m) => !m.readOnly && volumes.includes(m.sourceVolume) && under(tmp, m.containerPath),
  );
  const writable = !c.readonlyRootFilesystem || mount !== undefined;
  return { ...env, TMPDIR: writable ? mkdtempSync(path.join(os.tmpdir(), 'kpi-scratch-')) : path.join(blocker, tmp) };
}

function kpi(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--no-warnings', path.join(ROOT, 'bin', 'kpi.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

test('validate, transform and verify run with the task definition read-only root and mounts', async (t) => {
  const data = path.join(ROOT, 'data');
  await withStack(async (s) => {
    t.is((await kpi(['upload', data], s.env)).code, 0);
    for (const [stage, taskStage] of [
      ['validate', 'validate'],
      ['transform', 'transform'],
      ['verify', 'transform'],
    ]) {
      const { c, volumes } = await container(taskStage);
      t.true(c.readonlyRootFilesystem, `${taskStage}: the root filesystem is read-only`);
      const env = emulate(c, volumes);
      // AWS names replaced by the local stack's; no event bus or topic here (alerts are printed).
      delete env.KPI_EVENT_BUS;
      delete env.KPI_ALERT_TOPIC_ARN;
      const r = await kpi(['run'], { ...env, ...s.env, KPI_STAGE: stage });
      t.is(r.code, 0, `${stage}: ${r.out.slice(-2000)}`);
    }
    await expectEqualToCompute(t, s, data);
  });
});

test('the image owns each mount point: a VOLUME of the same path, created and owned by the user the image runs as', async (t) => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const user = /^USER (\S+)/m.exec(dockerfile)?.[1];
  t.truthy(user);
  for (const stage of ['validate', 'transform']) {
    const { c } = await container(stage);
    t.true((c.mountPoints ?? []).length > 0, `${stage} has a writable mount`);
    for (const m of c.mountPoints ?? []) {
      t.regex(dockerfile, new RegExp(`^VOLUME \\["${m.containerPath}"\\]`, 'm'));
      t.regex(dockerfile, new RegExp(`chown ${user}:${user} ${m.containerPath}(\\s|$)`, 'm'));
    }
  }
});
