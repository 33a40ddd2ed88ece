// The policy pack's rules as plain objects, so tests can run them on captured resources without
// starting a pack. index.ts (the pack's entry file) is the only place that builds the PolicyPack.
import type {
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
  StackValidationArgs,
} from '@pulumi/policy';

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Report = (message: string, urn?: string) => void;

function forType(
  type: string,
  check: (p: Props, report: Report) => void,
): ResourceValidationPolicy['validateResource'] {
  return (args: ResourceValidationArgs, report: Report) => {
    if (args.type === type) check(args.props as Props, report);
  };
}

function many(...fns: ResourceValidationPolicy['validateResource'][]): ResourceValidationPolicy['validateResource'] {
  return (args: ResourceValidationArgs, report: Report) => {
    for (const f of fns as ((a: ResourceValidationArgs, r: Report) => void)[]) f(args, report);
  };
}

export const encryptionAtRest: ResourceValidationPolicy = {
  name: 'encryption-at-rest',
  description: 'Bucket, tables, topic and queue are encrypted at rest.',
  enforcementLevel: 'mandatory',
  validateResource: many(
    forType('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', (p, report) => {
      const algo = p.rules?.[0]?.applyServerSideEncryptionByDefault?.sseAlgorithm;
      if (!['AES256', 'aws:kms', 'aws:kms:dsse'].includes(algo))
        report(`bucket default encryption must be SSE-S3 or SSE-KMS, got ${algo}`);
    }),
    forType('aws:dynamodb/table:Table', (p, report) => {
      if (p.serverSideEncryption?.enabled !== true) report('DynamoDB table must enable server-side encryption');
    }),
    forType('aws:sns/topic:Topic', (p, report) => {
      if (!p.kmsMasterKeyId) report('SNS topic must be encrypted with KMS');
      else if (p.kmsMasterKeyId === 'alias/aws/sns')
        report(
          'SNS topic must use a customer-managed key: CloudWatch alarms cannot publish to a topic under alias/aws/sns',
        );
    }),
    forType('aws:sqs/queue:Queue', (p, report) => {
      if (p.sqsManagedSseEnabled !== true && !p.kmsMasterKeyId) report('SQS queue must be encrypted (SSE-SQS or KMS)');
    }),
  ),
};

export const publicAccessBlocked: ResourceValidationPolicy = {
  name: 'public-access-blocked',
  description: "Every bucket's public access block sets all four flags.",
  enforcementLevel: 'mandatory',
  validateResource: forType('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', (p, report) => {
    for (const f of ['blockPublicAcls', 'blockPublicPolicy', 'ignorePublicAcls', 'restrictPublicBuckets'])
      if (p[f] !== true) report(`${f} must be true`);
  }),
};

export const bucketsFullyGuarded: StackValidationPolicy = {
  name: 'buckets-fully-guarded',
  description: 'Every bucket has a default-encryption configuration and a public access block.',
  enforcementLevel: 'mandatory',
  validateStack: (args: StackValidationArgs, report: Report) => {
    const count = (t: string) => args.resources.filter((r) => r.type === t).length;
    const buckets = count('aws:s3/bucket:Bucket');
    if (count('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration') < buckets)
      report('a bucket has no default encryption configuration');
    if (count('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock') < buckets)
      report('a bucket has no public access block');
  },
};

export const noPublicIps: ResourceValidationPolicy = {
  name: 'no-public-ips',
  description: 'Tasks run without public IPs, in subnets that do not hand them out.',
  enforcementLevel: 'mandatory',
  validateResource: many(
    forType('aws:cloudwatch/eventTarget:EventTarget', (p, report) => {
      if (p.ecsTarget?.networkConfiguration?.assignPublicIp === true)
        report('ECS task target must not assign a public IP');
    }),
    forType('aws:ecs/service:Service', (p, report) => {
      if (p.networkConfiguration?.assignPublicIp === true) report('ECS service must not assign a public IP');
    }),
    forType('aws:ec2/subnet:Subnet', (p, report) => {
      if (p.mapPublicIpOnLaunch === true) report('subnet must not map public IPs on launch');
    }),
  ),
};

const DATA_SERVICES = ['s3', 'dynamodb', 'sqs', 'sns', 'kms', 'events', 'ecs', 'iam'];

/** Allow statements whose actions are wildcards on a data or control service (or everything). */
export function wildcardActions(policy: string | object): string[] {
  const doc = typeof policy === 'string' ? JSON.parse(policy) : policy;
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  const bad: string[] = [];
  for (const s of statements) {
    if (s.Effect !== 'Allow') continue;
    for (const a of [s.Action].flat()) {
      if (typeof a !== 'string') continue;
      const [svc, op] = a.split(':');
      if (
        a === '*' ||
        (op !== undefined && op.includes('*') && DATA_SERVICES.includes(svc) && !/^[A-Z][a-zA-Z]+\*$/.test(op))
      )
        bad.push(a);
    }
  }
  return bad;
}

export const noWildcardActions: ResourceValidationPolicy = {
  name: 'no-wildcard-actions',
  description: 'IAM policies allow named actions only, never service:* on data resources.',
  enforcementLevel: 'mandatory',
  validateResource: (args: ResourceValidationArgs, report: Report) => {
    if (!['aws:iam/rolePolicy:RolePolicy', 'aws:iam/policy:Policy'].includes(args.type)) return;
    const policy = (args.props as Props).policy;
    if (typeof policy !== 'string') return; // unknown during preview
    const bad = wildcardActions(policy);
    if (bad.length) report(`wildcard actions ${bad.join(', ')}`);
  },
};

export const logRetention: ResourceValidationPolicy = {
  name: 'log-retention',
  description: 'Log groups keep logs for a bounded time.',
  enforcementLevel: 'mandatory',
  validateResource: forType('aws:cloudwatch/logGroup:LogGroup', (p, report) => {
    if (!(p.retentionInDays > 0)) report('log group must set retentionInDays');
  }),
};

export const pointInTimeRecovery: ResourceValidationPolicy = {
  name: 'point-in-time-recovery',
  description: 'DynamoDB tables have point-in-time recovery on.',
  enforcementLevel: 'mandatory',
  validateResource: forType('aws:dynamodb/table:Table', (p, report) => {
    if (p.pointInTimeRecovery?.enabled !== true) report('DynamoDB table must enable point-in-time recovery');
  }),
};

export const athenaGuarded: ResourceValidationPolicy = {
  name: 'athena-workgroup-guarded',
  description:
    'Athena workgroups enforce their configuration, encrypt query results and cap the bytes a query may scan.',
  enforcementLevel: 'mandatory',
  validateResource: forType('aws:athena/workgroup:Workgroup', (p, report) => {
    const c = p.configuration ?? {};
    if (c.enforceWorkgroupConfiguration !== true)
      report('Athena workgroup must enforce its configuration (users cannot send results elsewhere)');
    if (!c.resultConfiguration?.encryptionConfiguration?.encryptionOption)
      report('Athena query results must be encrypted');
    if (!(c.bytesScannedCutoffPerQuery > 0)) report('Athena workgroup must cap the bytes scanned per query');
  }),
};

export const resourcePolicies = [
  encryptionAtRest,
  publicAccessBlocked,
  noPublicIps,
  noWildcardActions,
  logRetention,
  pointInTimeRecovery,
  athenaGuarded,
];
export const stackPolicies = [bucketsFullyGuarded];
