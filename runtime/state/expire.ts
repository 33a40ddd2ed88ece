// Held-item expiry: items still waiting for their order or product are reported to err/unmatched/
// once their file is older than the hold time.
import { createHash } from 'node:crypto';
import { parseArchive, unmatchedKey } from '../core/layout';
import { rejectsToCsv } from '../core/formats/rejects';
import type { RejectedRow } from '../core/join/join';
import type { Bucket } from '../aws/s3store';
import type { Observer } from '../aws/observe';
import { heldRow } from './incremental';
import { LineGroups } from './spill';
import type { KeyIndex } from './keyindex';
import { prefix } from './runfile';

export interface ExpireContext {
  bucket: Bucket;
  obs: Observer;
  holdSeconds: number;
}

/**
 * One object per source version, rewritten only when its content changes. The items are not
 * dropped: if the order arrives even later, that run counts the item.
 */
export async function expireHeld(ctx: ExpireContext, ix: KeyIndex, now: number): Promise<number> {
  // Held records come in key order (what they wait for), reports go by file: the rows of files past
  // the hold time are grouped on disk, so memory follows the largest file's held rows, not all of them.
  const groups = new LineGroups();
  try {
    for await (const r of ix.scanEach(prefix('hq'))) {
      const h = heldRow(r);
      const v = parseArchive(h.file);
      if (v && now - v.millis >= ctx.holdSeconds * 1000) groups.add(h.file, JSON.stringify(h));
    }
    let expired = 0;
    for (const file of groups.names()) {
      const v = parseArchive(file)!;
      const rows = groups.read(file).map((l) => JSON.parse(l) as RejectedRow);
      rows.sort((a, b) => a.line - b.line);
      expired += rows.length;
      const key = unmatchedKey(v, v.millis);
      const body = rejectsToCsv(rows);
      const md5 = `"${createHash('md5').update(body).digest('hex')}"`;
      const cur = await ctx.bucket.head(key);
      if (cur?.etag === md5) continue;
      await ctx.bucket.put(key, body);
      ctx.obs.log('rows_expired', { source: file, to: key, rows: rows.length });
    }
    return expired;
  } finally {
    groups.close();
  }
}
