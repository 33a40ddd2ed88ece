// The Pulumi program: wires one component per concern and exports the stack outputs.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { Alerts } from './alerts';
import { Compute } from './compute';
import { Images } from './images';
import { Monitoring } from './monitoring';
import { ATHENA_RESULTS_PREFIX, Lake } from './lake';
import { Network } from './network';
import { loadSettings } from './settings';
import { Storage } from './storage';
import { Trigger } from './trigger';

const settings = loadSettings();
const region = aws.getRegionOutput().region;
const account = aws.getCallerIdentityOutput().accountId;
const eventBusName = 'default';
const eventBusArn = pulumi.interpolate`arn:aws:events:${region}:${account}:event-bus/${eventBusName}`;

// kpi verify on Athena calls Athena's API from the private subnets: one more interface endpoint.
const network = new Network('kpi', { moreServices: settings.historyEngine === 'athena' ? ['athena'] : [] });
const storage = new Storage('kpi', { settings });
const alerts = new Alerts('kpi', { settings });
const images = new Images('kpi', { settings });
const lake = new Lake('kpi', { settings, bucketName: storage.bucket.id });
const compute = new Compute('kpi', {
  settings,
  images: images.uris,
  bucket: storage.bucket,
  tables: { category: storage.categoryTable, order: storage.orderTable, state: storage.stateTable },
  topicArn: alerts.topic.arn,
  topicKeyArn: alerts.key.arn,
  eventBusArn,
  eventBusName,
  lake: {
    workgroupName: lake.workgroup.name,
    databaseName: lake.database.name,
    access: lake.access(region, account),
    resultsPrefix: ATHENA_RESULTS_PREFIX,
  },
});
const trigger = new Trigger('kpi', {
  settings,
  bucketName: storage.bucket.id,
  clusterArn: compute.cluster.arn,
  taskDefinitions: compute.taskDefinitions,
  passRoles: [compute.executionRole.arn, compute.taskRoles.validate.arn, compute.taskRoles.transform.arn],
  subnetIds: network.subnetIds,
  securityGroupId: network.taskSecurityGroup.id,
  eventBusName,
});
const monitoring = new Monitoring('kpi', {
  settings,
  topicArn: alerts.topic.arn,
  deadLetterQueueName: trigger.deadLetterQueue.name,
  ruleNames: Object.fromEntries(Object.entries(trigger.rules).map(([what, r]) => [what, r.name])),
  tableNames: { category: storage.categoryTable.name, order: storage.orderTable.name },
  clusterArn: compute.cluster.arn,
});

export const bucketName = storage.bucket.id;
export const categoryTable = storage.categoryTable.name;
export const orderTable = storage.orderTable.name;
export const alertTopicArn = alerts.topic.arn;
export const deadLetterQueueUrl = trigger.deadLetterQueue.url;
export const dashboardUrl = pulumi.interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${monitoring.dashboard.dashboardName}`;
export const uploadCommand = pulumi.interpolate`AWS_REGION=${region} KPI_BUCKET=${storage.bucket.id} KPI_CATEGORY_TABLE=${storage.categoryTable.name} KPI_ORDER_TABLE=${storage.orderTable.name} npx kpi upload data`;
export const lakeDatabase = lake.database.name;
export const athenaWorkgroup = lake.workgroup.name;
export const athenaQueryCommand = pulumi.interpolate`aws athena start-query-execution --work-group ${lake.workgroup.name} --query-execution-context Database=${lake.database.name} --query-string "SELECT order_date, SUM(sale_price_cents) / 100.0 AS revenue FROM joined_items WHERE order_date = '2025-03-25' GROUP BY order_date"`;
export const queryCommand = pulumi.interpolate`aws dynamodb query --table-name ${storage.categoryTable.name} --key-condition-expression "category = :c" --expression-attribute-values '{":c":{"S":"Jeans"}}'`;
