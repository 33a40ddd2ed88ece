// The Pulumi program under mocks: what it registers, with which inputs, and the policy pack over it.
import test from 'ava';
import { runProgram, type Captured } from '../infra-mocks';
import { resourcePolicies, stackPolicies, wildcardActions } from '../../policy/policies';
import { resolveSettings } from '../../infra/settings';
import { familyArn } from '../../infra/iam';
import { VALIDATE_INPUT_TEMPLATE, objectCreatedPattern } from '../../infra/trigger';
import type { ResourceValidationArgs, StackValidationArgs } from '@pulumi/policy';

const run = runProgram({ 'kpi:alertEmails': '["oncall@example.com","data@example.com"]', 'kpi:protect': 'false' });
const of = (rs: Captured[], type: string) => rs.filter((r) => r.type === type);
const one = (rs: Captured[], type: string, pred: (r: Captured) => boolean = () => true) => {
  const found = of(rs, type).filter(pred);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
};
const json = (s: unknown) => JSON.parse(String(s));

// Expected per type, from the design (README "Architecture"), not from a run of the program.
const EXPECTED: Record<string, number> = {
  'aws:s3/bucket:Bucket': 1,
  'aws:s3/bucketOwnershipControls:BucketOwnershipControls': 1,
  'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock': 1,
  'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration': 1,
  'aws:s3/bucketVersioning:BucketVersioning': 1,
  'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration': 1,
  'aws:s3/bucketPolicy:BucketPolicy': 1,
  'aws:s3/bucketNotification:BucketNotification': 1,
  'aws:dynamodb/table:Table': 3,
  'aws:ec2/vpc:Vpc': 1,
  'aws:ec2/routeTable:RouteTable': 1,
  'aws:ec2/subnet:Subnet': 2,
  'aws:ec2/routeTableAssociation:RouteTableAssociation': 2,
  'aws:ec2/securityGroup:SecurityGroup': 2,
  'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule': 1,
  'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule': 3, // to endpoints, to S3 and DynamoDB prefix lists
  'aws:ec2/vpcEndpoint:VpcEndpoint': 7, // 2 gateway + 5 interface
  'aws:ecr/repository:Repository': 1,
  'aws:ecr/lifecyclePolicy:LifecyclePolicy': 1,
  'awsx:ecr:Image': 2,
  'aws:kms/key:Key': 1,
  'aws:sns/topic:Topic': 1,
  'aws:sns/topicPolicy:TopicPolicy': 1,
  'aws:sns/topicSubscription:TopicSubscription': 2,
  'aws:ecs/cluster:Cluster': 1,
  'aws:iam/role:Role': 4, // execution, validate task, transform task, events
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment': 1,
  'aws:iam/rolePolicy:RolePolicy': 3,
  'aws:cloudwatch/logGroup:LogGroup': 2,
  'aws:ecs/taskDefinition:TaskDefinition': 2,
  'aws:sqs/queue:Queue': 1,
  'aws:sqs/queuePolicy:QueuePolicy': 1,
  'aws:cloudwatch/eventRule:EventRule': 6, // object created, hand-off, reconcile schedule, sweep schedule, verify schedule, task failed
  'aws:cloudwatch/eventTarget:EventTarget': 6,
  // DLQ, 5 rules × (failed invocations, failed to send to the DLQ), rejected share, latency, 2 tables' throttles
  'aws:cloudwatch/metricAlarm:MetricAlarm': 15,
  'aws:cloudwatch/dashboard:Dashboard': 1,
  'aws:glue/catalogDatabase:CatalogDatabase': 1,
  'aws:glue/catalogTable:CatalogTable': 4, // the lake, and the validated zone's three entities
  'aws:athena/workgroup:Workgroup': 1,
  // one component per concern, as index.ts wires them
  'kpi:network:Network': 1,
  'kpi:storage:Storage': 1,
  'kpi:alerts:Alerts': 1,
  'kpi:images:Images': 1,
  'kpi:compute:Compute': 1,
  'kpi:trigger:Trigger': 1,
  'kpi:monitoring:Monitoring': 1,
  'kpi:lake:Lake': 1,
};

test('every resource is registered (setMocks awaited before the import)', async (t) => {
  const { resources } = await run;
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  t.deepEqual(counts, EXPECTED);
  t.is(
    resources.length,
    Object.values(EXPECTED).reduce((a, b) => a + b, 0),
  );
});

test('storage: bucket guards, lifecycle, EventBridge notifications; the seed tables', async (t) => {
  const { resources: rs } = await run;
  t.like(one(rs, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').inputs, {
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  t.is(
    one(rs, 'aws:s3/bucketOwnershipControls:BucketOwnershipControls').inputs.rule.objectOwnership,
    'BucketOwnerEnforced',
  );
  t.is(
    one(rs, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration').inputs.rules[0]
      .applyServerSideEncryptionByDefault.sseAlgorithm,
    'AES256',
  );
  t.is(one(rs, 'aws:s3/bucketVersioning:BucketVersioning').inputs.versioningConfiguration.status, 'Enabled');
  const rules = one(rs, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').inputs.rules;
  // archive/ is read by every transform: no transition to STANDARD_IA (retrieval fees, 128 KB minimums)
  t.deepEqual(
    rules.map((r: any) => r.id),
    ['expire-errors', 'expire-athena-results', 'abort-incomplete-uploads', 'expire-old-versions'],
  );
  t.false(rules.some((r: any) => r.transitions));
  t.like(rules[0], { filter: { prefix: 'err/' }, expiration: { days: 90 } });
  // Every processed upload leaves a delete marker in the versioned landing zone: once its noncurrent
  // versions have expired, the marker alone is removed too (regression: they piled up forever).
  t.like(rules[3], {
    filter: {},
    noncurrentVersionExpiration: { noncurrentDays: 30 },
    expiration: { expiredObjectDeleteMarker: true },
  });
  t.is(one(rs, 'aws:s3/bucketNotification:BucketNotification').inputs.eventbridge, true);
  const policy = json(one(rs, 'aws:s3/bucketPolicy:BucketPolicy').inputs.policy);
  t.like(policy.Statement[0], {
    Effect: 'Deny',
    Action: 's3:*',
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  });
  const cat = one(rs, 'aws:dynamodb/table:Table', (r) => r.inputs.name === 'category_kpi_table').inputs;
  t.like(cat, {
    hashKey: 'category',
    rangeKey: 'order_date',
    billingMode: 'PAY_PER_REQUEST',
    serverSideEncryption: { enabled: true },
    pointInTimeRecovery: { enabled: true },
    deletionProtectionEnabled: false,
  });
  t.deepEqual(cat.attributes, [
    { name: 'category', type: 'S' },
    { name: 'order_date', type: 'S' },
  ]);
  const ord = one(rs, 'aws:dynamodb/table:Table', (r) => r.inputs.name === 'order_kpi_table').inputs;
  t.like(ord, { hashKey: 'order_date', billingMode: 'PAY_PER_REQUEST' });
  t.is(ord.rangeKey, undefined);
  // the incremental transform's manifest and lease: on demand, encrypted, PITR like the others
  const state = one(rs, 'aws:dynamodb/table:Table', (r) => r.inputs.name === 'kpi_state_table').inputs;
  t.like(state, {
    hashKey: 'pk',
    billingMode: 'PAY_PER_REQUEST',
    serverSideEncryption: { enabled: true },
    pointInTimeRecovery: { enabled: true },
  });
  t.deepEqual(state.attributes, [{ name: 'pk', type: 'S' }]);
});

test('images: scanned repository, last-N lifecycle, two amd64 targets of one Dockerfile', async (t) => {
  const { resources: rs } = await run;
  t.is(one(rs, 'aws:ecr/repository:Repository').inputs.imageScanningConfiguration.scanOnPush, true);
  t.is(json(one(rs, 'aws:ecr/lifecyclePolicy:LifecyclePolicy').inputs.policy).rules[0].selection.countNumber, 10);
  const images = of(rs, 'awsx:ecr:Image').map((r) => r.inputs);
  t.deepEqual(images.map((i) => i.target).sort(), ['transform', 'validate']);
  t.true(images.every((i) => i.platform === 'linux/amd64' && String(i.dockerfile).endsWith('Dockerfile')));
});

test('compute: Fargate sizes from config, log groups, deadline and names passed to the runtime', async (t) => {
  const { resources: rs } = await run;
  t.deepEqual(one(rs, 'aws:ecs/cluster:Cluster').inputs.settings, [{ name: 'containerInsights', value: 'enabled' }]);
  t.deepEqual(
    of(rs, 'aws:cloudwatch/logGroup:LogGroup')
      .map((l) => [l.inputs.name, l.inputs.retentionInDays])
      .sort(),
    [
      ['/ecs/transform-task', 30],
      ['/ecs/validate-task', 30],
    ],
  );
  for (const stage of ['validate', 'transform']) {
    const td = one(rs, 'aws:ecs/taskDefinition:TaskDefinition', (r) => r.inputs.family === `kpi-${stage}`).inputs;
    t.like(td, { cpu: '1024', memory: '3072', networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'] });
    const [c] = json(td.containerDefinitions);
    const env = Object.fromEntries(c.environment.map((e: any) => [e.name, e.value]));
    t.like(env, {
      KPI_STAGE: stage,
      KPI_DEADLINE_SECONDS: '900',
      KPI_CATEGORY_TABLE: 'category_kpi_table',
      KPI_ORDER_TABLE: 'order_kpi_table',
      KPI_STATE_TABLE: 'kpi_state_table',
      KPI_BUCKET: 'kpi-data-bucket',
      KPI_EVENT_BUS: 'default',
      KPI_HISTORY_MEMORY_MIB: '1536', // half of the task's 3072 MiB
      // V8's heap: a quarter of the task beside the engine, half in validate
      NODE_OPTIONS: `--max-old-space-size=${stage === 'transform' ? 768 : 1536}`,
    });
    // the default engine (auto) is the runtime's own default: nothing set, no Athena access
    t.false('KPI_HISTORY_ENGINE' in env || 'KPI_ATHENA_WORKGROUP' in env);
    t.is(c.logConfiguration.options['awslogs-group'], `/ecs/${stage}-task`);
    t.regex(c.image, new RegExp(`kpi-${stage}$`));
  }
});

test('IAM: exact actions and resources of every policy', async (t) => {
  const { resources: rs } = await run;
  const policies = of(rs, 'aws:iam/rolePolicy:RolePolicy').map((p) => ({ name: p.name, doc: json(p.inputs.policy) }));
  const byName = (n: string) => policies.find((p) => p.name === n)!.doc.Statement;
  const bucket = 'arn:aws:s3:::kpi-data-bucket';
  t.deepEqual(byName('kpi-validate-task'), [
    {
      Sid: 'ListOwnPrefixes',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucket],
      Condition: { StringLike: { 's3:prefix': ['ecommerce-data/*', 'archive/*'] } },
    },
    {
      Sid: 'Landing',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:DeleteObject', 's3:DeleteObjectVersion'],
      Resource: [`${bucket}/ecommerce-data/*`],
    },
    { Sid: 'Archive', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: [`${bucket}/archive/*`] },
    { Sid: 'Errors', Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${bucket}/err/*`] },
    { Sid: 'ValidatedZone', Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${bucket}/validated/*`] },
    { Sid: 'PendingMarkers', Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${bucket}/state/pending/*`] },
    {
      Sid: 'HandOver',
      Effect: 'Allow',
      Action: ['events:PutEvents'],
      Resource: ['arn:aws:events:us-east-1:123456789012:event-bus/default'],
    },
    {
      Sid: 'Alert',
      Effect: 'Allow',
      Action: ['sns:Publish'],
      Resource: ['arn:aws:sns:us-east-1:123456789012:kpi-topic'],
    },
    // the topic is under a customer-managed key: publishing needs the key too
    {
      Sid: 'AlertKey',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      Resource: ['arn:aws:kms:us-east-1:123456789012:kpi-key'],
    },
  ]);
  const transform = byName('kpi-transform-task');
  t.deepEqual(transform.find((s: any) => s.Sid === 'KpiTables').Resource, [
    'arn:aws:dynamodb:us-east-1:123456789012:table/category_kpi_table',
    'arn:aws:dynamodb:us-east-1:123456789012:table/order_kpi_table',
  ]);
  // exactly what the recorded calls need (test/infra/iam-calls.int.test.ts)
  t.deepEqual(transform.find((s: any) => s.Sid === 'KpiTables').Action, ['dynamodb:PutItem', 'dynamodb:Scan']);
  t.deepEqual(transform.find((s: any) => s.Sid === 'ListArchive').Condition, {
    StringLike: {
      's3:prefix': [
        'ecommerce-data/*',
        'archive/*',
        'curated/joined_items/*',
        'state/pending/*',
        'state/index/*',
        'state/commits/*',
      ],
    },
  });
  t.deepEqual(transform.find((s: any) => s.Sid === 'Unmatched').Resource, [`${bucket}/err/unmatched/*`]);
  // the transform deletes only in archive/ (quarantine) and curated/ (a day's old file), and writes err/
  // only under unmatched/ and quarantine/
  t.deepEqual(
    transform.filter((s: any) => s.Action.includes('s3:DeleteObject')).map((s: any) => s.Resource),
    [
      [`${bucket}/archive/*`],
      [`${bucket}/curated/joined_items/*`],
      [`${bucket}/state/index/*`, `${bucket}/state/commits/*`],
      [`${bucket}/state/pending/*`],
    ],
  );
  t.deepEqual(
    transform.find((s: any) => s.Sid === 'StateTable'),
    {
      Sid: 'StateTable',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: ['arn:aws:dynamodb:us-east-1:123456789012:table/kpi_state_table'],
    },
  );
  t.deepEqual(transform.find((s: any) => s.Sid === 'CuratedZone').Action, [
    's3:GetObject',
    's3:PutObject',
    's3:DeleteObject',
  ]);
  t.deepEqual(transform.find((s: any) => s.Sid === 'Quarantine').Resource, [`${bucket}/err/files/quarantine/*`]);
  // the validated zone: read by verify, a lost object written again by rebuild; never listed or deleted
  t.deepEqual(
    transform.find((s: any) => s.Sid === 'ValidatedZone'),
    {
      Sid: 'ValidatedZone',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: [`${bucket}/validated/*`],
    },
  );
  t.deepEqual(
    transform.find((s: any) => s.Sid === 'QualitySummary'),
    { Sid: 'QualitySummary', Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${bucket}/state/quality.json`] },
  );
  t.deepEqual(transform.find((s: any) => s.Sid === 'AlertKey').Resource, [
    'arn:aws:kms:us-east-1:123456789012:kpi-key',
  ]);
  const events = byName('kpi-events');
  t.deepEqual(events[0].Action, ['ecs:RunTask']);
  t.deepEqual(events[0].Resource, [
    'arn:aws:ecs:us-east-1:123456789012:task-definition/kpi-validate:*',
    'arn:aws:ecs:us-east-1:123456789012:task-definition/kpi-transform:*',
  ]);
  t.deepEqual(events[1].Action, ['iam:PassRole']);
  t.deepEqual(events[1].Resource, [
    'arn:aws:iam::123456789012:role/kpi-execution',
    'arn:aws:iam::123456789012:role/kpi-validate-task',
    'arn:aws:iam::123456789012:role/kpi-transform-task',
  ]);
  for (const p of policies) t.deepEqual(wildcardActions(p.doc), [], p.name);
});

test('trigger: S3 pattern, input transformer, retries and DLQ, private tasks, hand-off and schedule', async (t) => {
  const { resources: rs } = await run;
  const rule = one(rs, 'aws:cloudwatch/eventRule:EventRule', (r) => r.name === 'kpi-object-created').inputs;
  t.deepEqual(json(rule.eventPattern), {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: { bucket: { name: ['kpi-data-bucket'] }, object: { key: [{ prefix: 'ecommerce-data/' }] } },
  });
  const target = one(rs, 'aws:cloudwatch/eventTarget:EventTarget', (r) => r.name === 'kpi-validate').inputs;
  t.is(target.rule, 'kpi-object-created-rule');
  t.like(target.ecsTarget, {
    launchType: 'FARGATE',
    taskCount: 1,
    networkConfiguration: {
      assignPublicIp: false,
      subnets: ['kpi-isolated-0_id', 'kpi-isolated-1_id'],
      securityGroups: ['kpi-tasks_id'],
    },
  });
  t.is(target.ecsTarget.taskDefinitionArn, 'arn:aws:ecs:us-east-1:123456789012:task-definition/kpi-validate:1');
  t.deepEqual(target.inputTransformer.inputPaths, {
    key: '$.detail.object.key',
    version: '$.detail.object.version-id',
  });
  // With the placeholders filled the way EventBridge does (quoted strings), the template is the override JSON.
  const filled = json(
    target.inputTransformer.inputTemplate
      .replace('<key>', '"ecommerce-data/orders/a.csv"')
      .replace('<version>', '"3HL4kqtJlcpXroDTDmJ"'),
  );
  t.deepEqual(filled.containerOverrides[0], {
    name: 'validate',
    environment: [
      { name: 'KPI_S3_KEY', value: 'ecommerce-data/orders/a.csv' },
      { name: 'KPI_S3_VERSION', value: '3HL4kqtJlcpXroDTDmJ' },
    ],
  });
  // The hand-off carries the earliest upload time into the transform task (the latency metric on AWS).
  const handOff = one(rs, 'aws:cloudwatch/eventTarget:EventTarget', (r) => r.name === 'kpi-transform').inputs;
  t.deepEqual(handOff.inputTransformer.inputPaths, { uploaded: '$.detail.uploaded_at' });
  t.deepEqual(
    json(handOff.inputTransformer.inputTemplate.replace('<uploaded>', '"1740823200000"')).containerOverrides[0],
    {
      name: 'transform',
      environment: [{ name: 'KPI_UPLOADED_AT', value: '1740823200000' }],
    },
  );
  t.like(target, {
    retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeInSeconds: 3600 },
    deadLetterConfig: { arn: 'arn:aws:sqs:us-east-1:123456789012:kpi-dlq' },
    roleArn: 'arn:aws:iam::123456789012:role/kpi-events',
  });
  const handOver = one(rs, 'aws:cloudwatch/eventRule:EventRule', (r) => r.name === 'kpi-validated').inputs;
  t.deepEqual(json(handOver.eventPattern), { source: ['kpi.pipeline'], 'detail-type': ['KPI Files Validated'] });
  t.is(
    one(rs, 'aws:cloudwatch/eventRule:EventRule', (r) => r.name === 'kpi-expiry').inputs.scheduleExpression,
    'rate(15 minutes)',
  );
  t.is(one(rs, 'aws:sqs/queue:Queue').inputs.sqsManagedSseEnabled, true);
  const qp = json(one(rs, 'aws:sqs/queuePolicy:QueuePolicy').inputs.policy).Statement[0];
  t.like(qp, { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage' });
  t.is(qp.Condition.ArnEquals['aws:SourceArn'].length, 5);
  // the sweep: validate (KPI_STAGE=validate from its task definition, no key) on a schedule
  t.is(
    one(rs, 'aws:cloudwatch/eventRule:EventRule', (r) => r.name === 'kpi-sweep').inputs.scheduleExpression,
    'rate(30 minutes)',
  );
  const sweep = one(rs, 'aws:cloudwatch/eventTarget:EventTarget', (r) => r.name === 'kpi-sweep').inputs;
  t.is(sweep.ecsTarget.taskDefinitionArn, 'arn:aws:ecs:us-east-1:123456789012:task-definition/kpi-validate:1');
  t.is(sweep.inputTransformer, undefined);
  for (const tg of of(rs, 'aws:cloudwatch/eventTarget:EventTarget').filter((x) => x.inputs.ecsTarget))
    t.is(tg.inputs.ecsTarget.networkConfiguration.assignPublicIp, false);
  t.true(of(rs, 'aws:ec2/subnet:Subnet').every((s) => s.inputs.mapPublicIpOnLaunch === false));
});

test('network: no NAT, gateway endpoints for S3 and DynamoDB, interface endpoints, egress only to them', async (t) => {
  const { resources: rs } = await run;
  t.is(of(rs, 'aws:ec2/natGateway:NatGateway').length + of(rs, 'aws:ec2/internetGateway:InternetGateway').length, 0);
  const eps = of(rs, 'aws:ec2/vpcEndpoint:VpcEndpoint').map((e) => [e.inputs.serviceName, e.inputs.vpcEndpointType]);
  t.deepEqual(eps.sort(), [
    ['com.amazonaws.us-east-1.dynamodb', 'Gateway'],
    ['com.amazonaws.us-east-1.ecr.api', 'Interface'],
    ['com.amazonaws.us-east-1.ecr.dkr', 'Interface'],
    ['com.amazonaws.us-east-1.events', 'Interface'],
    ['com.amazonaws.us-east-1.logs', 'Interface'],
    ['com.amazonaws.us-east-1.s3', 'Gateway'],
    ['com.amazonaws.us-east-1.sns', 'Interface'],
  ]);
  const egress = of(rs, 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule').map((e) => e.inputs);
  t.true(egress.every((e) => e.securityGroupId === 'kpi-tasks_id' && e.fromPort === 443 && !e.cidrIpv4));
  t.deepEqual(egress.map((e) => e.referencedSecurityGroupId ?? e.prefixListId).sort(), [
    'kpi-endpoints_id',
    'pl-kpi-dynamodb',
    'pl-kpi-s3',
  ]);
});

test('alerts: CMK-encrypted topic CloudWatch and EventBridge can use, emails, alarms wired, failed tasks → topic', async (t) => {
  const { resources: rs } = await run;
  const topic = one(rs, 'aws:sns/topic:Topic').inputs;
  t.is(topic.kmsMasterKeyId, 'arn:aws:kms:us-east-1:123456789012:kpi-key');
  const keyPolicy = json(one(rs, 'aws:kms/key:Key').inputs.policy);
  t.deepEqual(keyPolicy.Statement[1].Principal.Service, ['cloudwatch.amazonaws.com', 'events.amazonaws.com']);
  t.true(one(rs, 'aws:kms/key:Key').inputs.enableKeyRotation);
  t.deepEqual(
    of(rs, 'aws:sns/topicSubscription:TopicSubscription').map((s) => [s.name, s.inputs.protocol, s.inputs.endpoint]),
    [
      ['kpi-email-oncall-example-com', 'email', 'oncall@example.com'],
      ['kpi-email-data-example-com', 'email', 'data@example.com'],
    ],
  );
  const topicArn = 'arn:aws:sns:us-east-1:123456789012:kpi-topic';
  const alarms = of(rs, 'aws:cloudwatch/metricAlarm:MetricAlarm').map((a) => a.inputs);
  t.true(alarms.every((a) => a.alarmActions.length === 1 && a.alarmActions[0] === topicArn));
  t.deepEqual(alarms.map((a) => `${a.namespace}/${a.metricName}`).sort(), [
    'AWS/DynamoDB/WriteThrottleEvents',
    'AWS/DynamoDB/WriteThrottleEvents',
    ...Array(5).fill('AWS/Events/FailedInvocations'),
    ...Array(5).fill('AWS/Events/InvocationsFailedToBeSentToDlq'),
    'AWS/SQS/ApproximateNumberOfMessagesVisible',
    'EcommerceKpi/RejectedShare',
    'EcommerceKpi/UploadToKpiLatencyMs',
  ]);
  // alarms are named by what they watch, not by list position
  const names = of(rs, 'aws:cloudwatch/metricAlarm:MetricAlarm').map((a) => a.name);
  for (const n of [
    'kpi-object-created-rule-failed',
    'kpi-sweep-rule-dlq-failed',
    'kpi-category-table-throttles',
    'kpi-order-table-throttles',
  ])
    t.true(names.includes(n), n);
  t.false(names.some((n) => /-\d+-/.test(n)));
  const failed = one(rs, 'aws:cloudwatch/eventRule:EventRule', (r) => r.name === 'kpi-task-failed').inputs;
  // a non-zero exit, or a task that never started (it has no exit code)
  t.deepEqual(json(failed.eventPattern).detail.$or, [
    { containers: { exitCode: [{ 'anything-but': 0 }] } },
    { stopCode: ['TaskFailedToStart'] },
  ]);
  t.is(one(rs, 'aws:cloudwatch/eventTarget:EventTarget', (r) => r.name === 'kpi-task-failed').inputs.arn, topicArn);
  const widgets = json(one(rs, 'aws:cloudwatch/dashboard:Dashboard').inputs.dashboardBody).widgets;
  const plotted = widgets.flatMap((w: any) => w.properties.metrics.map((m: unknown[]) => m[1]));
  for (const metric of [
    'FilesProcessed',
    'RowsRejected',
    'UploadToKpiLatencyMs',
    'DynamoRetries',
    'RevenueAllTime',
    'RevenueLatestDay',
    'OrdersLatestDay',
  ])
    t.true(plotted.includes(metric), metric);
});

test('stack outputs: bucket, tables, topic, dashboard URL, upload command', async (t) => {
  const { outputs } = await run;
  t.like(outputs, {
    bucketName: 'kpi-data-bucket',
    categoryTable: 'category_kpi_table',
    orderTable: 'order_kpi_table',
    alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:kpi-topic',
  });
  t.regex(
    String(outputs.dashboardUrl),
    /^https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=us-east-1#dashboards:name=kpi-pipeline-dev$/,
  );
  t.regex(String(outputs.uploadCommand), /KPI_BUCKET=kpi-data-bucket .*kpi upload data$/);
});

function violations(resources: Captured[]): string[] {
  const out: string[] = [];
  for (const p of resourcePolicies) {
    for (const r of resources) {
      (p.validateResource as (a: ResourceValidationArgs, rep: (m: string) => void) => void)(
        { type: r.type, props: r.inputs, urn: r.urn, name: r.name } as unknown as ResourceValidationArgs,
        (m) => out.push(`${p.name}: ${m}`),
      );
    }
  }
  for (const p of stackPolicies) {
    (p.validateStack as (a: StackValidationArgs, rep: (m: string) => void) => void)(
      {
        resources: resources.map((r) => ({ type: r.type, props: r.inputs, urn: r.urn, name: r.name })),
      } as unknown as StackValidationArgs,
      (m) => out.push(`${p.name}: ${m}`),
    );
  }
  return out;
}

test('policy pack: every policy passes on the program', async (t) => {
  const { resources } = await run;
  t.deepEqual(violations(resources), []);
});

const MUTATIONS: [string, string, (i: any) => void, RegExp][] = [
  [
    'unencrypted table',
    'aws:dynamodb/table:Table',
    (i) => (i.serverSideEncryption = { enabled: false }),
    /encryption-at-rest/,
  ],
  ['topic under aws/sns', 'aws:sns/topic:Topic', (i) => (i.kmsMasterKeyId = 'alias/aws/sns'), /customer-managed key/],
  ['plain queue', 'aws:sqs/queue:Queue', (i) => (i.sqsManagedSseEnabled = false), /SQS queue must be encrypted/],
  [
    'Athena results unencrypted',
    'aws:athena/workgroup:Workgroup',
    (i) => delete i.configuration.resultConfiguration.encryptionConfiguration,
    /results must be encrypted/,
  ],
  [
    'Athena without a scan cap',
    'aws:athena/workgroup:Workgroup',
    (i) => delete i.configuration.bytesScannedCutoffPerQuery,
    /cap the bytes scanned/,
  ],
  [
    'no bucket encryption',
    'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
    (i) => (i.rules = [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'NONE' } }]),
    /default encryption/,
  ],
  [
    'public policy allowed',
    'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
    (i) => (i.blockPublicPolicy = false),
    /blockPublicPolicy must be true/,
  ],
  [
    'public IP on a task',
    'aws:cloudwatch/eventTarget:EventTarget',
    (i) => i.ecsTarget && (i.ecsTarget.networkConfiguration.assignPublicIp = true),
    /must not assign a public IP/,
  ],
  ['public subnet', 'aws:ec2/subnet:Subnet', (i) => (i.mapPublicIpOnLaunch = true), /must not map public IPs/],
  [
    'wildcard action',
    'aws:iam/rolePolicy:RolePolicy',
    (i) =>
      (i.policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      })),
    /wildcard actions s3:\*/,
  ],
  ['log kept forever', 'aws:cloudwatch/logGroup:LogGroup', (i) => delete i.retentionInDays, /retentionInDays/],
  [
    'no PITR',
    'aws:dynamodb/table:Table',
    (i) => (i.pointInTimeRecovery = { enabled: false }),
    /point-in-time recovery/,
  ],
];

for (const [what, type, mutate, expected] of MUTATIONS) {
  test(`policy pack catches: ${what}`, async (t) => {
    const { resources } = await run;
    const copy = resources.map((r) => ({ ...r, inputs: JSON.parse(JSON.stringify(r.inputs)) }));
    let n = 0;
    for (const r of copy) {
      if (r.type !== type) continue;
      mutate(r.inputs);
      n++;
    }
    t.true(n > 0);
    const v = violations(copy);
    t.true(
      v.some((m) => expected.test(m)),
      v.join('\n'),
    );
  });
}

test('policy pack catches a bucket without encryption or public access block (stack policy)', async (t) => {
  const { resources } = await run;
  const copy = resources.filter(
    (r) =>
      !r.type.startsWith('aws:s3/bucketPublicAccessBlock') && !r.type.startsWith('aws:s3/bucketServerSideEncryption'),
  );
  const v = violations(copy);
  t.true(v.includes('buckets-fully-guarded: a bucket has no default encryption configuration'));
  t.true(v.includes('buckets-fully-guarded: a bucket has no public access block'));
});

test('pure helpers: settings defaults, family ARNs, S3 pattern, input template', (t) => {
  const s = resolveSettings('prod', () => undefined);
  // other stacks than dev get their stack name in account-wide names (two stacks, one account)
  t.like(s, {
    taskCpu: 1024,
    taskMemory: 3072,
    deadlineSeconds: 900,
    categoryTableName: 'category_kpi_table-prod',
    orderTableName: 'order_kpi_table-prod',
    stateTableName: 'kpi_state_table-prod',
    protect: true,
    sweepSchedule: 'rate(30 minutes)',
  });
  t.like(
    resolveSettings('dev', () => undefined),
    {
      protect: false,
      categoryTableName: 'category_kpi_table',
      orderTableName: 'order_kpi_table',
      expirySchedule: 'rate(15 minutes)',
    },
  );
  t.throws(() => resolveSettings('dev', (k) => (k === 'taskCpu' ? 'lots' : undefined)), { message: /kpi:taskCpu/ });
  t.is(
    familyArn('arn:aws:ecs:us-east-1:1:task-definition/kpi-validate:12'),
    'arn:aws:ecs:us-east-1:1:task-definition/kpi-validate',
  );
  t.deepEqual(json(objectCreatedPattern('b')).detail.bucket.name, ['b']);
  t.true(VALIDATE_INPUT_TEMPLATE.includes('"value":<key>'));
});

test('lake: Glue table over curated/ with partition projection on order_date, an Athena workgroup with encrypted results and a scan cap, verify on a schedule', async (t) => {
  const { resources: rs } = await run;
  const db = one(rs, 'aws:glue/catalogDatabase:CatalogDatabase').inputs;
  t.is(db.name, 'ecommerce_kpi');
  const table = one(rs, 'aws:glue/catalogTable:CatalogTable', (r) => r.inputs.name === 'joined_items').inputs;
  t.like(table, {
    name: 'joined_items',
    databaseName: 'ecommerce_kpi',
    tableType: 'EXTERNAL_TABLE',
    partitionKeys: [{ name: 'order_date', type: 'string' }],
  });
  t.is(table.storageDescriptor.location, 's3://kpi-data-bucket/curated/joined_items/');
  t.is(
    table.storageDescriptor.serDeInfo.serializationLibrary,
    'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
  );
  // SPEC's columns and Parquet types, in Hive terms
  t.deepEqual(
    table.storageDescriptor.columns.map((c: any) => [c.name, c.type]),
    [
      ['item_id', 'string'],
      ['order_id', 'string'],
      ['user_id', 'string'],
      ['product_id', 'string'],
      ['category', 'string'],
      ['sale_price_cents', 'bigint'],
      ['returned', 'boolean'],
      ['order_returned', 'boolean'],
    ],
  );
  t.like(table.parameters, {
    'projection.enabled': 'true',
    'projection.order_date.type': 'date',
    'projection.order_date.format': 'yyyy-MM-dd',
    'projection.order_date.range': '2000-01-01,NOW+1YEARS',
    'storage.location.template': 's3://kpi-data-bucket/curated/joined_items/order_date=${order_date}/',
  });
  // the validated zone: one table per entity, its columns as validate writes them
  const zone = of(rs, 'aws:glue/catalogTable:CatalogTable')
    .filter((r) => r.inputs.name !== 'joined_items')
    .sort((a, b) => (a.inputs.name < b.inputs.name ? -1 : 1));
  t.deepEqual(
    zone.map((r) => [
      r.inputs.name,
      r.inputs.databaseName,
      r.inputs.storageDescriptor.location,
      r.inputs.partitionKeys,
    ]),
    [
      ['validated_order_items', 'ecommerce_kpi', 's3://kpi-data-bucket/validated/order_items/', undefined],
      ['validated_orders', 'ecommerce_kpi', 's3://kpi-data-bucket/validated/orders/', undefined],
      ['validated_products', 'ecommerce_kpi', 's3://kpi-data-bucket/validated/products/', undefined],
    ],
  );
  t.deepEqual(
    zone[0]!.inputs.storageDescriptor.columns.map((c: any) => `${c.name} ${c.type}`),
    [
      'item_id string',
      'order_id string',
      'product_id string',
      'sale_price_cents bigint',
      'item_status bigint',
      'line bigint',
      'version_rank string',
    ],
  );
  const wg = one(rs, 'aws:athena/workgroup:Workgroup').inputs;
  t.is(wg.name, 'kpi-lake');
  t.like(wg.configuration, {
    enforceWorkgroupConfiguration: true,
    bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
    resultConfiguration: {
      outputLocation: 's3://kpi-data-bucket/athena-results/',
      encryptionConfiguration: { encryptionOption: 'SSE_S3' },
    },
  });
  t.is(
    one(rs, 'aws:cloudwatch/eventRule:EventRule', (r) => r.name === 'kpi-verify').inputs.scheduleExpression,
    'rate(1 day)',
  );
  const target = one(rs, 'aws:cloudwatch/eventTarget:EventTarget', (r) => r.name === 'kpi-verify').inputs;
  t.is(target.ecsTarget.taskDefinitionArn, 'arn:aws:ecs:us-east-1:123456789012:task-definition/kpi-transform:1');
  t.deepEqual(json(target.input).containerOverrides[0].environment, [{ name: 'KPI_STAGE', value: 'verify' }]);
});
