// Least-privilege policy documents, as pure functions of ARNs (unit-tested beside the program).
import {
  ARCHIVE_PREFIX,
  CURATED_PREFIX,
  VALIDATED_PREFIX,
  ERR_PREFIX,
  LANDING_PREFIX,
  QUALITY_KEY,
  STATE_PREFIX,
} from '../runtime/core/names';

/** The transform's own objects (docs/state-and-commits.md): index runs and commit records. */
const STATE_OBJECTS = ['index/', 'commits/'].map((p) => `${STATE_PREFIX}${p}`);
const PENDING = `${STATE_PREFIX}pending/`;

export interface Statement {
  Sid?: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export const doc = (Statement: Statement[]) => JSON.stringify({ Version: '2012-10-17', Statement });

/**
 * Publishing to an SNS topic encrypted with a customer-managed key needs kms:GenerateDataKey* and
 * kms:Decrypt on that key (AWS docs, "Encryption at rest" for Amazon SNS: publishers of an encrypted
 * topic must be allowed to use its key); sns:Publish alone fails and the alert is lost.
 */
const alertStatements = (topicArn: string, keyArn: string): Statement[] => [
  { Sid: 'Alert', Effect: 'Allow', Action: ['sns:Publish'], Resource: [topicArn] },
  { Sid: 'AlertKey', Effect: 'Allow', Action: ['kms:GenerateDataKey*', 'kms:Decrypt'], Resource: [keyArn] },
];

/**
 * validate: read and clear the landing zone (by version: the bucket is versioned, and exactly the
 * version read is deleted), write archive/ and err/, hand over, alert.
 */
export function validateStatements(
  bucketArn: string,
  eventBusArn: string,
  topicArn: string,
  keyArn: string,
): Statement[] {
  return [
    {
      Sid: 'ListOwnPrefixes',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucketArn],
      Condition: { StringLike: { 's3:prefix': [`${LANDING_PREFIX}*`, `${ARCHIVE_PREFIX}*`] } },
    },
    {
      Sid: 'Landing',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:DeleteObject', 's3:DeleteObjectVersion'],
      Resource: [`${bucketArn}/${LANDING_PREFIX}*`],
    },
    // The HEAD of an earlier archived copy (the same file delivered twice), then the put.
    {
      Sid: 'Archive',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: [`${bucketArn}/${ARCHIVE_PREFIX}*`],
    },
    { Sid: 'Errors', Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${bucketArn}/${ERR_PREFIX}*`] },
    // The file's valid versions as Parquet, put before the archive object (the history engine's input).
    {
      Sid: 'ValidatedZone',
      Effect: 'Allow',
      Action: ['s3:PutObject'],
      Resource: [`${bucketArn}/${VALIDATED_PREFIX}*`],
    },
    // The pending marker, put before the archive object: the transform's list of work.
    {
      Sid: 'PendingMarkers',
      Effect: 'Allow',
      Action: ['s3:PutObject'],
      Resource: [`${bucketArn}/${STATE_PREFIX}pending/*`],
    },
    { Sid: 'HandOver', Effect: 'Allow', Action: ['events:PutEvents'], Resource: [eventBusArn] },
    ...alertStatements(topicArn, keyArn),
  ];
}

/** transform: read archive/, report expired items to err/unmatched/, own the lake, its state and the two KPI tables. */
export function transformStatements(
  bucketArn: string,
  tableArns: string[],
  stateTableArn: string,
  topicArn: string,
  keyArn: string,
): Statement[] {
  return [
    {
      Sid: 'ListArchive',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucketArn],
      // The landing zone: the bulk path restarts while uploads are still arriving (transform.ts).
      // state/index/ and state/commits/: the collection of unreferenced objects (garbage.ts).
      Condition: {
        StringLike: {
          's3:prefix': [
            `${LANDING_PREFIX}*`,
            `${ARCHIVE_PREFIX}*`,
            `${CURATED_PREFIX}*`,
            `${PENDING}*`,
            ...STATE_OBJECTS.map((p) => `${p}*`),
          ],
        },
      },
    },
    // Delete: an archived file that fails the same way twice is quarantined (moved to err/files/quarantine/).
    {
      Sid: 'ReadArchive',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:DeleteObject'],
      Resource: [`${bucketArn}/${ARCHIVE_PREFIX}*`],
    },
    {
      Sid: 'Unmatched',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: [`${bucketArn}/${ERR_PREFIX}unmatched/*`],
    },
    {
      Sid: 'Quarantine',
      Effect: 'Allow',
      Action: ['s3:PutObject'],
      Resource: [`${bucketArn}/${ERR_PREFIX}files/quarantine/*`],
    },
    // The validated zone: the history engine's input (verify reads it; rebuild writes a missing object).
    {
      Sid: 'ValidatedZone',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: [`${bucketArn}/${VALIDATED_PREFIX}*`],
    },
    // The curated zone: a day's new file is put, the old ones deleted; verify reads them back.
    {
      Sid: 'CuratedZone',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      Resource: [`${bucketArn}/${CURATED_PREFIX}*`],
    },
    { Sid: 'QualitySummary', Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${bucketArn}/${QUALITY_KEY}`] },
    {
      Sid: 'StateObjects',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      Resource: STATE_OBJECTS.map((p) => `${bucketArn}/${p}*`),
    },
    // Markers: put for archived files the state has never seen (no state yet), deleted once applied.
    {
      Sid: 'PendingMarkers',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:DeleteObject'],
      Resource: [`${bucketArn}/${PENDING}*`],
    },
    // The manifest: read, and the conditional writes of the lease and the commit.
    {
      Sid: 'StateTable',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: [stateTableArn],
    },
    {
      Sid: 'KpiTables',
      Effect: 'Allow',
      // Rows are written one by one, each conditional on no newer commit's fence (PutItem:
      // BatchWriteItem takes no conditions; a deleted row is a tombstone put, so no DeleteItem);
      // Scan: a bulk commit and verify read them.
      Action: ['dynamodb:PutItem', 'dynamodb:Scan'],
      Resource: tableArns,
    },
    ...alertStatements(topicArn, keyArn),
  ];
}

/** What kpi verify on Athena touches (KPI_HISTORY_ENGINE=athena): the stack's workgroup and tables. */
export interface AthenaAccess {
  workgroupArn: string;
  /** the account's Data Catalog, the lake's database and its tables (Glue authorizes each level) */
  catalogArn: string;
  databaseArn: string;
  tableArns: string[];
  /** the workgroup's result location, a prefix of the bucket (e.g. athena-results/) */
  resultsPrefix: string;
}

/**
 * Athena runs a query with the caller's permissions: the Glue look-ups, the reads of the tables'
 * objects (validated/ and curated/, already granted by transformStatements) and the listing of
 * their prefixes, and the writes of the results it then reads back (Athena user guide, "Identity
 * and access management in Athena": the result location needs Put, Get and the multipart calls).
 */
export function athenaStatements(bucketArn: string, a: AthenaAccess): Statement[] {
  return [
    {
      Sid: 'AthenaQueries',
      Effect: 'Allow',
      Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
      Resource: [a.workgroupArn],
    },
    {
      Sid: 'GlueTables',
      Effect: 'Allow',
      Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      Resource: [a.catalogArn, a.databaseArn, ...a.tableArns],
    },
    {
      Sid: 'AthenaListTables',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucketArn],
      Condition: { StringLike: { 's3:prefix': [`${VALIDATED_PREFIX}*`, `${a.resultsPrefix}*`] } },
    },
    {
      Sid: 'AthenaBucket',
      Effect: 'Allow',
      Action: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
      Resource: [bucketArn],
    },
    {
      Sid: 'AthenaResults',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      Resource: [`${bucketArn}/${a.resultsPrefix}*`],
    },
  ];
}

/** EventBridge may start only these task families and pass only these roles. */
export function eventsStatements(
  taskDefinitionFamilyArns: string[],
  passRoleArns: string[],
  clusterArn: string,
): Statement[] {
  return [
    {
      Sid: 'RunPipelineTasks',
      Effect: 'Allow',
      Action: ['ecs:RunTask'],
      Resource: taskDefinitionFamilyArns.map((a) => `${a}:*`),
      Condition: { ArnEquals: { 'ecs:cluster': clusterArn } },
    },
    {
      Sid: 'PassPipelineRoles',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: passRoleArns,
      Condition: { StringLike: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    },
  ];
}

/** Turns "arn:aws:ecs:r:a:task-definition/family:3" into the family ARN without the revision. */
export function familyArn(taskDefinitionArn: string): string {
  return taskDefinitionArn.replace(/:\d+$/, '');
}
