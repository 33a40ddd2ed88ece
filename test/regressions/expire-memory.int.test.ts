// Regression: held-item expiry (every 15 minutes, and at the end of every bulk run) read every held
// record of the state into memory at once, then decoded them all: at 20M items of history (438k
// held) the transform's live heap jumped from 60 to 297 MiB at its very end, and a transform with
// the 384 MiB heap of a 1.5 GB task ran out of it. Expiry now streams the records and groups them
// by source file on disk: memory follows the largest file's held rows, not the history's.
import test from 'ava';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Bucket } from '../../runtime/aws/s3store';
import { writeRunFile } from '../../runtime/state/keyindex';
import type { Rec } from '../../runtime/state/runfile';
import { hqKey } from '../../runtime/state/records';
import { rankOf } from '../../runtime/state/rank';
import { archiveKey, parseArchive } from '../../runtime/core/layout';
import { withStack } from '../stack';

const FILES = 12;
const HELD = 120_000;
const HEADER = ['id', 'order_id', 'user_id', 'product_id', 'status', 'created_at', 'shipped_at', 'sale_price'];

test('expiring 120,000 held items (about 70 MB of records) fits a 64 MiB heap, each file reported once, in line order', async (t) => {
  await withStack(async (s) => {
    const bucket = new Bucket(s.clients.s3, s.bucket);
    const files = Array.from({ length: FILES }, (_, f) =>
      archiveKey({ entity: 'order_items', name: `part-${f}.csv` }, Date.UTC(2026, 0, 1) + f * 1000),
    );
    function* recs(): Generator<Rec> {
      // Keys sort by what they wait for, so one file's rows are spread over the whole run.
      const all: Rec[] = [];
      for (let i = 0; i < HELD; i++) {
        const file = files[i % FILES]!;
        const rank = rankOf(parseArchive(file)!);
        const order = `order-${(HELD - i).toString().padStart(7, '0')}`;
        const item = `item-${i}`;
        const fields = [item, order, `user-${i}`, 'p1', 'Complete', '2026-01-01T10:00:00Z', '', '12.50'];
        const val = JSON.stringify({
          rank,
          order,
          product: 'p1',
          cents: 1250,
          status: 0,
          item,
          file,
          line: 2 + Math.floor(i / FILES),
          header: HEADER,
          fields: [...fields, 'x'.repeat(300)],
        });
        all.push({ key: hqKey('o', order, item, rank), rank, val });
      }
      all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      yield* all;
    }
    const run = await writeRunFile(bucket, recs(), HELD);
    const out = await promisify(execFile)(
      process.execPath,
      ['--max-old-space-size=64', path.join(__dirname, 'expire-child.js'), JSON.stringify([run])],
      { env: { ...process.env, ...s.env, NODE_NO_WARNINGS: '1' } },
    ).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }));
    t.is(out.stdout.trim(), `EXPIRED ${HELD}`, out.stderr.slice(-400));
    const reports = await bucket.list('err/unmatched/');
    t.is(reports.length, FILES);
    for (const r of reports) {
      const lines = ((await bucket.readText(r.key)) ?? '').trim().split('\n');
      t.is(lines.length, 1 + HELD / FILES, r.key);
      const at = lines.slice(1).map((l) => Number(l.split(',').at(-1)));
      t.deepEqual(
        at,
        at.map((_, k) => 2 + k),
        `${r.key} is in line order`,
      );
    }
  });
});
