// Monitoring: alarms wired to the alert topic, and a dashboard of the pipeline and the KPI trend.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { METRIC_NAMESPACE } from '../runtime/core/names';
import type { Settings } from './settings';

export interface MonitoringArgs {
  settings: Settings;
  topicArn: pulumi.Input<string>;
  deadLetterQueueName: pulumi.Input<string>;
  /** rule names by what each rule is for */
  ruleNames: Record<string, pulumi.Input<string>>;
  tableNames: Record<string, pulumi.Input<string>>;
  clusterArn: pulumi.Input<string>;
}

export class Monitoring extends pulumi.ComponentResource {
  readonly alarms: aws.cloudwatch.MetricAlarm[] = [];
  readonly dashboard: aws.cloudwatch.Dashboard;

  constructor(name: string, a: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kpi:monitoring:Monitoring', name, {}, opts);
    const parent = { parent: this };
    // Every alarm: one 5-minute period above a threshold, missing data is fine, both transitions to the topic.
    const alarm = (
      id: string,
      namespace: string,
      metricName: string,
      dimensions: Record<string, pulumi.Input<string>>,
      statistic: string,
      threshold = 0,
    ) =>
      this.alarms.push(
        new aws.cloudwatch.MetricAlarm(
          `${name}-${id}`,
          {
            namespace,
            metricName,
            dimensions,
            statistic,
            period: 300,
            evaluationPeriods: 1,
            threshold,
            comparisonOperator: 'GreaterThanThreshold',
            treatMissingData: 'notBreaching',
            alarmActions: [a.topicArn],
            okActions: [a.topicArn],
          },
          parent,
        ),
      );
    alarm(
      'dlq-depth',
      'AWS/SQS',
      'ApproximateNumberOfMessagesVisible',
      { QueueName: a.deadLetterQueueName },
      'Maximum',
    );
    for (const [what, rule] of Object.entries(a.ruleNames)) {
      alarm(`${what}-rule-failed`, 'AWS/Events', 'FailedInvocations', { RuleName: rule }, 'Sum');
      // With a DLQ on the target, a failure to write to the DLQ is counted here, not in FailedInvocations
      // (EventBridge metrics: InvocationsFailedToBeSentToDlq).
      alarm(`${what}-rule-dlq-failed`, 'AWS/Events', 'InvocationsFailedToBeSentToDlq', { RuleName: rule }, 'Sum');
    }
    alarm(
      'rejected-share',
      METRIC_NAMESPACE,
      'RejectedShare',
      { Stage: 'validate' },
      'Maximum',
      a.settings.rejectAlertShare * 100,
    );
    alarm(
      'latency',
      METRIC_NAMESPACE,
      'UploadToKpiLatencyMs',
      { Stage: 'transform' },
      'Maximum',
      a.settings.latencyAlarmSeconds * 1000,
    );
    for (const [what, table] of Object.entries(a.tableNames))
      alarm(`${what}-table-throttles`, 'AWS/DynamoDB', 'WriteThrottleEvents', { TableName: table }, 'Sum');
    this.watchTasks(name, a);
    const region = aws.getRegionOutput({}, parent).region;
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: `kpi-pipeline-${a.settings.stack}`,
        dashboardBody: pulumi
          .all([region, a.deadLetterQueueName])
          .apply(([reg, dlq]) => JSON.stringify(dashboardBody(reg, dlq))),
      },
      parent,
    );
    this.registerOutputs({ dashboard: this.dashboard.dashboardName });
  }

  /**
   * A task that stopped with a non-zero exit code, or never started (TaskFailedToStart:
   * CannotPullContainerError, ResourceInitializationError — what a missing VPC endpoint causes; such
   * a task has no exit code, and RunTask succeeded, so the DLQ stays empty) → the topic.
   */
  private watchTasks(name: string, a: MonitoringArgs): void {
    // These two lived in the Alerts component before (same names): the alias keeps a stack deployed
    // then from replacing them.
    const moved = { parent: this, aliases: [{ parent: pulumi.createUrn(name, 'kpi:alerts:Alerts') }] };
    const rule = new aws.cloudwatch.EventRule(
      `${name}-task-failed`,
      {
        description: 'KPI pipeline task exited non-zero or failed to start',
        eventPattern: pulumi.output(a.clusterArn).apply(taskFailedPattern),
      },
      moved,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-task-failed`,
      {
        rule: rule.name,
        arn: a.topicArn,
        inputTransformer: {
          inputPaths: {
            group: '$.detail.group',
            reason: '$.detail.stoppedReason',
            code: '$.detail.stopCode',
            task: '$.detail.taskArn',
          },
          inputTemplate: '"KPI pipeline task <task> (<group>) stopped (<code>) with a failure: <reason>"',
        },
      },
      moved,
    );
  }
}

/**
 * The task-failed rule's pattern (pure, unit-tested): a non-zero exit, or a task that never started.
 * `$or` is EventBridge content filtering (user guide: "Content filtering in event patterns", $or
 * matching); `stopCode` is a field of the ECS Task State Change event.
 */
export function taskFailedPattern(clusterArn: string): string {
  return JSON.stringify({
    source: ['aws.ecs'],
    'detail-type': ['ECS Task State Change'],
    detail: {
      clusterArn: [clusterArn],
      lastStatus: ['STOPPED'],
      $or: [{ containers: { exitCode: [{ 'anything-but': 0 }] } }, { stopCode: ['TaskFailedToStart'] }],
    },
  });
}

export function dashboardBody(region: string, dlq: string): object {
  const m = (title: string, metrics: unknown[][], x: number, y: number, stat = 'Sum') => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, stat, period: 300, metrics },
  });
  return {
    widgets: [
      m(
        'Files processed / rejected',
        [
          [METRIC_NAMESPACE, 'FilesProcessed', 'Stage', 'validate'],
          [METRIC_NAMESPACE, 'FilesRejected', 'Stage', 'validate'],
        ],
        0,
        0,
      ),
      m(
        'Rows accepted / rejected / held',
        [
          [METRIC_NAMESPACE, 'RowsAccepted', 'Stage', 'validate'],
          [METRIC_NAMESPACE, 'RowsRejected', 'Stage', 'validate'],
          [METRIC_NAMESPACE, 'RowsHeld', 'Stage', 'transform', { stat: 'Maximum' }],
        ],
        12,
        0,
      ),
      m(
        'Upload → KPIs written (ms)',
        [[METRIC_NAMESPACE, 'UploadToKpiLatencyMs', 'Stage', 'transform']],
        0,
        6,
        'Maximum',
      ),
      m(
        'KPI rows written, DynamoDB retries',
        [
          [METRIC_NAMESPACE, 'KpiRowsWritten', 'Stage', 'transform'],
          [METRIC_NAMESPACE, 'DynamoRetries', 'Stage', 'transform'],
        ],
        12,
        6,
      ),
      m('Dead letters', [['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', dlq]], 0, 12, 'Maximum'),
      m('Rejected share (%)', [[METRIC_NAMESPACE, 'RejectedShare', 'Stage', 'validate']], 12, 12, 'Maximum'),
      m(
        'KPI trend: revenue (all time, newest day)',
        [
          [METRIC_NAMESPACE, 'RevenueAllTime', 'Stage', 'transform'],
          [METRIC_NAMESPACE, 'RevenueLatestDay', 'Stage', 'transform', { yAxis: 'right' }],
        ],
        0,
        18,
        'Maximum',
      ),
      m(
        'KPI trend: orders and return rate (newest day)',
        [
          [METRIC_NAMESPACE, 'OrdersLatestDay', 'Stage', 'transform'],
          [METRIC_NAMESPACE, 'ReturnRateLatestDay', 'Stage', 'transform', { yAxis: 'right' }],
        ],
        12,
        18,
        'Maximum',
      ),
    ],
  };
}
