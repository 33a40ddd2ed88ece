// Trigger: S3 "Object Created" under ecommerce-data/ → validate task (the key in a container
// override); the validate → transform hand-off event → transform task; a schedule → transform (held
// items expire, and any run killed mid-write is reconciled). Retries, then a dead-letter queue.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { ENV, EVENT_SOURCE, EVENT_VALIDATED, LANDING_PREFIX, type Stage } from '../runtime/core/names';
import { doc, eventsStatements, familyArn } from './iam';
import type { Settings } from './settings';

export interface TriggerArgs {
  settings: Settings;
  bucketName: pulumi.Input<string>;
  clusterArn: pulumi.Input<string>;
  taskDefinitions: Record<Stage, aws.ecs.TaskDefinition>;
  passRoles: pulumi.Input<string>[];
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  eventBusName: pulumi.Input<string>;
}

/** The S3 rule's pattern (pure, unit-tested). */
export function objectCreatedPattern(bucket: string): string {
  return JSON.stringify({
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: { bucket: { name: [bucket] }, object: { key: [{ prefix: LANDING_PREFIX }] } },
  });
}

/** Container overrides carrying the object key into the validate task's environment. */
export const VALIDATE_INPUT_TEMPLATE = JSON.stringify({
  containerOverrides: [
    {
      name: 'validate',
      environment: [
        { name: ENV.objectKey, value: '<key>' },
        { name: ENV.objectVersion, value: '<version>' },
      ],
    },
  ],
})
  .replace('"<key>"', '<key>')
  .replace('"<version>"', '<version>');

/** The hand-off's earliest upload time (a string in the event) into the transform task, for the latency metric. */
export const TRANSFORM_INPUT_TEMPLATE = JSON.stringify({
  containerOverrides: [{ name: 'transform', environment: [{ name: ENV.uploadedAt, value: '<uploaded>' }] }],
}).replace('"<uploaded>"', '<uploaded>');

/** The transform task, told to verify instead (KPI_STAGE=verify). */
export const VERIFY_INPUT = JSON.stringify({
  containerOverrides: [{ name: 'transform', environment: [{ name: ENV.stage, value: 'verify' }] }],
});

export class Trigger extends pulumi.ComponentResource {
  /** by what each rule is for: object-created, validated (hand-off), expiry (reconcile), sweep */
  readonly rules: Record<string, aws.cloudwatch.EventRule>;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly role: aws.iam.Role;

  constructor(name: string, a: TriggerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kpi:trigger:Trigger', name, {}, opts);
    const parent = { parent: this };
    this.deadLetterQueue = new aws.sqs.Queue(
      `${name}-dlq`,
      { sqsManagedSseEnabled: true, messageRetentionSeconds: 14 * 24 * 3600 },
      parent,
    );
    this.role = new aws.iam.Role(
      `${name}-events`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-events`,
      {
        role: this.role.id,
        policy: pulumi
          .all([a.taskDefinitions.validate.arn, a.taskDefinitions.transform.arn, a.clusterArn, pulumi.all(a.passRoles)])
          .apply(([v, t, cluster, roles]) => doc(eventsStatements([familyArn(v), familyArn(t)], roles, cluster))),
      },
      parent,
    );

    const s3Rule = new aws.cloudwatch.EventRule(
      `${name}-object-created`,
      {
        description: 'CSV landed under ecommerce-data/',
        eventPattern: pulumi.output(a.bucketName).apply(objectCreatedPattern),
      },
      parent,
    );
    const handOver = new aws.cloudwatch.EventRule(
      `${name}-validated`,
      {
        description: 'validate → transform hand-off',
        eventBusName: a.eventBusName,
        eventPattern: JSON.stringify({ source: [EVENT_SOURCE], 'detail-type': [EVENT_VALIDATED] }),
      },
      parent,
    );
    const schedule = new aws.cloudwatch.EventRule(
      `${name}-expiry`,
      { description: 'expire held items, reconcile the KPI tables', scheduleExpression: a.settings.expirySchedule },
      parent,
    );
    // EventBridge retries a failed RunTask call, not a task that exits 1: this sweep validates
    // whatever is still in the landing zone, so a transient S3 error heals itself.
    const sweep = new aws.cloudwatch.EventRule(
      `${name}-sweep`,
      { description: 'validate what is left in the landing zone', scheduleExpression: a.settings.sweepSchedule },
      parent,
    );
    const verify = new aws.cloudwatch.EventRule(
      `${name}-verify`,
      {
        description: 'kpi verify: recompute from archive/, compare with the tables and the lake',
        scheduleExpression: a.settings.verifySchedule,
      },
      parent,
    );
    this.rules = { 'object-created': s3Rule, validated: handOver, expiry: schedule, sweep, verify };

    const ecsTarget = (stage: Stage) => ({
      taskDefinitionArn: a.taskDefinitions[stage].arn,
      launchType: 'FARGATE',
      taskCount: 1,
      networkConfiguration: { subnets: a.subnetIds, securityGroups: [a.securityGroupId], assignPublicIp: false },
    });
    const common = {
      roleArn: this.role.arn,
      deadLetterConfig: { arn: this.deadLetterQueue.arn },
      retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeInSeconds: 3600 },
    };
    new aws.cloudwatch.EventTarget(
      `${name}-validate`,
      {
        rule: s3Rule.name,
        arn: a.clusterArn,
        ecsTarget: ecsTarget('validate'),
        inputTransformer: {
          inputPaths: { key: '$.detail.object.key', version: '$.detail.object.version-id' },
          inputTemplate: VALIDATE_INPUT_TEMPLATE,
        },
        ...common,
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-transform`,
      {
        rule: handOver.name,
        eventBusName: a.eventBusName,
        arn: a.clusterArn,
        ecsTarget: ecsTarget('transform'),
        inputTransformer: { inputPaths: { uploaded: '$.detail.uploaded_at' }, inputTemplate: TRANSFORM_INPUT_TEMPLATE },
        ...common,
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-scheduled-transform`,
      { rule: schedule.name, arn: a.clusterArn, ecsTarget: ecsTarget('transform'), ...common },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-verify`,
      { rule: verify.name, arn: a.clusterArn, ecsTarget: ecsTarget('transform'), input: VERIFY_INPUT, ...common },
      parent,
    );
    // The validate task definition sets KPI_STAGE=validate: with no key it sweeps and hands over.
    new aws.cloudwatch.EventTarget(
      `${name}-sweep`,
      { rule: sweep.name, arn: a.clusterArn, ecsTarget: ecsTarget('validate'), ...common },
      parent,
    );

    new aws.sqs.QueuePolicy(
      `${name}-dlq`,
      {
        queueUrl: this.deadLetterQueue.url,
        policy: pulumi
          .all([this.deadLetterQueue.arn, ...Object.values(this.rules).map((r) => r.arn)])
          .apply(([q, ...rules]) =>
            JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'RuleDeadLetters',
                  Effect: 'Allow',
                  Principal: { Service: 'events.amazonaws.com' },
                  Action: 'sqs:SendMessage',
                  Resource: q,
                  Condition: { ArnEquals: { 'aws:SourceArn': rules } },
                },
              ],
            }),
          ),
      },
      parent,
    );
    this.registerOutputs({ dlq: this.deadLetterQueue.url });
  }
}
