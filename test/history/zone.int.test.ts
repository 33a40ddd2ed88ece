// The validated zone end to end on the embedded stack: validate writes one object per archived
// file; kpi verify reads the history through it (a lake file with other content is a difference
// with its items); an object that is missing, truncated or of another schema stops verify with an
// error naming it and an alert, before anything is compared; kpi rebuild writes those objects
// again from archive/, and verify is ok after.
import test from 'ava';
import path from 'node:path';
import { planUpload, upload } from '../../runtime/cli/upload';
import { verify } from '../../runtime/stages/verify';
import { ValidatedObjectError } from '../../runtime/core/formats/validated';
import { kpiAsync, ROOT } from '../helpers';
import { quietPipeline, withStack } from '../stack';

const DATA = path.join(ROOT, 'data');

test.serial(
  'validate writes the zone; verify reads it; bad objects are named errors; rebuild restores them',
  async (t) => {
    await withStack(async (s) => {
      const { pipeline } = quietPipeline(s);
      const b = pipeline.bucket;
      await upload(b, planUpload(DATA));
      await pipeline.process();
      const archived = (await b.list('archive/')).map((o) => o.key);
      const zone = (await b.list('validated/')).map((o) => o.key);
      t.is(archived.length, 12);
      t.deepEqual(
        zone,
        archived.map((k) => `validated/${k.slice('archive/'.length, -'.csv'.length)}.parquet`),
      );
      t.true((await verify(b, pipeline.store, pipeline.state)).ok);

      // A lake day holding another day's rows: a difference naming the day and its items.
      const lake = (await b.list('curated/')).map((o) => o.key);
      await b.put(lake[5]!, await b.readBytes(lake[6]!));
      const r = await verify(b, pipeline.store, pipeline.state);
      t.deepEqual(
        r.differences.map((d) => [d.where, d.key]),
        [['curated', lake[5]!.split('/')[2]!]],
      );
      t.regex(r.differences[0]!.problem, /rows in 1 file\(s\), expected \d+; items differing: \S+/);
      await b.put(lake[5]!, await b.readBytes(lake[4]!)); // still wrong; rebuild below repairs it

      // Missing, truncated, another schema: each named, nothing compared.
      const [missing, truncated, other] = [zone[0]!, zone[4]!, zone[8]!];
      const original = new Map<string, Buffer>();
      for (const k of [missing, truncated, other]) original.set(k, await b.readBytes(k));
      const breakIt: Record<string, () => Promise<unknown>> = {
        [missing]: () => b.delete(missing),
        [truncated]: () => b.put(truncated, original.get(truncated)!.subarray(0, original.get(truncated)!.length >> 1)),
        [other]: async () => b.put(other, await b.readBytes(lake[0]!)), // Parquet, but a lake file
      };
      const problems: [string, RegExp][] = [
        [missing, /missing \(the validated object of archive\/\S+\); kpi rebuild writes it again/],
        [truncated, /not a whole Parquet file/],
        [other, /validated-zone schema \(none\), this code reads 1/],
      ];
      for (const [key, problem] of problems) {
        await breakIt[key]!();
        const err = await t.throwsAsync(() => verify(b, pipeline.store, pipeline.state), {
          instanceOf: ValidatedObjectError,
        });
        t.is(err!.key, key);
        t.regex(err!.message, problem);
        await b.put(key, original.get(key)!);
      }
      // As a user sees it: exit 1, the object named, an alert.
      await breakIt[truncated]!();
      const v = await kpiAsync(['verify'], s.env);
      t.is(v.status, 1);
      t.regex(v.stderr, /ALERT: KPI pipeline: verify cannot read the validated zone/);
      t.true(v.stderr.includes(`${truncated}: not a whole Parquet file`), v.stderr);

      // kpi rebuild writes the three objects again from archive/ (the same bytes), and repairs the lake.
      for (const key of [missing, other]) await breakIt[key]!();
      const rb = await kpiAsync(['rebuild'], s.env);
      t.is(rb.status, 0, rb.stdout + rb.stderr);
      t.regex(rb.stdout, /verify: ok/);
      t.deepEqual(
        (await b.list('validated/')).map((o) => o.key),
        zone,
      );
      for (const [key, bytes] of original) t.true((await b.readBytes(key)).equals(bytes), key);
    });
  },
);
