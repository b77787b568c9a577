// deploy --target kubernetes: for each registered model whose version became the champion, apply
// the InferenceService the export step wrote and wait until it is Ready. A version that did not
// beat the champion leaves the running service as it is.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type * as Yaml from 'yaml';

import { requireLazily } from '../../lazy.js';
import { DeployError } from '../errors.js';
import { applyInferenceService } from '../kubernetes.js';
import type { StepContext } from '../step.js';
import type { Deployment } from './deploy.js';
import type { ExportEntry } from './export.js';
import type { Registration } from './register.js';

export async function deployKubernetes(
  ctx: StepContext,
  reg: { alias: string; models: Registration[] },
  exports: ExportEntry[],
  exportDir: string,
): Promise<Deployment> {
  const yaml = requireLazily<typeof Yaml>('yaml', 'reading InferenceService manifests');
  const models: Deployment['models'] = [];
  for (const r of reg.models) {
    if (!r.promoted) {
      ctx.log(
        `  ${r.name}: version ${r.version} did not beat @${reg.alias} (version ${r.previousChampion}); the InferenceService is left as it is`,
      );
      continue;
    }
    const e = exports.find((x) => x.series === r.series);
    if (e?.folders.kserve === undefined) throw new DeployError(`no kserve export for ${r.name}; add kserve to export.formats`, 'deploy');
    const manifest = yaml.parse(readFileSync(join(exportDir, e.folders.kserve, 'inferenceservice.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    const meta = (manifest.metadata ?? {}) as { annotations?: Record<string, string> };
    manifest.metadata = {
      ...meta,
      annotations: {
        ...(meta.annotations ?? {}),
        'informer-node/model': `models:/${r.name}/${r.version}`,
        'informer-node/pipeline-run': ctx.run.info.runId,
      },
    };
    const applied = await applyInferenceService(manifest, {
      ...(ctx.spec.deploy.namespace !== undefined ? { namespace: ctx.spec.deploy.namespace } : {}),
      ...(ctx.spec.deploy.kubeconfig !== undefined ? { kubeconfig: ctx.spec.deploy.kubeconfig } : {}),
      timeoutSeconds: ctx.spec.deploy.timeoutSeconds,
      pollMs: ctx.spec.deploy.pollSeconds * 1000,
      log: ctx.log,
    });
    models.push({ series: r.series, name: r.name, version: r.version, url: applied.url, service: `${applied.namespace}/${applied.name}` });
  }
  return { target: 'kubernetes', models };
}
