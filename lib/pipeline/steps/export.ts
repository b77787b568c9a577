// export: model + registration artifacts -> deployable folders of each registered version, one per
// format (export.formats: KServe InferenceService + model folder, Triton repository, MLflow model,
// plain ONNX), written and checked by exportModel.
import { join } from 'node:path';

import { type ExportFormat, exportModel } from '../../export/index.js';
import { loadIndexedModel, modelIndex } from '../dataset-io.js';
import { type StepContext, type StepReport, writeJson } from '../step.js';
import { seriesDir } from './preprocess.js';
import { registrations } from './register.js';

/** A DNS-1123 label for a registered model name (InferenceService and Triton model name). */
export function serviceName(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return s === '' ? 'informer' : s;
}

export interface ExportEntry {
  series: string | null;
  name: string;
  version: number;
  service: string;
  /** Format -> folder, relative to the artifact. */
  folders: Partial<Record<ExportFormat, string>>;
  storageUri?: string;
}

export async function exportStep(ctx: StepContext): Promise<StepReport> {
  const modelDir = ctx.input('model');
  const models = modelIndex(modelDir);
  const reg = registrations(ctx.input('registration'));
  const out = ctx.output('export');
  const entries: ExportEntry[] = [];
  const single = reg.models.length === 1 && reg.models[0]!.series === null;
  for (const r of reg.models) {
    const m = models.find((x) => !x.global && x.series === r.series)!;
    const model = loadIndexedModel(modelDir, m);
    const service = single ? ctx.spec.deploy.serviceName : serviceName(r.name);
    const base = ctx.spec.export.storageUri;
    const storageUri = base === undefined ? undefined : single ? base : `${base.replace(/\/+$/, '')}/${service}`;
    const folders: ExportEntry['folders'] = {};
    try {
      for (const format of ctx.spec.export.formats) {
        const rel = join(seriesDir(r.series), format);
        exportModel(model, join(out, rel), {
          format,
          name: service,
          ...(format === 'kserve'
            ? {
                storageUri,
                modelFormat: ctx.spec.export.runtime === 'mlserver' ? 'mlflow' : 'onnx',
                ...(ctx.spec.deploy.namespace !== undefined ? { namespace: ctx.spec.deploy.namespace } : {}),
              }
            : {}),
        });
        folders[format] = rel;
      }
    } finally {
      model.dispose();
    }
    entries.push({ series: r.series, name: r.name, version: r.version, service, folders, ...(storageUri ? { storageUri } : {}) });
    ctx.log(`  ${r.name} v${r.version}: ${Object.keys(folders).join(', ')}`);
  }
  writeJson(out, 'index.json', { exports: entries });
  const uris: Record<string, string> = {};
  for (const e of entries)
    for (const [f, rel] of Object.entries(e.folders)) uris[`${f}${e.series === null ? '' : ` ${e.series}`}`] = join(out, rel);
  return { uris, summary: `${entries.length} model(s) as ${ctx.spec.export.formats.join(', ')}` };
}
