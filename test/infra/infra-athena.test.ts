// The stack with kpi:historyEngine=athena (kpi verify on Athena): the transform task gets the engine,
// workgroup and database in its environment, its role exactly the Athena, Glue and result-location
// access a query needs, and the private subnets an Athena endpoint; nothing else changes.
import test from 'ava';
import { runProgram, type Captured } from '../infra-mocks';
import { resolveSettings } from '../../infra/settings';

const json = (s: unknown) => JSON.parse(String(s));
const policyOf = (rs: Captured[], name: string) =>
  json(rs.find((r) => r.name === name && r.type === 'aws:iam/rolePolicy:RolePolicy')!.inputs.policy).Statement;
const envOf = (rs: Captured[], family: string) =>
  Object.fromEntries(
    json(rs.find((r) => r.inputs.family === family)!.inputs.containerDefinitions)[0].environment.map((e: any) => [
      e.name,
      e.value,
    ]),
  );

test('kpi:historyEngine=athena: the transform gets its settings, Athena and Glue access, and an endpoint', async (t) => {
  const base = await runProgram({ 'kpi:protect': 'false' });
  const athena = await runProgram({ 'kpi:protect': 'false', 'kpi:historyEngine': 'athena' });
  t.is(athena.resources.length, base.resources.length + 1, 'one more resource: the Athena interface endpoint');
  const endpoints = athena.resources
    .filter((r) => r.type === 'aws:ec2/vpcEndpoint:VpcEndpoint' && r.inputs.vpcEndpointType === 'Interface')
    .map((r) => r.inputs.serviceName);
  t.true(endpoints.includes('com.amazonaws.us-east-1.athena'));

  t.like(envOf(athena.resources, 'kpi-transform'), {
    KPI_HISTORY_ENGINE: 'athena',
    KPI_ATHENA_WORKGROUP: 'kpi-lake',
    KPI_ATHENA_DATABASE: 'ecommerce_kpi',
  });
  t.false('KPI_HISTORY_ENGINE' in envOf(athena.resources, 'kpi-validate'));

  const bucket = 'arn:aws:s3:::kpi-data-bucket';
  const glue = 'arn:aws:glue:us-east-1:123456789012';
  const added = policyOf(athena.resources, 'kpi-transform-task').slice(
    policyOf(base.resources, 'kpi-transform-task').length,
  );
  t.deepEqual(added, [
    {
      Sid: 'AthenaQueries',
      Effect: 'Allow',
      Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
      Resource: ['arn:aws:athena:us-east-1:123456789012:kpi-athena'],
    },
    {
      Sid: 'GlueTables',
      Effect: 'Allow',
      Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      Resource: [
        `${glue}:catalog`,
        `${glue}:database/ecommerce_kpi`,
        ...['joined_items', 'validated_products', 'validated_orders', 'validated_order_items'].map(
          (tb) => `${glue}:table/ecommerce_kpi/${tb}`,
        ),
      ],
    },
    {
      Sid: 'AthenaListTables',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucket],
      Condition: { StringLike: { 's3:prefix': ['validated/*', 'athena-results/*'] } },
    },
    {
      Sid: 'AthenaBucket',
      Effect: 'Allow',
      Action: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
      Resource: [bucket],
    },
    {
      Sid: 'AthenaResults',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      Resource: [`${bucket}/athena-results/*`],
    },
  ]);
  // the validate role is the same either way
  t.deepEqual(policyOf(athena.resources, 'kpi-validate-task'), policyOf(base.resources, 'kpi-validate-task'));
});

test('kpi:historyEngine takes auto, memory, duckdb or athena', (t) => {
  t.is(resolveSettings('dev', () => undefined).historyEngine, 'auto');
  t.is(resolveSettings('dev', (k) => (k === 'historyEngine' ? 'duckdb' : undefined)).historyEngine, 'duckdb');
  t.throws(() => resolveSettings('dev', (k) => (k === 'historyEngine' ? 'spark' : undefined)), {
    message: /kpi:historyEngine must be one of auto, memory, duckdb, athena, got 'spark'/,
  });
});
