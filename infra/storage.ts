// Storage: the bucket (landing, archive, err, the lake, the state) and three tables: the two KPI
// tables and the transform's state table.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { CATEGORY_TABLE, ERR_PREFIX, ORDER_TABLE, STATE_TABLE } from '../runtime/core/names';
import type { Settings } from './settings';
import { ATHENA_RESULTS_PREFIX } from './lake';

export interface StorageArgs {
  settings: Settings;
}

export class Storage extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly categoryTable: aws.dynamodb.Table;
  readonly orderTable: aws.dynamodb.Table;
  /** the incremental transform's commit point: its manifest and lease */
  readonly stateTable: aws.dynamodb.Table;

  constructor(name: string, a: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kpi:storage:Storage', name, {}, opts);
    const s = a.settings;
    const parent = { parent: this };
    this.bucket = new aws.s3.Bucket(
      `${name}-data`,
      { forceDestroy: !s.protect, tags: { purpose: 'ecommerce-kpi' } },
      { ...parent, protect: s.protect },
    );
    const bucket = this.bucket.id;
    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket, rule: { objectOwnership: 'BucketOwnerEnforced' } },
      parent,
    );
    new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      parent,
    );
    // SSE-S3: encrypted at rest with no key policy to keep in step with every task and service role;
    // a customer-managed key would add kms:Decrypt grants to tasks, EventBridge and Athena readers.
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }] },
      parent,
    );
    new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket, versioningConfiguration: { status: 'Enabled' } },
      parent,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket,
        rules: [
          // No transition of archive/ to STANDARD_IA: the bulk path, verify and rebuild read all of
          // it, and IA bills each retrieval and at least 128 KB per object.
          {
            id: 'expire-errors',
            status: 'Enabled',
            filter: { prefix: ERR_PREFIX },
            expiration: { days: s.errExpirationDays },
          },
          {
            id: 'expire-athena-results',
            status: 'Enabled',
            filter: { prefix: ATHENA_RESULTS_PREFIX },
            expiration: { days: 30 },
          },
          {
            id: 'abort-incomplete-uploads',
            status: 'Enabled',
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
          // Each processed upload leaves a delete marker; once the versions behind it have expired, the
          // marker alone is removed (a rule may pair ExpiredObjectDeleteMarker with noncurrent expiry).
          {
            id: 'expire-old-versions',
            status: 'Enabled',
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: 30 },
            expiration: { expiredObjectDeleteMarker: true },
          },
        ],
      },
      parent,
    );
    new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      {
        bucket,
        policy: this.bucket.arn.apply((arn) =>
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'DenyInsecureTransport',
                Effect: 'Deny',
                Principal: '*',
                Action: 's3:*',
                Resource: [arn, `${arn}/*`],
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              },
            ],
          }),
        ),
      },
      parent,
    );
    new aws.s3.BucketNotification(`${name}-eventbridge`, { bucket, eventbridge: true }, parent);

    const table = (id: string, tableName: string, hashKey: string, rangeKey?: string) =>
      new aws.dynamodb.Table(
        id,
        {
          name: tableName,
          billingMode: 'PAY_PER_REQUEST',
          hashKey,
          rangeKey,
          attributes: [{ name: hashKey, type: 'S' }, ...(rangeKey ? [{ name: rangeKey, type: 'S' }] : [])],
          serverSideEncryption: { enabled: true },
          pointInTimeRecovery: { enabled: true },
          deletionProtectionEnabled: s.protect,
        },
        parent,
      );
    this.categoryTable = table(
      `${name}-category-kpis`,
      s.categoryTableName,
      CATEGORY_TABLE.hashKey,
      CATEGORY_TABLE.rangeKey,
    );
    this.orderTable = table(`${name}-order-kpis`, s.orderTableName, ORDER_TABLE.hashKey);
    this.stateTable = table(`${name}-state`, s.stateTableName, STATE_TABLE.hashKey);
    this.registerOutputs({ bucket: this.bucket.id });
  }
}
