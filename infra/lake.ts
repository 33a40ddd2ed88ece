// Lake: the curated zone as a table analysts query — a Glue Data Catalog database and table over
// curated/joined_items/ (Parquet, partition projection on order_date: no crawler, no MSCK REPAIR),
// one table per entity over the validated zone (kpi verify's input with KPI_HISTORY_ENGINE=athena),
// and an Athena workgroup whose results are encrypted under the bucket, with a bytes-scanned cap.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { CURATED_PREFIX, ENTITIES, VALIDATED_PREFIX, type Entity } from '../runtime/core/names';
import { LAKE_COLUMNS } from '../runtime/core/formats/parquet';
import { VALIDATED_COLUMNS } from '../runtime/core/formats/validated';
import { ZONE_TABLES } from '../runtime/history/athena';
import type { AthenaAccess } from './iam';
import { physicalName, type Settings } from './settings';

export interface LakeArgs {
  settings: Settings;
  bucketName: pulumi.Input<string>;
}

/** Parquet types of the lake's columns → Glue (Hive) types. */
const GLUE_TYPE: Record<string, string> = { STRING: 'string', INT64: 'bigint', BOOLEAN: 'boolean' };

/**
 * Table parameters for partition projection on order_date (Athena user guide, "Partition
 * projection"): dates projected from the range, the location from a template, so new days are
 * queryable at once. Pure, unit-tested.
 */
export function projectionParameters(bucket: string, range: string): Record<string, string> {
  return {
    classification: 'parquet',
    EXTERNAL: 'TRUE',
    'projection.enabled': 'true',
    'projection.order_date.type': 'date',
    'projection.order_date.format': 'yyyy-MM-dd',
    'projection.order_date.range': range,
    'projection.order_date.interval': '1',
    'projection.order_date.interval.unit': 'DAYS',
    'storage.location.template': `s3://${bucket}/${CURATED_PREFIX}order_date=\${order_date}/`,
  };
}

const PARQUET = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serDeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
};

/** Glue ARNs of a catalog's database and tables (Glue's resource ARN formats). Pure, unit-tested. */
export function glueAccess(
  region: string,
  account: string,
  workgroupArn: string,
  database: string,
  tables: string[],
): Omit<AthenaAccess, 'resultsPrefix'> {
  const glue = `arn:aws:glue:${region}:${account}`;
  return {
    workgroupArn,
    catalogArn: `${glue}:catalog`,
    databaseArn: `${glue}:database/${database}`,
    tableArns: tables.map((t) => `${glue}:table/${database}/${t}`),
  };
}

export class Lake extends pulumi.ComponentResource {
  readonly database: aws.glue.CatalogDatabase;
  readonly table: aws.glue.CatalogTable;
  /** validated_<entity>: every object under validated/<entity>/ (Athena lists the location recursively) */
  readonly zoneTables = {} as Record<Entity, aws.glue.CatalogTable>;
  readonly workgroup: aws.athena.Workgroup;

  constructor(name: string, a: LakeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kpi:lake:Lake', name, {}, opts);
    const parent = { parent: this };
    const s = a.settings;
    // Glue database names allow lower case, digits and underscores only.
    this.database = new aws.glue.CatalogDatabase(
      `${name}-lake`,
      { name: physicalName(s, 'ecommerce_kpi', '_').replace(/[^a-z0-9_]/g, '_') },
      parent,
    );
    this.table = new aws.glue.CatalogTable(
      `${name}-joined-items`,
      {
        databaseName: this.database.name,
        name: 'joined_items',
        tableType: 'EXTERNAL_TABLE',
        parameters: pulumi.output(a.bucketName).apply((b) => projectionParameters(b, s.lakeProjectionRange)),
        partitionKeys: [{ name: 'order_date', type: 'string' }],
        storageDescriptor: {
          location: pulumi.interpolate`s3://${a.bucketName}/${CURATED_PREFIX}`,
          ...PARQUET,
          columns: LAKE_COLUMNS.map(([col, type]) => ({ name: col, type: GLUE_TYPE[type] as string })),
        },
      },
      parent,
    );
    for (const e of ENTITIES)
      this.zoneTables[e] = new aws.glue.CatalogTable(
        `${name}-${ZONE_TABLES[e].replace(/_/g, '-')}`,
        {
          databaseName: this.database.name,
          name: ZONE_TABLES[e],
          tableType: 'EXTERNAL_TABLE',
          parameters: { classification: 'parquet', EXTERNAL: 'TRUE' },
          storageDescriptor: {
            location: pulumi.interpolate`s3://${a.bucketName}/${VALIDATED_PREFIX}${e}/`,
            ...PARQUET,
            columns: VALIDATED_COLUMNS[e].map(([col, type]) => ({ name: col, type: GLUE_TYPE[type] as string })),
          },
        },
        parent,
      );
    this.workgroup = new aws.athena.Workgroup(
      `${name}-athena`,
      {
        name: physicalName(s, 'kpi-lake'),
        forceDestroy: !s.protect,
        configuration: {
          enforceWorkgroupConfiguration: true,
          publishCloudwatchMetricsEnabled: true,
          bytesScannedCutoffPerQuery: s.athenaBytesScannedLimit,
          resultConfiguration: {
            outputLocation: pulumi.interpolate`s3://${a.bucketName}/${ATHENA_RESULTS_PREFIX}`,
            encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          },
        },
      },
      parent,
    );
    this.registerOutputs({ database: this.database.name, table: this.table.name, workgroup: this.workgroup.name });
  }

  /** The ARNs a query of these tables needs (iam.ts athenaStatements): Glue authorizes each level. */
  access(
    region: pulumi.Input<string>,
    account: pulumi.Input<string>,
  ): pulumi.Output<Omit<AthenaAccess, 'resultsPrefix'>> {
    const tables = [this.table, ...ENTITIES.map((e) => this.zoneTables[e])].map((t) => t.name);
    return pulumi
      .all([region, account, this.workgroup.arn, this.database.name, pulumi.all(tables)])
      .apply(([r, acct, workgroupArn, db, names]) => glueAccess(r, acct, workgroupArn, db, names));
  }
}

export const ATHENA_RESULTS_PREFIX = 'athena-results/';
