// Regressions (issue 22, item 7): a sweep's hand-off event listed every file, and past ~800 files it
// exceeded EventBridge's 256 KB entry (the hand-off failed); SNS alert subjects built from object
// keys could hold control characters, and SNS then refused the alert.
import test from 'ava';
import { makeClients } from '../../runtime/aws/clients';
import { configFromEnv } from '../../runtime/aws/config';
import { Observer, snsMessage, snsSubject } from '../../runtime/aws/observe';
import { parseEvent } from '../../runtime/stages/events';
import { Pipeline } from '../../runtime/stages/pipeline';
import type { ValidateResult } from '../../runtime/stages/validate';
import { record, type Call } from '../iam-calls';

// EventBridge and SNS cannot run here: their calls are recorded and answered as accepted.
function recorded() {
  const cfg = configFromEnv({
    bucket: 'b',
    region: 'us-east-1',
    eventBus: 'bus',
    alertTopicArn: 'arn:aws:sns:us-east-1:1:t',
  });
  const clients = makeClients(cfg);
  const calls: Call[] = [];
  record(clients, 'validate', calls);
  const obs = new Observer(
    cfg,
    () => undefined,
    () => undefined,
    clients.sns,
  );
  return { pipeline: new Pipeline(cfg, { clients, obs }), calls, obs };
}

test('the hand-off of 5,000 files is one small entry: counts and the earliest upload time', async (t) => {
  const { pipeline, calls } = recorded();
  const results: ValidateResult[] = Array.from({ length: 5000 }, (_, i) => ({
    key: `ecommerce-data/order_items/${'x'.repeat(200)}-${i}.csv`,
    status: i % 10 === 0 ? 'rejected' : 'archived',
    note: '',
    rows: 1,
    accepted: 1,
    rejected: 0,
    rejectedByReason: {},
    ms: 1,
    uploadedAt: 1_700_000_000_000 + i,
  })) as ValidateResult[];
  await pipeline.emitValidated(results);
  const entry = calls.find((c) => c.command === 'PutEventsCommand')!.input.Entries[0];
  t.true(Buffer.byteLength(entry.Detail) < 1024, `${Buffer.byteLength(entry.Detail)} bytes`);
  const detail = JSON.parse(entry.Detail);
  t.deepEqual(detail, {
    bucket: 'b',
    uploaded_at: '1700000000000',
    files: 5000,
    by_status: { rejected: 500, archived: 4500 },
  });
  // what the transform task receives (the whole event, or the rule's input transformer) gives the time back
  t.is(parseEvent(JSON.stringify({ detail })).uploadedAt, 1_700_000_000_000);
});

test('alert subjects are printable ASCII under 100 characters whatever the key; long messages are cut', async (t) => {
  const { obs, calls } = recorded();
  await obs.alert('KPI pipeline quarantined archive/orders/a\nb\tc\u0001d-日本-é.csv', 'x');
  const subject = calls.find((c) => c.command === 'PublishCommand')!.input.Subject as string;
  t.regex(subject, /^[\x21-\x7e][\x20-\x7e]{0,98}$/);
  t.is(subject, 'KPI pipeline quarantined archive/orders/a?b?c?d-?-?.csv');
  t.is(snsSubject(' '), 'KPI pipeline alert');
  t.is(snsSubject('y'.repeat(300)).length, 99);
  const long = snsMessage('é'.repeat(200_000));
  t.true(Buffer.byteLength(long) <= 250_100);
  t.true(long.endsWith("[cut: the full text is in the task's log]"));
  t.is(snsMessage('short'), 'short');
});
