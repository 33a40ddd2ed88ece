// What only a real deploy would have shown (issue 9): the Docker context from both the compiled and
// the in-place program, two stacks in one account, AZs the endpoint services support.
import test from 'ava';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../infra/images';
import { chooseZones } from '../../infra/network';
import { taskFailedPattern } from '../../infra/monitoring';
import { OFFERED_ZONES, runProgram, type Captured } from '../infra-mocks';
import { ROOT } from '../helpers';

test('the Docker build context is the repository from infra/ (pulumi runs it in place) and from dist/infra/', (t) => {
  for (const from of [path.join(ROOT, 'infra'), path.join(ROOT, 'dist', 'infra')]) {
    const root = repoRoot(from);
    t.is(root, ROOT, from);
    t.true(existsSync(path.join(root, 'Dockerfile')));
  }
  t.throws(() => repoRoot('/'), { message: /no Dockerfile/ });
});

/** Names AWS makes unique per account and region (explicit physical names in the inputs). */
function physicalNames(rs: Captured[]): string[] {
  const out: string[] = [];
  for (const r of rs) {
    const i = r.inputs;
    // a Glue table's name is scoped by its database
    const scope = r.type === 'aws:glue/catalogTable:CatalogTable' ? `${i.databaseName}.` : '';
    if (typeof i.name === 'string' && !r.type.startsWith('kpi:')) out.push(`${r.type} ${scope}${i.name}`);
    if (typeof i.family === 'string') out.push(`family ${i.family}`);
    if (typeof i.dashboardName === 'string') out.push(`dashboard ${i.dashboardName}`);
  }
  return out;
}

test('two stacks in one account share no physical name; dev keeps the seed names', async (t) => {
  const dev = await runProgram({ 'kpi:protect': 'false' }, 'dev');
  const devNames = physicalNames(dev.resources);
  const prod = await runProgram({ 'kpi:protect': 'false' }, 'prod');
  const prodNames = physicalNames(prod.resources);
  t.true(devNames.length >= 6, devNames.join(', ')); // tables, log groups, families, dashboard
  t.deepEqual(
    devNames.filter((n) => prodNames.includes(n)),
    [],
  );
  for (const seed of [
    'aws:dynamodb/table:Table category_kpi_table',
    'aws:dynamodb/table:Table order_kpi_table',
    'family kpi-validate',
    'aws:cloudwatch/logGroup:LogGroup /ecs/validate-task',
  ])
    t.true(devNames.includes(seed), seed);
  t.true(prodNames.includes('family kpi-validate-prod'));
  // the events role of one stack may start only its own task families
  const runTask = (rs: Captured[]) =>
    JSON.parse(rs.find((r) => r.name === 'kpi-events' && r.type === 'aws:iam/rolePolicy:RolePolicy')!.inputs.policy)
      .Statement[0].Resource;
  t.deepEqual(runTask(prod.resources), [
    'arn:aws:ecs:us-east-1:123456789012:task-definition/kpi-validate-prod:*',
    'arn:aws:ecs:us-east-1:123456789012:task-definition/kpi-transform-prod:*',
  ]);
  // subnets only in AZs where every interface endpoint service is offered (the mock's logs lacks 'a')
  t.deepEqual(
    dev.resources.filter((r) => r.type === 'aws:ec2/subnet:Subnet').map((r) => r.inputs.availabilityZone),
    OFFERED_ZONES.slice(1),
  );
});

test('zones: only those every service offers, in order; too few is a clear error', (t) => {
  t.deepEqual(
    chooseZones(
      ['a', 'b', 'c', 'd'],
      [
        ['a', 'b', 'c', 'd'],
        ['b', 'c', 'd'],
        ['a', 'c', 'd'],
      ],
    ),
    ['c', 'd'],
  );
  t.throws(() => chooseZones(['a', 'b'], [['a']]), { message: /only 1 availability zone/ });
});

test('task-failed pattern matches a failed start as well as a non-zero exit', (t) => {
  const p = JSON.parse(taskFailedPattern('arn:c'));
  t.deepEqual(p.detail.clusterArn, ['arn:c']);
  t.true(p.detail.$or.some((x: { stopCode?: string[] }) => x.stopCode?.includes('TaskFailedToStart')));
});
