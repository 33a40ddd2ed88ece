// Alerts: an SNS topic under a customer-managed KMS key that CloudWatch and EventBridge may use
// (the AWS-managed alias/aws/sns key cannot be granted to them, so alarm notifications would be
// dropped silently), email subscriptions, and the failure rule for tasks that exit non-zero.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Settings } from './settings';

export interface AlertsArgs {
  settings: Settings;
}

export class Alerts extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly key: aws.kms.Key;

  constructor(name: string, a: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kpi:alerts:Alerts', name, {}, opts);
    const s = a.settings;
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
              {
                Sid: 'AccountAdmin',
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${acct}:root` },
                Action: 'kms:*',
                Resource: '*',
              },
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
              {
                Sid: 'AlarmsAndRules',
                Effect: 'Allow',
                Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
                Action: 'sns:Publish',
                Resource: arn,
                Condition: { StringEquals: { 'aws:SourceAccount': acct } },
              },
            ],
          }),
        ),
      },
      parent,
    );
    // Named by address, not list position: removing one address leaves the others subscribed.
    for (const email of s.alertEmails)
      new aws.sns.TopicSubscription(
        `${name}-email-${email.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
        { topic: this.topic.arn, protocol: 'email', endpoint: email },
        parent,
      );
    this.registerOutputs({ topic: this.topic.arn });
  }
}
