// Runs the Pulumi program under pulumi.runtime.setMocks and captures every resource registered.
// setMocks is awaited BEFORE the program is imported, or resources silently vanish.
import * as pulumi from '@pulumi/pulumi';

export interface Captured {
  type: string;
  name: string;
  urn: string;
  inputs: Record<string, any>;
}

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

function arnFor(type: string, name: string, inputs: Record<string, unknown>): string {
  const [pkg, mod] = type.split(':');
  if (type === 'aws:ecs/taskDefinition:TaskDefinition')
    return `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${inputs.family}:1`;
  if (type === 'aws:dynamodb/table:Table') return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${inputs.name}`;
  if (type === 'aws:s3/bucket:Bucket') return `arn:aws:s3:::${name}-bucket`;
  if (type === 'aws:iam/role:Role') return `arn:aws:iam::${ACCOUNT}:role/${name}`;
  return `arn:${pkg}:${mod.split('/')[0]}:${REGION}:${ACCOUNT}:${name}`;
}

/** AZs where each interface endpoint service is offered (the mock's region lacks 'a' for logs). */
export const OFFERED_ZONES = [`${REGION}a`, `${REGION}b`, `${REGION}c`];

export async function runProgram(
  config: Record<string, string> = {},
  stack = 'dev',
): Promise<{ resources: Captured[]; outputs: Record<string, unknown> }> {
  const resources: Captured[] = [];
  pulumi.runtime.setAllConfig({ 'aws:region': REGION, ...config });
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === 'awsx:ecr:Image')
          state.imageUri = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/kpi@sha256:${args.name}`;
        else state.arn = arnFor(args.type, args.name, args.inputs);
        if (args.type === 'aws:s3/bucket:Bucket') state.bucket = `${args.name}-bucket`;
        if (args.type === 'aws:ecr/repository:Repository')
          state.repositoryUrl = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${args.name}`;
        if (args.type === 'aws:sqs/queue:Queue')
          Object.assign(state, {
            name: `${args.name}-queue`,
            url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${args.name}`,
          });
        if (args.type === 'aws:cloudwatch/eventRule:EventRule') state.name = `${args.name}-rule`;
        if (args.type === 'aws:ec2/vpcEndpoint:VpcEndpoint') state.prefixListId = `pl-${args.name}`;
        if (args.type === 'aws:cloudwatch/dashboard:Dashboard') state.dashboardName = args.inputs.dashboardName;
        resources.push({
          type: args.type,
          name: args.name,
          urn: `urn:pulumi:${stack}::ecommerce-kpi-pipeline::${args.type}::${args.name}`,
          inputs: args.inputs,
        });
        const id = args.type === 'aws:s3/bucket:Bucket' ? `${args.name}-bucket` : `${args.name}_id`;
        return { id, state };
      },
      call(args) {
        switch (args.token) {
          case 'aws:index/getRegion:getRegion':
            return { name: REGION, region: REGION, id: REGION };
          case 'aws:index/getCallerIdentity:getCallerIdentity':
            return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/ci`, userId: 'ci', id: ACCOUNT };
          case 'aws:index/getAvailabilityZones:getAvailabilityZones':
            return {
              names: [`${REGION}a`, `${REGION}b`, `${REGION}c`],
              zoneIds: ['use1-az1', 'use1-az2', 'use1-az3'],
              id: REGION,
            };
          case 'aws:ec2/getVpcEndpointService:getVpcEndpointService':
            // like use1-az3 in us-east-1: one AZ lacks one of the services
            return {
              ...args.inputs,
              availabilityZones: String(args.inputs.serviceName).endsWith('.logs')
                ? OFFERED_ZONES.slice(1)
                : OFFERED_ZONES,
              id: String(args.inputs.serviceName),
            };
          default:
            return args.inputs;
        }
      },
    },
    'ecommerce-kpi-pipeline',
    stack,
    false,
  );
  // A fresh copy of the program for each run (a second stack in the same process).
  for (const k of Object.keys(require.cache))
    if (k.includes(`${require('node:path').sep}infra${require('node:path').sep}`)) delete require.cache[k];
  const program = await import('../infra/index');
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(program)) {
    outputs[k] = await new Promise((resolve) => (pulumi.Output.isInstance(v) ? v.apply(resolve) : resolve(v)));
  }
  // Resources whose inputs depend on other outputs register a little later.
  let n = -1;
  while (n !== resources.length) {
    n = resources.length;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { resources, outputs };
}
