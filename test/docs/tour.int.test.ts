// The docs check: the README's five-minute tour, run as written (bash, in a scratch folder with the
// repository's data/, scripts/, bin/ and build linked in), against a real `kpi local`. Only the
// ports are changed (a free one, so that CI can run it beside other tests). Every figure the tour
// promises is checked in its output.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers';

/** The first sh block after the given heading. */
export function shellBlock(markdown: string, heading: string): string {
  const at = markdown.indexOf(`\n## ${heading}`);
  if (at < 0) throw new Error(`no section "${heading}"`);
  const m = /```sh\n([\s\S]*?)```/.exec(markdown.slice(at));
  if (!m) throw new Error(`no sh block in "${heading}"`);
  return m[1];
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });

test('the README tour runs as written and shows the same figures through kpi, the AWS CLI and DuckDB', async (t) => {
  const port = await freePort();
  const script = shellBlock(readFileSync(path.join(ROOT, 'README.md'), 'utf8'), 'A five-minute tour (local)')
    .replaceAll('local --port 4566', `local --port ${port} --dashboard-port 0`)
    .replaceAll('127.0.0.1:4566', `127.0.0.1:${port}`);
  t.true(script.includes('kpi -- upload data --wait'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-tour-'));
  for (const f of ['data', 'scripts', 'bin', 'dist', 'node_modules', 'package.json'])
    symlinkSync(path.join(ROOT, f), path.join(dir, f));
  const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
    const p = spawn('bash', ['-e', '-c', script], { cwd: dir, detached: true, env: { ...process.env, AWS_PAGER: '' } });
    let text = '';
    p.stdout.on('data', (d) => (text += d));
    p.stderr.on('data', (d) => (text += d));
    // 'exit', not 'close': the stack the tour started in the background may still hold the pipes
    p.on('exit', (c) => {
      try {
        process.kill(-p.pid!, 'SIGKILL'); // anything the tour left running
      } catch {
        /* already gone */
      }
      resolve({ code: c ?? 1, out: text });
    });
  });
  t.is(code, 0, out.slice(-3000));
  t.regex(out, /applied: every uploaded file is validated/);
  t.regex(out, /2025-03-25\s+15\s+2509\.8\s+23/, 'DuckDB over the synced lake'); // order_date, orders, revenue, items
  t.regex(out, /"2509\.8"/, 'the AWS CLI reads the order row');
  t.regex(out, /verify: ok/);
  t.regex(out, /order_date=2025-0/, 'the lake listed');
});
