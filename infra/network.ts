// Network: a VPC with isolated subnets in two AZs and no NAT; the tasks reach AWS only through
// gateway endpoints (S3, DynamoDB) and interface endpoints (ECR, Logs, SNS, EventBridge; Athena
// when kpi verify runs there).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export const INTERFACE_SERVICES = ['ecr.api', 'ecr.dkr', 'logs', 'sns', 'events'] as const;

/**
 * Two AZs where every interface endpoint service is offered (not every AZ has every service: in
 * us-east-1, use1-az3 lacks some), in the region's order. Pure, unit-tested.
 */
export function chooseZones(
  available: string[],
  perService: string[][],
  count = 2,
  services: readonly string[] = INTERFACE_SERVICES,
): string[] {
  const ok = available.filter((az) => perService.every((zones) => zones.includes(az)));
  if (ok.length < count)
    throw new Error(
      `only ${ok.length} availability zone(s) offer all of ${services.join(', ')}: ${ok.join(', ') || 'none'}`,
    );
  return ok.slice(0, count);
}

export interface NetworkArgs {
  /** the VPC's /16, e.g. 10.42.0.0/16 */
  cidrPrefix?: string;
  /** interface endpoints beyond INTERFACE_SERVICES (athena, when kpi verify runs on Athena) */
  moreServices?: string[];
}

export class Network extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly subnetIds: pulumi.Output<string>[];
  readonly taskSecurityGroup: aws.ec2.SecurityGroup;

  constructor(name: string, a: NetworkArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super('kpi:network:Network', name, {}, opts);
    const parent = { parent: this };
    const net = a.cidrPrefix ?? '10.42';
    const region = aws.getRegionOutput({}, parent).region;
    const available = aws.getAvailabilityZonesOutput({ state: 'available' }, parent).names;
    const services = [...INTERFACE_SERVICES, ...(a.moreServices ?? [])];
    const offered = services.map(
      (svc) =>
        aws.ec2.getVpcEndpointServiceOutput({ serviceName: pulumi.interpolate`com.amazonaws.${region}.${svc}` }, parent)
          .availabilityZones,
    );
    const azs = pulumi
      .all([available, pulumi.all(offered)])
      .apply(([names, zones]) => chooseZones(names, zones, 2, services));
    this.vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      { cidrBlock: `${net}.0.0/16`, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: `${name}-vpc` } },
      parent,
    );
    const routes = new aws.ec2.RouteTable(`${name}-isolated`, { vpcId: this.vpc.id }, parent);
    const subnets = [0, 1].map((i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-isolated-${i}`,
        {
          vpcId: this.vpc.id,
          cidrBlock: `${net}.${i * 16}.0/20`,
          availabilityZone: azs.apply((a) => a[i]),
          mapPublicIpOnLaunch: false,
          tags: { Name: `${name}-isolated-${i}` },
        },
        parent,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-isolated-${i}`,
        { subnetId: subnet.id, routeTableId: routes.id },
        parent,
      );
      return subnet;
    });
    this.subnetIds = subnets.map((s) => s.id);

    const endpointSg = new aws.ec2.SecurityGroup(
      `${name}-endpoints`,
      { vpcId: this.vpc.id, description: 'Interface endpoints: HTTPS from the pipeline tasks only' },
      parent,
    );
    this.taskSecurityGroup = new aws.ec2.SecurityGroup(
      `${name}-tasks`,
      { vpcId: this.vpc.id, description: 'Pipeline tasks: no ingress, HTTPS egress to endpoints only' },
      parent,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-endpoints-from-tasks`,
      {
        securityGroupId: endpointSg.id,
        referencedSecurityGroupId: this.taskSecurityGroup.id,
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
      },
      parent,
    );
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-tasks-to-endpoints`,
      {
        securityGroupId: this.taskSecurityGroup.id,
        referencedSecurityGroupId: endpointSg.id,
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
      },
      parent,
    );

    for (const svc of ['s3', 'dynamodb']) {
      const gw = new aws.ec2.VpcEndpoint(
        `${name}-${svc}`,
        {
          vpcId: this.vpc.id,
          serviceName: pulumi.interpolate`com.amazonaws.${region}.${svc}`,
          vpcEndpointType: 'Gateway',
          routeTableIds: [routes.id],
        },
        parent,
      );
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-tasks-to-${svc}`,
        {
          securityGroupId: this.taskSecurityGroup.id,
          prefixListId: gw.prefixListId,
          ipProtocol: 'tcp',
          fromPort: 443,
          toPort: 443,
        },
        parent,
      );
    }
    for (const svc of services) {
      new aws.ec2.VpcEndpoint(
        `${name}-${svc.replace('.', '-')}`,
        {
          vpcId: this.vpc.id,
          serviceName: pulumi.interpolate`com.amazonaws.${region}.${svc}`,
          vpcEndpointType: 'Interface',
          privateDnsEnabled: true,
          subnetIds: this.subnetIds,
          securityGroupIds: [endpointSg.id],
        },
        parent,
      );
    }
    this.registerOutputs({ vpcId: this.vpc.id });
  }
}
