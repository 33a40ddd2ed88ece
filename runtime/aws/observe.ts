// Observability: one JSON log line per event, CloudWatch Embedded Metric Format records, SNS alerts.
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { METRIC_NAMESPACE } from '../core/names';
import type { Config } from './config';

export type LogSink = (line: string) => void;

export class Observer {
  constructor(
    private readonly cfg: Pick<Config, 'alertTopicArn' | 'region' | 'endpoint'>,
    private readonly sink: LogSink = (l) => process.stdout.write(l + '\n'),
    private readonly alertSink: LogSink = (l) => process.stderr.write(l + '\n'),
    /** set by the pipeline from makeClients, so alerts get the same retries and endpoints */
    public sns?: SNSClient,
  ) {}

  log(event: string, fields: Record<string, unknown>): void {
    this.sink(JSON.stringify({ time: new Date().toISOString(), level: 'info', event, ...fields }));
  }

  error(event: string, fields: Record<string, unknown>): void {
    this.sink(JSON.stringify({ time: new Date().toISOString(), level: 'error', event, ...fields }));
  }

  /** An EMF record: CloudWatch turns these stdout lines into metrics, no agent or API calls. */
  metrics(
    dimensions: Record<string, string>,
    values: Record<string, number>,
    units: Record<string, string> = {},
  ): void {
    const names = Object.keys(values);
    if (!names.length) return;
    this.sink(
      JSON.stringify({
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: METRIC_NAMESPACE,
              Dimensions: [Object.keys(dimensions)],
              Metrics: names.map((n) => ({ Name: n, Unit: units[n] ?? 'Count' })),
            },
          ],
        },
        ...dimensions,
        ...values,
      }),
    );
  }

  /** SNS when a topic is configured; otherwise printed, so local runs show the same alerts. */
  async alert(subject: string, message: string): Promise<void> {
    if (!this.cfg.alertTopicArn) {
      this.alertSink(`ALERT: ${subject}: ${message}`);
      return;
    }
    try {
      if (!this.sns) throw new Error('no SNS client');
      await this.sns.send(
        new PublishCommand({
          TopicArn: this.cfg.alertTopicArn,
          Subject: snsSubject(subject),
          Message: snsMessage(message),
        }),
      );
    } catch (err) {
      this.error('alert_failed', { subject, error: (err as Error).message });
    }
  }
}

/**
 * SNS refuses a subject with a line break or control character, a non-ASCII one, or one of 100
 * characters or more (Publish "Subject"), and the alert is then lost: subjects built from object
 * keys are made printable ASCII, and cut.
 */
export function snsSubject(subject: string): string {
  const s = subject
    .replace(/[^\x20-\x7e]+/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  return (s || 'KPI pipeline alert').slice(0, 99);
}

/** SNS messages are at most 256 KB; an alert longer than that is cut with a note. */
export function snsMessage(message: string, max = 250_000): string {
  if (Buffer.byteLength(message) <= max) return message;
  return `${Buffer.from(message)
    .subarray(0, max)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}\n[cut: the full text is in the task's log]`;
}
