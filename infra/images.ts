// Images: one ECR repository, two images built from the one multi-stage Dockerfile (targets
// validate and transform), for Fargate's linux/amd64.
import * as aws from '@pulumi/aws';
import * as awsx from '@pulumi/awsx';
import * as pulumi from '@pulumi/pulumi';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { STAGES, type Stage } from '../runtime/core/names';
import type { Settings } from './settings';

/**
 * The repository root (the Docker build context) from this file's folder. The Pulumi CLI runs
 * infra/index.ts in place (<repo>/infra), the tests load dist/infra (<repo>/dist/infra): walk up
 * to the folder that holds the Dockerfile and package.json instead of counting levels.
 */
export function repoRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'Dockerfile')) && existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Dockerfile with a package.json above ${from}`);
  }
}

export interface ImagesArgs {
  settings: Settings;
}

export class Images extends pulumi.ComponentResource {
  readonly repository: aws.ecr.Repository;
  readonly uris: Record<Stage, pulumi.Output<string>>;

  constructor(name: string, a: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kpi:images:Images', name, {}, opts);
    const s = a.settings;
    const parent = { parent: this };
    this.repository = new aws.ecr.Repository(
      `${name}-repo`,
      {
        imageScanningConfiguration: { scanOnPush: true },
        imageTagMutability: 'MUTABLE',
        forceDelete: !s.protect,
        encryptionConfigurations: [{ encryptionType: 'AES256' }],
      },
      parent,
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-keep-last`,
      {
        repository: this.repository.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: `keep the last ${s.imagesToKeep} images`,
              selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: s.imagesToKeep },
              action: { type: 'expire' },
            },
          ],
        }),
      },
      parent,
    );
    const context = repoRoot(__dirname);
    const uris = {} as Record<Stage, pulumi.Output<string>>;
    for (const stage of STAGES) {
      const image = new awsx.ecr.Image(
        `${name}-${stage}`,
        {
          repositoryUrl: this.repository.repositoryUrl,
          context,
          dockerfile: path.join(context, 'Dockerfile'),
          target: stage,
          platform: 'linux/amd64',
          imageTag: stage,
        },
        parent,
      );
      uris[stage] = image.imageUri;
    }
    this.uris = uris;
    this.registerOutputs({ repository: this.repository.repositoryUrl });
  }
}
