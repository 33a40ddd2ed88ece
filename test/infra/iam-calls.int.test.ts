// The task roles against the calls the stages really make (issue 22, item 2). Every SDK call of
// validate, the transform (bulk, incremental, held-item expiry, merges, quarantine, a redo after a
// kill) and verify is recorded against the embedded stack, mapped to its IAM action, resource and
// s3:prefix, and checked against the role of the task that runs it; and every permission the roles
// grant must be used by some call. A new SDK call without its permission fails here.
import test from 'ava';
import path from 'node:path';
import { transformStatements, validateStatements, type Statement } from '../../infra/iam';
import { makeClients } from '../../runtime/aws/clients';
import { Observer } from '../../runtime/aws/observe';
import { planUpload, upload } from '../../runtime/cli/upload';
import { verifyWith } from '../../runtime/cli/verify-commands';
import * as versions from '../../runtime/core/parse/versions';
import { LANDING_PREFIX } from '../../runtime/core/names';
import { configForStack } from '../../runtime/local/stack';
import { Pipeline, type PipelineOptions } from '../../runtime/stages/pipeline';
import { ROOT } from '../helpers';
import { allowing, globMatch, needs, record, type Arns, type Call, type Need } from '../iam-calls';
import { withStack } from '../stack';
import { Bucket } from '../../runtime/aws/s3store';

const DATA = path.join(ROOT, 'data');
const ARNS: Arns = {
  region: 'us-east-1',
  account: '123456789012',
  bucket: '',
  topicKey: 'arn:aws:kms:us-east-1:123456789012:key/kpi',
};
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:kpi-alerts';
const BUS = 'kpi-bus';

/** Granted but not exercised here, with why: each must stay justified. */
const ONLY_ON_AWS: { stage: string; action: string; why: string }[] = [
  // The deployed bucket is versioned and the S3 event names the version; s3rver keeps no versions.
  { stage: 'validate', action: 's3:GetObjectVersion', why: 'versioned bucket only' },
  { stage: 'validate', action: 's3:DeleteObjectVersion', why: 'versioned bucket only' },
];

async function scenario(calls: Call[]) {
  return withStack(async (s) => {
    const cfg = configForStack(s, { eventBus: BUS, alertTopicArn: TOPIC, holdSeconds: 0 });
    const quiet = () =>
      new Observer(
        cfg,
        () => undefined,
        () => undefined,
      );
    const stage = (name: string, opts: PipelineOptions = {}) => {
      const clients = makeClients(cfg, { s3: s.endpoint, dynamodb: s.endpoint, local: true });
      record(clients, name, calls);
      return new Pipeline(cfg, { clients, obs: quiet(), ...opts });
    };
    const V = stage('validate');
    const T = stage('transform');
    const validate = async () => {
      const v = await V.validate((await V.bucket.list(LANDING_PREFIX)).map((o) => o.key));
      await V.emitValidated(v);
    };
    // 1. First load (the bulk path), with a file rejected whole and one with a high reject share (alert).
    const user = new Bucket(s.clients.s3, s.bucket); // uploads are the user's calls, not a stage's
    await upload(user, planUpload(DATA));
    await user.put('ecommerce-data/orders/no-columns.csv', 'a,b\n1,2\n');
    await user.put('ecommerce-data/orders/dirty.csv', 'order_id,user_id,status,created_at\nx1,u,Complete,not-a-date\n');
    await validate();
    // An archived file the state has never seen (an archive from before the state index): no marker.
    await user.delete((await user.list('state/pending/'))[0].key);
    await T.transform();
    // The same file delivered twice: validate compares it with its archived copy.
    await upload(user, planUpload(DATA).slice(0, 1));
    await validate();
    await T.transform();
    // 2. Incremental batches: a held item that expires, a category change, a later order version.
    await user.put(
      'ecommerce-data/order_items/held.csv',
      'id,order_id,product_id,sale_price\nh1,never-an-order,1,5.00\n',
    );
    await validate();
    await T.transform();
    await user.put('ecommerce-data/products/recat.csv', 'id,category\n1,Recategorised\n');
    await user.put(
      'ecommerce-data/orders/solo.csv',
      'order_id,user_id,status,created_at\nsolo,u1,Complete,2031-01-01T00:00:00\n',
    );
    await user.put('ecommerce-data/order_items/solo.csv', 'id,order_id,product_id,sale_price\nsolo-1,solo,1,3.00\n');
    await validate();
    await T.transform();
    // a later version moves the day's only order: the old day's order row is deleted
    await user.put(
      'ecommerce-data/orders/solo2.csv',
      'order_id,user_id,status,created_at\nsolo,u1,Complete,2031-01-02T00:00:00\n',
    );
    await validate();
    await T.transform();
    // 3. A run killed after its commit; the next run finishes its work (reads the commit record).
    await user.put(
      'ecommerce-data/orders/later.csv',
      'order_id,user_id,status,created_at\n1,u9,Returned,2025-01-01T00:00:00\n',
    );
    await validate();
    const killed = stage('transform', {
      hooks: {
        afterCommit: () => {
          throw new Error('killed');
        },
      },
    });
    await killed.transform().catch(() => undefined);
    await T.transform();
    // 4. An archived file that fails twice the same way: quarantined.
    await user.put(
      'ecommerce-data/orders/poison.csv',
      'order_id,user_id,status,created_at\np1,u,Complete,2025-01-02T00:00:00\n',
    );
    await validate();
    const poison = (await V.bucket.list('archive/orders/poison.csv/'))[0].key;
    const readVersions = versions.readVersions;
    (versions as { readVersions: typeof readVersions }).readVersions = (entity, file, open) => {
      if (file === poison) throw new RangeError('simulated bug');
      return readVersions(entity, file, open);
    };
    try {
      await T.transform();
    } finally {
      (versions as { readVersions: typeof readVersions }).readVersions = readVersions;
    }
    // 5. kpi rebuild, in the transform's task definition, writes a lost validated object again.
    await user.delete((await user.list('validated/'))[0]!.key);
    await T.rebuild();
    // 6. The scheduled verify runs in the transform's task definition.
    const verified = await verifyWith(T, false);
    return { verified, bucket: s.bucket };
  });
}

const run = (async () => {
  const calls: Call[] = [];
  const { verified, bucket } = await scenario(calls);
  return { calls, verified, bucket };
})();

function roles(bucket: string): Record<string, Statement[]> {
  const b = `arn:aws:s3:::${bucket}`;
  const table = (n: string) => `arn:aws:dynamodb:${ARNS.region}:${ARNS.account}:table/${n}`;
  const bus = `arn:aws:events:${ARNS.region}:${ARNS.account}:event-bus/${BUS}`;
  const transform = transformStatements(
    b,
    [table('category_kpi_table'), table('order_kpi_table')],
    table('kpi_state_table'),
    TOPIC,
    ARNS.topicKey,
  );
  // verify runs in the transform's task definition (infra/trigger.ts, VERIFY_INPUT)
  return { validate: validateStatements(b, bus, TOPIC, ARNS.topicKey), transform };
}

test('every call a stage makes is allowed by its task role', async (t) => {
  const { calls, verified, bucket } = await run;
  t.true(verified.ok, 'the scenario ends consistent');
  const policy = roles(bucket);
  const denied: string[] = [];
  for (const c of calls) {
    const role = policy[c.stage];
    for (const n of needs(c, { ...ARNS, bucket })) {
      if (!allowing(role, n).length)
        denied.push(`${c.stage}: ${c.command} → ${n.action} on ${n.resource} ${JSON.stringify(n.context ?? {})}`);
    }
  }
  t.deepEqual([...new Set(denied)], []);
  // the scenario covers what it claims: both paths, expiry, quarantine, alerts, the hand-off
  const commands = new Set(calls.map((c) => `${c.stage}:${c.command}`));
  t.true(
    calls.some(
      (c) => c.stage === 'transform' && c.command === 'ListObjectsV2Command' && c.input.Prefix === LANDING_PREFIX,
    ),
    'the bulk path lists the landing zone',
  );
  for (const want of [
    'validate:PutEventsCommand',
    'validate:PublishCommand',
    'transform:PublishCommand',
    'transform:CopyObjectCommand',
    'transform:PutItemCommand',
  ])
    t.true(commands.has(want), want);
});

test('nothing is granted that no stage uses', async (t) => {
  const { calls, bucket } = await run;
  const policy = roles(bucket);
  const unused: string[] = [];
  for (const stage of ['validate', 'transform']) {
    const used: Need[] = calls.filter((c) => c.stage === stage).flatMap((c) => needs(c, { ...ARNS, bucket }));
    for (const s of policy[stage]) {
      for (const action of s.Action)
        for (const resource of s.Resource) {
          const hit = used.some(
            (n) => globMatch(action, n.action, true) && globMatch(resource, n.resource) && allowing([s], n).length > 0,
          );
          if (!hit && !ONLY_ON_AWS.some((x) => x.stage === stage && x.action === action))
            unused.push(`${stage} ${s.Sid}: ${action} on ${resource}`);
        }
      // every s3:prefix a ListBucket statement allows is listed by some call
      for (const p of (s.Condition?.StringLike?.['s3:prefix'] as string[] | undefined) ?? []) {
        if (
          !used.some(
            (n) =>
              n.action === 's3:ListBucket' &&
              n.context?.['s3:prefix'] !== undefined &&
              globMatch(p, n.context['s3:prefix']),
          )
        )
          unused.push(`${stage} ${s.Sid}: s3:ListBucket with prefix ${p}`);
      }
    }
  }
  t.deepEqual(unused, []);
});
