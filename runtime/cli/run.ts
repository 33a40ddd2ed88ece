// kpi run: the container entry point (README "The kpi command" for the environment it reads).
import { UsageError, type Parsed } from './args';
import { configFromEnv, runRequestFromEnv } from '../aws/config';
import { DeadlineExceeded, Deadline } from '../aws/deadline';
import { help } from './help';
import { verifyWith } from './verify-commands';
import { ENV, LANDING_PREFIX } from '../core/names';
import { Pipeline } from '../stages/pipeline';
import { BadEvent, decodeEventKey, parseEvent } from '../stages/events';
import type { ValidateResult } from '../stages/validate';

export async function run(p: Parsed): Promise<number> {
  if (p.flags.help) return help('run');
  const cfg = configFromEnv();
  const pipeline = new Pipeline(cfg);
  const deadline = new Deadline(cfg.deadlineSeconds);
  const req = runRequestFromEnv();
  const stage = req.stage;
  const event = parseEventOrUsage(req.event);
  const key = req.key || event.key;
  const versionId = req.versionId || event.versionId;
  let failed: ValidateResult[] = [];
  try {
    if (stage && stage !== 'validate' && stage !== 'transform' && stage !== 'verify')
      throw new UsageError(`${ENV.stage} must be validate, transform or verify, got '${stage}'`);
    if (stage === 'verify') {
      // The scheduled check: differences are logged and alerted, and the task exits 1.
      return (await verifyWith(pipeline, false)).ok ? 0 : 1;
    }
    if (stage === 'transform') {
      // Every upload's hand-off starts a transform task: while one runs, the others ask it to look
      // again and exit 0 at once, instead of queueing on the lease (and failing after 15 minutes).
      await pipeline.transform(deadline, { coalesce: true });
      // The hand-off event carries the upload times of its files: upload → KPIs written, on AWS too.
      pipeline.latencySince(req.uploadedAt ?? event.uploadedAt);
    } else if (key) {
      const v = await validateEventKey(pipeline, key, versionId, deadline);
      if (cfg.eventBus) await pipeline.emitValidated(v);
      else if (stage !== 'validate') {
        await pipeline.transform(deadline);
        pipeline.latency(v);
      }
      failed = v.filter((x) => x.status === 'failed');
    } else if (stage === 'validate') {
      // The scheduled sweep: validate whatever is still in the landing zone (a failed validation
      // heals itself); the transform is left to the hand-off, so this needs no DynamoDB access.
      const v = await pipeline.validate(
        (await pipeline.bucket.list(LANDING_PREFIX)).map((o) => o.key),
        deadline,
      );
      if (cfg.eventBus && v.length) await pipeline.emitValidated(v);
      failed = v.filter((x) => x.status === 'failed');
    } else {
      const b = await pipeline.process(undefined, deadline);
      if (cfg.eventBus && b.validated.length) await pipeline.emitValidated(b.validated);
      failed = b.validated.filter((x) => x.status === 'failed');
    }
    if (failed.length) {
      // A count and the first few: a sweep can fail on thousands of files at once.
      const shown = failed.slice(0, 20).map((f) => `${f.key}: ${f.note}`);
      if (failed.length > shown.length)
        shown.push(`... and ${failed.length - shown.length} more (the task's log names each)`);
      await pipeline.obs.alert(`KPI pipeline could not process ${failed.length} file(s)`, shown.join('\n'));
      return 1; // non-zero: the rule's retry (or the next run) picks the files up again
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const timedOut = err instanceof DeadlineExceeded;
    pipeline.obs.error(timedOut ? 'deadline_reached' : 'run_failed', {
      stage: stage || 'validate+transform',
      key,
      error: (err as Error).message,
    });
    await pipeline.obs.alert(
      `KPI pipeline ${timedOut ? 'deadline reached' : 'run failed'}`,
      `${stage || 'run'} ${key ?? '(landing zone)'}: ${(err as Error).stack ?? err}`,
    );
    return timedOut ? 3 : 1;
  }
}

/**
 * Object keys in S3 event notifications are URL-encoded, a space as '+' (AWS Lambda Powertools
 * decodes detail.object.key with unquote_plus). Tries the decoded key, then the key as given
 * (a producer that did not encode it, or a literal '+' in a name).
 */
async function validateEventKey(
  pipeline: Pipeline,
  key: string,
  versionId: string | undefined,
  deadline: Deadline,
): Promise<ValidateResult[]> {
  const decoded = decodeEventKey(key);
  if (decoded !== key) {
    const v = await pipeline.validate([decoded], deadline, versionId ? new Map([[decoded, versionId]]) : undefined);
    if (v[0]?.status !== 'gone') return v;
  }
  return pipeline.validate([key], deadline, versionId ? new Map([[key, versionId]]) : undefined);
}

function parseEventOrUsage(json: string | undefined) {
  try {
    return parseEvent(json);
  } catch (err) {
    if (err instanceof BadEvent) throw new UsageError(err.message);
    throw err;
  }
}
