// What IAM would decide for the SDK calls a stage makes: a recorder for the SDK clients, a map from
// each call to the actions, resources and condition keys AWS evaluates (AWS docs, "Actions,
// resources, and condition keys" for S3, DynamoDB, EventBridge, SNS), and a small evaluator of our
// own statements (Allow only; Action/Resource wildcards; StringLike conditions).
import type { Clients } from '../runtime/aws/clients';
import type { Statement } from '../infra/iam';

export interface Call {
  stage: string;
  command: string;
  input: Record<string, any>;
}

/** One permission a call needs: an action on a resource, with the request's condition keys. */
export interface Need {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

type Handler = (args: { input: unknown }) => Promise<unknown>;
type Middleware = (next: Handler, context: unknown) => Handler;
/** The clients' stacks differ in their input types only; the recorder reads any input. */
type Stack = { add(m: Middleware, o: { step: 'initialize'; name: string; override: boolean }): void };

/**
 * Records every command the clients send, tagged with the stage. EventBridge and SNS cannot run
 * here: their calls are recorded and answered as AWS would accept them.
 */
export function record(clients: Clients, stage: string, calls: Call[]): void {
  const rec =
    (answer?: unknown): Middleware =>
    (next, context) =>
    async (args) => {
      calls.push({
        stage,
        command: String((context as { commandName?: string }).commandName),
        input: args.input as Record<string, any>,
      });
      return answer ? { output: answer, response: {} } : next(args);
    };
  const opts = { step: 'initialize' as const, name: 'iamRecorder', override: true };
  const stack = (c: { middlewareStack: unknown }) => c.middlewareStack as Stack;
  stack(clients.s3).add(rec(), opts);
  stack(clients.raw).add(rec(), opts);
  stack(clients.events).add(rec({ FailedEntryCount: 0, Entries: [{ EventId: 'recorded' }], $metadata: {} }), opts);
  stack(clients.sns).add(rec({ MessageId: 'recorded', $metadata: {} }), opts);
}

export interface Arns {
  bucket: string;
  region: string;
  account: string;
  /** the SNS topic's KMS key */
  topicKey: string;
}

const tableArn = (a: Arns, name: string) => `arn:aws:dynamodb:${a.region}:${a.account}:table/${name}`;

/**
 * What IAM checks for one call. A command this map does not know is an error: a new SDK call needs its
 * entry (and its permission).
 */
export function needs(call: Call, a: Arns): Need[] {
  const i = call.input;
  const obj = (key: string) => `arn:aws:s3:::${i.Bucket}/${key}`;
  switch (call.command) {
    case 'ListObjectsV2Command':
      return [
        {
          action: 's3:ListBucket',
          resource: `arn:aws:s3:::${i.Bucket}`,
          context: i.Prefix === undefined ? {} : { 's3:prefix': i.Prefix },
        },
      ];
    case 'GetObjectCommand':
    case 'HeadObjectCommand':
      return [{ action: i.VersionId ? 's3:GetObjectVersion' : 's3:GetObject', resource: obj(i.Key) }];
    case 'PutObjectCommand':
    case 'CreateMultipartUploadCommand':
    case 'UploadPartCommand':
    case 'CompleteMultipartUploadCommand':
      return [{ action: 's3:PutObject', resource: obj(i.Key) }];
    case 'CopyObjectCommand': {
      const src = decodeURIComponent(String(i.CopySource));
      return [
        { action: 's3:GetObject', resource: `arn:aws:s3:::${src}` },
        { action: 's3:PutObject', resource: obj(i.Key) },
      ];
    }
    case 'DeleteObjectCommand':
      return [{ action: i.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: obj(i.Key) }];
    case 'GetItemCommand':
    case 'PutItemCommand':
    case 'UpdateItemCommand':
    case 'DeleteItemCommand':
    case 'QueryCommand':
    case 'ScanCommand':
    case 'DescribeTableCommand':
      return [{ action: `dynamodb:${call.command.replace(/Command$/, '')}`, resource: tableArn(a, i.TableName) }];
    case 'BatchWriteItemCommand':
    case 'BatchGetItemCommand':
      return Object.keys(i.RequestItems).map((t) => ({
        action: `dynamodb:${call.command.replace(/Command$/, '')}`,
        resource: tableArn(a, t),
      }));
    case 'PutEventsCommand':
      return (i.Entries as { EventBusName?: string }[]).map((e) => ({
        action: 'events:PutEvents',
        resource: `arn:aws:events:${a.region}:${a.account}:event-bus/${e.EventBusName ?? 'default'}`,
      }));
    case 'PublishCommand':
      // An SSE-KMS topic: the publisher also needs its key (SNS docs, "Encryption at rest").
      return [
        { action: 'sns:Publish', resource: i.TopicArn },
        { action: 'kms:GenerateDataKey', resource: a.topicKey },
        { action: 'kms:Decrypt', resource: a.topicKey },
      ];
    default:
      throw new Error(`no IAM mapping for ${call.command}: add it here, and the permission to the stage's role`);
  }
}

/** IAM's string wildcards: * any run of characters, ? one character. */
export function globMatch(pattern: string, value: string, caseless = false): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    caseless ? 'is' : 's',
  );
  return re.test(value);
}

function conditionHolds(cond: Statement['Condition'], context: Record<string, string>): boolean {
  for (const [op, keys] of Object.entries(cond ?? {})) {
    if (op !== 'StringLike') throw new Error(`the evaluator does not know ${op}`);
    for (const [k, want] of Object.entries(keys)) {
      const got = context[k];
      // A condition key absent from the request: StringLike does not match.
      if (got === undefined || !(Array.isArray(want) ? want : [want]).some((w) => globMatch(w, got))) return false;
    }
  }
  return true;
}

/** The statements that allow a need (empty: denied). */
export function allowing(statements: Statement[], n: Need): Statement[] {
  return statements.filter(
    (s) =>
      s.Action.some((a) => globMatch(a, n.action, true)) &&
      s.Resource.some((r) => globMatch(r, n.resource)) &&
      conditionHolds(s.Condition, n.context ?? {}),
  );
}
