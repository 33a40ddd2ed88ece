// The bulk path in memory (the default: transform.ts bulkApply): the whole
// archive read by kpi compute's engine into typed columns, the lake written from them and the
// state's millions of id records written as bytes (records.ts), no string per row. About 170 bytes
// of memory per item of history; past the threshold the history engine takes over.
import { computeSources } from '../core/compute';
import { laps } from '../core/laps';
import { cmp, type Rec, type RunWriter } from './runfile';
import type { Reason } from '../core/parse/rules';
import { daysFromTables, writeLake } from './lake';
import type { RejectedRow } from '../core/join/join';
import { parseArchive, type ArchivedVersion } from '../core/layout';
import { emptyState, type StateBody } from './incremental';
import { dayRecordsOf, fKey, hqKey, idRecords } from './records';
import { BulkSuperseded, type BulkOutcome } from './bulk';
import { rankOf } from './rank';
import { archiveSources } from './pending';
import type { Bucket } from '../aws/s3store';

const byKey = (a: Rec, b: Rec) => cmp(a.key, b.key);

/** A held item version's record: what it waits for, and the row err/unmatched/ will report. */
function heldRecordOf(h: RejectedRow, r: string): Rec {
  const it = h.item!;
  const waits = h.reason === 'unknown_order' ? 'o' : 'p';
  const held = {
    rank: r,
    order: it.order,
    product: it.product,
    cents: it.cents,
    status: it.status,
    item: it.id,
    file: h.file,
    line: h.line,
    header: h.header,
    fields: h.fields,
  };
  return { key: hqKey(waits, waits === 'o' ? it.order : it.product, it.id, r), rank: r, val: JSON.stringify(held) };
}

/**
 * `superseded` is asked once the recompute is done, before anything is written, and again after
 * the lake files: true makes the run throw BulkSuperseded (a load still arriving is recomputed
 * once at its end, not once per file).
 */
export async function bulkInMemory(
  bucket: Bucket,
  versions: ArchivedVersion[],
  superseded?: () => Promise<boolean>,
  rewriteLake = false,
): Promise<BulkOutcome> {
  const { times, lap } = laps();
  const res = await computeSources(archiveSources(bucket, versions), { unknownMode: 'hold' });
  lap('compute');
  if (superseded && (await superseded())) throw new BulkSuperseded('more files are pending');
  const lake = await writeLake(bucket, daysFromTables(res.tables), { deferDeletes: true, rewrite: rewriteLake });
  lap('lake');
  // Asked again before the state records: the day files just put are unreferenced until a commit,
  // and the next bulk run lists and supersedes them.
  if (superseded && (await superseded())) throw new BulkSuperseded('more files are pending');
  const ranks = new Map<string, string>();
  const rank = (file: string) => {
    let r = ranks.get(file);
    if (r === undefined) ranks.set(file, (r = rankOf(parseArchive(file)!)));
    return r;
  };
  // The records in key order, kind by kind (d < f < hq < i < o < p): the big kinds are written
  // from the typed columns in order, so no array of every record (nor a string per record) exists.
  const tables = res.tables;
  let cents = 0;
  for (const d of lake.dayFiles) cents += d.cents;
  function* records(w: RunWriter): Generator<void> {
    const small = (recs: Rec[]) => {
      for (const r of recs.sort(byKey)) w.add(r);
    };
    small(dayRecordsOf(lake.dayFiles, res));
    small(versions.map((v) => ({ key: fKey(v.key), rank: '', val: '1' })));
    small(res.held.map((h) => heldRecordOf(h, rank(h.file))));
    yield;
    yield* idRecords(w, tables, rank);
  }
  const body: StateBody = {
    ...emptyState(),
    files: versions.length,
    bytes: versions.reduce((n, v) => n + v.size, 0),
    rows: res.files.reduce((n, f) => n + f.rows, 0),
    rejected: { ...res.rejected } as Partial<Record<Reason, number>>,
    held: res.held.length,
    joined: res.items,
    revenueCents: cents,
    latestDate: lake.dayFiles.at(-1)?.date ?? null,
  };
  return {
    times,
    records,
    body,
    res,
    changedDates: lake.changedDates,
    lakeWritten: lake.written,
    garbage: lake.garbage,
    close: () => undefined,
  };
}
