// deploy --target kubernetes: see kubernetes.ts (client, apply, wait until Ready).
import type { StepContext } from '../step.js';
import type { Deployment } from './deploy.js';
import type { ExportEntry } from './export.js';
import type { Registration } from './register.js';
import { DeployError } from '../errors.js';

export async function deployKubernetes(
  _ctx: StepContext,
  _reg: { alias: string; models: Registration[] },
  _exports: ExportEntry[],
  _exportDir: string,
): Promise<Deployment> {
  throw new DeployError('deploy.target kubernetes is not available in this build', 'deploy');
}
