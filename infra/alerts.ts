// Alerts: an SNS topic under a customer-managed KMS key that CloudWatch and EventBridge may use
// (the AWS-managed alias/aws/sns key cannot be granted to them, so alarm notifications would be
// dropped silently), email subscriptions, and the failure rule for tasks that exit non-zero.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Settings } from './settings';

export class Alerts extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly key: aws.kms.Key;

  constructor(name: string, s: Settings, opts?: pulumi.ComponentResourceOptions) {
    super('kpi:alerts:Alerts', name, {}, opts);
    const parent = { parent: this };
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    this.key = new aws.kms.Key(
      `${name}-key`,
      {
        description: 'KPI pipeline alerts (SNS)',
        enableKeyRotation: true,
        deletionWindowInDays: 7,
        policy: account.apply((acct) =>
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Sid: 'AccountAdmin', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${acct}:root` }, Action: 'kms:*', Resource: '*' },
              {
                Sid: 'AlarmAndEventPublishers',
                Effect: 'Allow',
                Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
                Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
                Resource: '*',
              },
            ],
          }),
        ),
      },
      parent,
    );
    this.topic = new aws.sns.Topic(`${name}-topic`, { kmsMasterKeyId: this.key.arn }, parent);
    new aws.sns.TopicPolicy(
      `${name}-topic-policy`,
      {
        arn: this.topic.arn,
        policy: pulumi.all([this.topic.arn, account]).apply(([arn, acct]) =>
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Sid: 'AlarmsAndRules', Effect: 'Allow', Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] }, Action: 'sns:Publish', Resource: arn, Condition: { StringEquals: { 'aws:SourceAccount': acct } } },
            ],
          }),
        ),
      },
      parent,
    );
    s.alertEmails.forEach((email, i) => new aws.sns.TopicSubscription(`${name}-email-${i}`, { topic: this.topic.arn, protocol: 'email', endpoint: email }, parent));
    this.registerOutputs({ topic: this.topic.arn });
  }

  /** Task stopped with a non-zero exit code → the topic, with a readable message. */
  watchTasks(clusterArn: pulumi.Input<string>): void {
    const rule = new aws.cloudwatch.EventRule(
      'kpi-task-failed',
      {
        description: 'KPI pipeline task exited non-zero',
        eventPattern: pulumi.output(clusterArn).apply((arn) =>
          JSON.stringify({ source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'], detail: { clusterArn: [arn], lastStatus: ['STOPPED'], containers: { exitCode: [{ 'anything-but': 0 }] } } }),
        ),
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      'kpi-task-failed',
      {
        rule: rule.name,
        arn: this.topic.arn,
        inputTransformer: {
          inputPaths: { group: '$.detail.group', reason: '$.detail.stoppedReason', task: '$.detail.taskArn' },
          inputTemplate: '"KPI pipeline task <task> (<group>) stopped with a non-zero exit code: <reason>"',
        },
      },
      { parent: this },
    );
  }
}
