// The policy pack's entry file: `pulumi preview --policy-pack policy`. Nothing else builds it.
import { PolicyPack } from '@pulumi/policy';
import { resourcePolicies, stackPolicies } from './policies';

new PolicyPack('kpi-pipeline', { policies: [...resourcePolicies, ...stackPolicies] });
