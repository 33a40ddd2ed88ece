// Images: one ECR repository, two images built from the one multi-stage Dockerfile (targets
// validate and transform), for Fargate's linux/amd64.
import * as aws from '@pulumi/aws';
import * as awsx from '@pulumi/awsx';
import * as pulumi from '@pulumi/pulumi';
import path from 'node:path';
import { STAGES, type Stage } from '../runtime/names';
import type { Settings } from './settings';

export class Images extends pulumi.ComponentResource {
  readonly repository: aws.ecr.Repository;
  readonly uris: Record<Stage, pulumi.Output<string>>;

  constructor(name: string, s: Settings, opts?: pulumi.ComponentResourceOptions) {
    super('kpi:images:Images', name, {}, opts);
    const parent = { parent: this };
    this.repository = new aws.ecr.Repository(`${name}-repo`, { imageScanningConfiguration: { scanOnPush: true }, imageTagMutability: 'MUTABLE', forceDelete: !s.protect, encryptionConfigurations: [{ encryptionType: 'AES256' }] }, parent);
    new aws.ecr.LifecyclePolicy(
      `${name}-keep-last`,
      {
        repository: this.repository.name,
        policy: JSON.stringify({ rules: [{ rulePriority: 1, description: `keep the last ${s.imagesToKeep} images`, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: s.imagesToKeep }, action: { type: 'expire' } }] }),
      },
      parent,
    );
    const context = path.join(__dirname, '..', '..');
    const uris = {} as Record<Stage, pulumi.Output<string>>;
    for (const stage of STAGES) {
      const image = new awsx.ecr.Image(`${name}-${stage}`, { repositoryUrl: this.repository.repositoryUrl, context, dockerfile: path.join(context, 'Dockerfile'), target: stage, platform: 'linux/amd64', imageTag: stage }, parent);
      uris[stage] = image.imageUri;
    }
    this.uris = uris;
    this.registerOutputs({ repository: this.repository.repositoryUrl });
  }
}
