// Test helpers: write small fixture folders to a temp dir and run the real pipeline on them.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computeDir, type ComputeOptions, type ComputeResult } from '../runtime/core/compute';

export const ROOT = path.join(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/** files: { 'orders/a.csv': 'text', ... } → a temp folder. */
export function writeTree(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-test-'));
  for (const [name, body] of Object.entries(files)) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, body);
  }
  return dir;
}

export function computeFiles(
  files: Record<string, string | Buffer>,
  opts: ComputeOptions = {},
): Promise<ComputeResult> {
  return computeDir(writeTree(files), opts);
}

export const PRODUCTS = 'id,category\np1,Jeans\np2,Tops\n';
export const ORDERS =
  'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\no2,u2,Returned,2025-03-01T11:00:00\n';

/** `kpi ARGS` as a user runs it, in a child process (the embedded servers run in this one). */
export function kpiAsync(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path.join(ROOT, 'bin', 'kpi.js'), ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d));
    c.stderr.on('data', (d: Buffer) => (stderr += d));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
