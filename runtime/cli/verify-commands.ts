// kpi verify (compare the tables and the curated zone with the history engine's result) and
// kpi rebuild (recompute both from archive/: recovery, and after a format change).
import { configFromEnv } from '../aws/config';
import { Pipeline } from '../stages/pipeline';
import { verify, type AthenaVerify, type VerifyResult } from '../stages/verify';
import { AthenaQueryFailed, type AthenaApi } from '../history/athena';
import { makeAthena } from '../aws/athena';
import { defaultEngineOptions } from '../history/duckdb';
import { ValidatedObjectError } from '../core/formats/validated';
import type { Parsed } from './args';
import { help } from './help';

/** kpi verify on Athena when KPI_HISTORY_ENGINE=athena (tests pass a stand-in for Athena's API). */
function athenaFor(pipeline: Pipeline, api?: AthenaApi): AthenaVerify | undefined {
  const cfg = pipeline.cfg;
  if (cfg.historyEngine !== 'athena' || !cfg.athena) return undefined;
  return { api: api ?? makeAthena(cfg.region), target: cfg.athena, bucketName: cfg.bucket };
}

/** Runs verify with the configured pipeline; logs and alerts on differences. Exit 1 when any. */
export async function verifyWith(pipeline: Pipeline, print = true, api?: AthenaApi): Promise<VerifyResult> {
  let r: VerifyResult;
  try {
    r = await verify(
      pipeline.bucket,
      pipeline.store,
      pipeline.state,
      defaultEngineOptions(pipeline.cfg.historyMemoryMiB),
      athenaFor(pipeline, api),
    );
  } catch (err) {
    if (err instanceof AthenaQueryFailed) {
      pipeline.obs.log('verify_failed', { error: err.message });
      await pipeline.obs.alert(
        'KPI pipeline: verify could not run on Athena',
        `${err.message}\nNothing was compared. KPI_HISTORY_ENGINE=duckdb runs kpi verify in the task instead.`,
      );
    }
    if (!(err instanceof ValidatedObjectError)) throw err;
    pipeline.obs.log('verify_failed', { object: err.key, error: err.problem });
    await pipeline.obs.alert(
      'KPI pipeline: verify cannot read the validated zone',
      `${err.message}\nNothing was compared. Run kpi rebuild to write the validated zone again from archive/.`,
    );
    throw err;
  }
  pipeline.obs.log(r.ok ? 'verify_ok' : 'verify_failed', {
    differences: r.differences.length,
    checked: r.checked,
    garbage: r.garbage,
    ms: r.ms,
  });
  if (print) {
    for (const d of r.differences) console.log(`${d.where}\t${d.key}\t${d.problem}`);
    console.log(
      r.ok
        ? `verify: ok (${r.checked.categoryRows} category rows, ${r.checked.orderRows} order rows, ${r.checked.lakeDays} lake days; ${r.garbage} unreferenced objects for the next transform to delete)`
        : `verify: ${r.differences.length} difference(s); 'kpi rebuild' recomputes the tables and the lake from archive/`,
    );
  }
  if (!r.ok) {
    const list = r.differences
      .slice(0, 50)
      .map((d) => `${d.where} ${d.key}: ${d.problem}`)
      .join('\n');
    await pipeline.obs.alert(
      `KPI pipeline: verify found ${r.differences.length} difference(s)`,
      `${list}${r.differences.length > 50 ? '\n...' : ''}\nRun kpi rebuild to recompute from archive/.`,
    );
  }
  return r;
}

export async function verifyCmd(p: Parsed): Promise<number> {
  if (p.flags.help) return help('verify');
  const pipeline = new Pipeline(configFromEnv());
  return (await verifyWith(pipeline)).ok ? 0 : 1;
}

export async function rebuild(p: Parsed): Promise<number> {
  if (p.flags.help) return help('rebuild');
  const pipeline = new Pipeline(configFromEnv());
  const t = await pipeline.rebuild();
  console.log(
    `rebuild: ${t.files} archived files, ${t.items} joined items; ${t.puts} KPI rows written, ${t.deletes} deleted; ${t.lakeFilesWritten} lake files written, ${t.lakeFilesDeleted} deleted (${t.ms} ms)`,
  );
  return (await verifyWith(pipeline)).ok ? 0 : 1;
}
