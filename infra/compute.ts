// Compute: the ECS cluster and one Fargate task definition per stage, each with its own
// least-privilege task role and log group.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { ENV, memorySplit, STAGES, type Stage } from '../runtime/core/names';
import { athenaStatements, doc, transformStatements, validateStatements, type AthenaAccess } from './iam';
import { physicalName, type Settings } from './settings';

export interface ComputeArgs {
  settings: Settings;
  images: Record<Stage, pulumi.Input<string>>;
  bucket: aws.s3.Bucket;
  tables: { category: aws.dynamodb.Table; order: aws.dynamodb.Table; state: aws.dynamodb.Table };
  topicArn: pulumi.Input<string>;
  /** the alert topic's KMS key: publishers need it */
  topicKeyArn: pulumi.Input<string>;
  eventBusArn: pulumi.Input<string>;
  eventBusName: pulumi.Input<string>;
  /** the lake's workgroup and Glue database: with historyEngine athena, kpi verify queries them */
  lake: {
    workgroupName: pulumi.Input<string>;
    databaseName: pulumi.Input<string>;
    access: pulumi.Input<Omit<AthenaAccess, 'resultsPrefix'>>;
    resultsPrefix: string;
  };
}

/** The only writable path of the task (read-only root): the Dockerfile's VOLUME of the same path. */
export const SCRATCH_PATH = '/scratch';
const SCRATCH_VOLUME = 'scratch';

const assumeTasks = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** The history engine's settings: only the transform (bulk path, verify, rebuild) runs it. */
function historyEnv(stage: Stage, engine: Settings['historyEngine'], workgroup: string, database: string) {
  if (stage !== 'transform' || engine === 'auto') return [];
  return [
    { name: ENV.historyEngine, value: engine },
    ...(engine === 'athena'
      ? [
          { name: ENV.athenaWorkgroup, value: workgroup },
          { name: ENV.athenaDatabase, value: database },
        ]
      : []),
  ];
}

export class Compute extends pulumi.ComponentResource {
  readonly cluster: aws.ecs.Cluster;
  readonly executionRole: aws.iam.Role;
  readonly taskRoles = {} as Record<Stage, aws.iam.Role>;
  readonly taskDefinitions = {} as Record<Stage, aws.ecs.TaskDefinition>;
  readonly logGroups = {} as Record<Stage, aws.cloudwatch.LogGroup>;

  constructor(name: string, a: ComputeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kpi:compute:Compute', name, {}, opts);
    const parent = { parent: this };
    const s = a.settings;
    const region = aws.getRegionOutput({}, parent).region;
    this.cluster = new aws.ecs.Cluster(
      `${name}-cluster`,
      { settings: [{ name: 'containerInsights', value: 'enabled' }] },
      parent,
    );
    this.executionRole = new aws.iam.Role(`${name}-execution`, { assumeRolePolicy: assumeTasks }, parent);
    new aws.iam.RolePolicyAttachment(
      `${name}-execution`,
      {
        role: this.executionRole.name,
        policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy',
      },
      parent,
    );

    const policies: Record<Stage, pulumi.Output<string>> = {
      validate: pulumi
        .all([a.bucket.arn, a.eventBusArn, a.topicArn, a.topicKeyArn])
        .apply(([b, e, t, k]) => doc(validateStatements(b, e, t, k))),
      transform: pulumi
        .all([
          a.bucket.arn,
          a.topicArn,
          a.topicKeyArn,
          pulumi.all([a.tables.category.arn, a.tables.order.arn]),
          a.tables.state.arn,
          a.lake.access,
        ])
        .apply(([b, t, k, tables, state, lake]) =>
          doc([
            ...transformStatements(b, tables, state, t, k),
            ...(s.historyEngine === 'athena'
              ? athenaStatements(b, { ...lake, resultsPrefix: a.lake.resultsPrefix })
              : []),
          ]),
        ),
    };
    for (const stage of STAGES) {
      const role = new aws.iam.Role(`${name}-${stage}-task`, { assumeRolePolicy: assumeTasks }, parent);
      new aws.iam.RolePolicy(`${name}-${stage}-task`, { role: role.id, policy: policies[stage] }, parent);
      this.taskRoles[stage] = role;
      const logs = new aws.cloudwatch.LogGroup(
        `${name}-${stage}-logs`,
        { name: physicalName(s, `/ecs/${stage}-task`), retentionInDays: s.logRetentionDays },
        parent,
      );
      this.logGroups[stage] = logs;
      const environment = pulumi
        .all([
          a.bucket.id,
          a.tables.category.name,
          a.tables.order.name,
          a.tables.state.name,
          a.topicArn,
          a.eventBusName,
          a.lake.workgroupName,
          a.lake.databaseName,
        ])
        .apply(([bucket, cat, ord, state, topic, bus, workgroup, database]) => [
          { name: ENV.stage, value: stage },
          { name: ENV.bucket, value: bucket },
          { name: ENV.categoryTable, value: cat },
          { name: ENV.orderTable, value: ord },
          { name: ENV.stateTable, value: state },
          { name: ENV.alertTopic, value: topic },
          { name: ENV.eventBus, value: bus },
          { name: ENV.deadline, value: String(s.deadlineSeconds) },
          { name: ENV.holdSeconds, value: String(s.holdSeconds) },
          { name: ENV.rejectAlertShare, value: String(s.rejectAlertShare) },
          // The root filesystem is read-only: temporary files (validate's copy of an object, the
          // transform's index runs) go to the task's ephemeral scratch volume, through os.tmpdir().
          { name: 'TMPDIR', value: SCRATCH_PATH },
          // The history engine (DuckDB, kpi verify) takes half the task's memory and spills the rest
          // to the scratch volume; V8's heap is capped so that garbage is collected before the task's
          // limit (memorySplit says why and how much).
          { name: ENV.historyMemoryMiB, value: String(memorySplit(stage, s.taskMemory).historyMiB) },
          { name: 'NODE_OPTIONS', value: `--max-old-space-size=${memorySplit(stage, s.taskMemory).heapMiB}` },
          ...historyEnv(stage, s.historyEngine, workgroup, database),
        ]);
      this.taskDefinitions[stage] = new aws.ecs.TaskDefinition(
        `${name}-${stage}`,
        {
          family: physicalName(s, `kpi-${stage}`),
          requiresCompatibilities: ['FARGATE'],
          networkMode: 'awsvpc',
          cpu: String(s.taskCpu),
          memory: String(s.taskMemory),
          runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
          // A Fargate bind mount on the task's ephemeral storage. ECS creates it root-owned 0755
          // unless the image declares the same path as a VOLUME: then the image's directory (owned
          // by the non-root user, Dockerfile) is copied into it with its owner and mode.
          volumes: [{ name: SCRATCH_VOLUME }],
          executionRoleArn: this.executionRole.arn,
          taskRoleArn: role.arn,
          containerDefinitions: pulumi
            .all([a.images[stage], environment, logs.name, region])
            .apply(([image, env, group, reg]) =>
              JSON.stringify([
                {
                  name: stage,
                  image,
                  essential: true,
                  command: ['run'],
                  environment: env,
                  // The container stops itself at the deadline; ECS gets a little longer to collect it.
                  stopTimeout: 30,
                  readonlyRootFilesystem: true,
                  mountPoints: [{ sourceVolume: SCRATCH_VOLUME, containerPath: SCRATCH_PATH, readOnly: false }],
                  logConfiguration: {
                    logDriver: 'awslogs',
                    options: { 'awslogs-group': group, 'awslogs-region': reg, 'awslogs-stream-prefix': stage },
                  },
                },
              ]),
            ),
        },
        parent,
      );
    }
    this.registerOutputs({ cluster: this.cluster.arn });
  }
}
