// register: model + metrics artifacts -> a new registered version per model that passed the gate.
// The alias (default `champion`) moves to the new version only if it beats the current champion on
// the same test windows: the champion is loaded and evaluated on this run's test split, and the
// gate's metric (mse or mae) decides. A champion that cannot take these windows (other window
// lengths, columns or frequency) cannot be compared, and the new version takes the alias.

import { resolveModelUri, resolveWeightsFile } from '../../artifact/resolve.js';
import { Informer } from '../../model.js';
import { TrackingError } from '../../tracking/errors.js';
import { getModelVersionByAlias, registerModel, setRegisteredModelAlias } from '../../tracking/registry.js';
import { datasetIndex, loadSeriesDataset, modelIndex } from '../dataset-io.js';
import { seriesModelName } from '../spec.js';
import { readJson, type StepContext, type StepReport, writeJson } from '../step.js';
import { type Evaluation, testMetrics } from './evaluate.js';

export interface Registration {
  series: string | null;
  name: string;
  version: number;
  modelUri: string;
  /** The alias moved to this version. */
  promoted: boolean;
  previousChampion: number | null;
  reason: string;
  metric: 'mse' | 'mae';
  value: number;
  championValue: number | null;
}

export async function registerStep(ctx: StepContext): Promise<StepReport> {
  const datasetDir = ctx.input('dataset');
  const modelDir = ctx.input('model');
  const evaluation = readJson<Evaluation>(ctx.input('metrics'), 'evaluation.json');
  const { alias } = ctx.spec.register;
  const metric = ctx.spec.gate.metric;
  const models = modelIndex(modelDir);
  const out: Registration[] = [];
  for (const entry of datasetIndex(datasetDir, ctx.series)) {
    const ev = evaluation.series.find((e) => e.series === entry.series);
    if (ev === undefined || !ev.passed) {
      ctx.log(`  ${entry.series ?? 'model'}: below the gate, not registered`);
      continue;
    }
    const m = models.find((x) => !x.global && x.series === entry.series)!;
    const name = seriesModelName(ctx.spec, entry.series ?? undefined);
    const value = ev.test[metric];
    let champion: { version: number; value: number | null; why?: string } | null = null;
    try {
      const mv = getModelVersionByAlias(ctx.store, name, alias);
      const { dataset } = await loadSeriesDataset(datasetDir, entry);
      const model = Informer.load(resolveWeightsFile(resolveModelUri(`models:/${name}/${mv.version}`, ctx.store)));
      try {
        champion = { version: mv.version, value: (await testMetrics(model, dataset, ctx.spec.training.batchSize))[metric] };
      } catch (e) {
        champion = { version: mv.version, value: null, why: (e as Error).message };
      } finally {
        model.dispose();
      }
    } catch (e) {
      if (!(e instanceof TrackingError)) throw e; // no such model or alias yet: no champion
    }
    const mv = registerModel(ctx.store, m.modelUri, name, {
      tags: {
        'informer.pipeline.run_id': ctx.run.info.runId,
        'informer.pipeline.series': entry.series ?? '',
        [`informer.test_${metric}`]: value,
        'informer.test_skill': ev.test.skill,
      },
    });
    let promoted: boolean;
    let reason: string;
    if (champion === null) {
      promoted = true;
      reason = `no '${alias}' yet`;
    } else if (champion.value === null) {
      promoted = true;
      reason = `the '${alias}' (version ${champion.version}) cannot forecast these windows (${champion.why}); replaced`;
    } else if (value < champion.value) {
      promoted = true;
      reason = `test ${metric} ${value.toFixed(4)} < ${champion.value.toFixed(4)} of '${alias}' version ${champion.version} on the same windows`;
    } else {
      promoted = false;
      reason = `test ${metric} ${value.toFixed(4)} does not beat ${champion.value.toFixed(4)} of '${alias}' version ${champion.version} on the same windows`;
    }
    if (promoted) setRegisteredModelAlias(ctx.store, name, alias, mv.version);
    out.push({
      series: entry.series,
      name,
      version: mv.version,
      modelUri: m.modelUri,
      promoted,
      previousChampion: champion?.version ?? null,
      reason,
      metric,
      value,
      championValue: champion?.value ?? null,
    });
    ctx.log(
      `  models:/${name}/${mv.version}: ${promoted ? `now '${alias}'` : `'${alias}' stays at version ${champion!.version}`} (${reason})`,
    );
  }
  const dir = ctx.output('registration');
  writeJson(dir, 'registration.json', { alias, models: out });
  ctx.run.logMetrics({ registered: out.length, promoted: out.filter((r) => r.promoted).length });
  const uris: Record<string, string> = {};
  for (const r of out) uris[r.series === null ? 'registered' : `registered ${r.series}`] = `models:/${r.name}/${r.version}`;
  return {
    uris,
    summary:
      out.length === 1
        ? `models:/${out[0]!.name}/${out[0]!.version}${out[0]!.promoted ? ` is now @${alias}` : ` (@${alias} stays at version ${out[0]!.previousChampion})`}`
        : `${out.length} versions registered, ${out.filter((r) => r.promoted).length} promoted to @${alias}`,
  };
}

export function registrations(dir: string): { alias: string; models: Registration[] } {
  return readJson(dir, 'registration.json');
}
