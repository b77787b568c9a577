// evaluate: dataset + model artifacts -> metrics artifact. Every model's test metrics next to the
// naive last-value forecast on the same windows, and the gate: a model must beat persistence by
// gate.minSkill (skill = 1 - mse / naive mse). A fleet reports per-series skill for each series
// model and, with fleet.global, for the global model on the same series' windows.
import type { ForecastDataset } from '../../data/dataset.js';
import type { Informer } from '../../model.js';
import { type TestMetrics, Trainer } from '../../train/trainer.js';
import { datasetIndex, loadIndexedModel, loadSeriesDataset, modelIndex } from '../dataset-io.js';
import { GateError } from '../errors.js';
import { type StepContext, type StepReport, writeJson } from '../step.js';

export interface SeriesEvaluation {
  series: string | null;
  test: TestMetrics;
  /** The global model's metrics on the same windows (fleet.global). */
  global?: TestMetrics;
  passed: boolean;
  windows: number;
}

export interface Evaluation {
  minSkill: number;
  series: SeriesEvaluation[];
}

/** Test metrics of `model` on `dataset`'s test windows. */
export async function testMetrics(model: Informer, dataset: ForecastDataset, batchSize: number): Promise<TestMetrics> {
  return (await new Trainer(model, dataset, { batchSize, epochs: 1 }).testMetrics()).test;
}

const f4 = (x: number) => x.toFixed(4);

export async function evaluateStep(ctx: StepContext): Promise<StepReport> {
  const datasetDir = ctx.input('dataset');
  const modelDir = ctx.input('model');
  const models = modelIndex(modelDir);
  // The fleet's global model: in the model artifact (local runs), or its own artifact (a KFP loop iteration).
  const globalDir = ctx.optionalInput?.('global_model') ?? modelDir;
  const globalEntry = modelIndex(globalDir).find((m) => m.global);
  const global = globalEntry ? loadIndexedModel(globalDir, globalEntry) : undefined;
  const { minSkill } = ctx.spec.gate;
  const out: SeriesEvaluation[] = [];
  try {
    for (const entry of datasetIndex(datasetDir, ctx.series)) {
      const m = models.find((x) => !x.global && x.series === entry.series);
      if (m === undefined) throw new Error(`the model artifact has no model for series ${JSON.stringify(entry.series)}`);
      const { dataset } = await loadSeriesDataset(datasetDir, entry);
      const model = loadIndexedModel(modelDir, m);
      try {
        const test = await testMetrics(model, dataset, ctx.spec.training.batchSize);
        const g = global ? await testMetrics(global, dataset, ctx.spec.training.batchSize) : undefined;
        out.push({
          series: entry.series,
          test,
          ...(g ? { global: g } : {}),
          passed: test.skill > minSkill,
          windows: dataset.split('test').length,
        });
      } finally {
        model.dispose();
      }
    }
  } finally {
    global?.dispose();
  }
  const dir = ctx.output('metrics');
  writeJson(dir, 'evaluation.json', { minSkill, series: out } satisfies Evaluation);
  const single = out.length === 1 && out[0]!.series === null;
  if (single) {
    const t = out[0]!.test;
    ctx.run.logMetrics({ mse: t.mse, mae: t.mae, rmse: t.rmse, r2: t.r2, naive_mse: t.naive_mse, naive_mae: t.naive_mae, skill: t.skill });
  } else {
    for (const e of out) {
      const key = (e.series ?? 'series').replace(/[^A-Za-z0-9_.\- /]/g, '_');
      ctx.run.logMetrics({ [`skill/${key}`]: e.test.skill, [`mse/${key}`]: e.test.mse });
      if (e.global) ctx.run.logMetrics({ [`global_skill/${key}`]: e.global.skill });
    }
    ctx.log(
      out
        .map(
          (e) =>
            `  ${e.series}: mse ${f4(e.test.mse)} naive ${f4(e.test.naive_mse)} skill ${e.test.skill.toFixed(3)}${e.global ? ` (global model ${e.global.skill.toFixed(3)})` : ''}${e.passed ? '' : '  below the gate'}`,
        )
        .join('\n'),
    );
  }
  ctx.run.logMetrics({ series_passed: out.filter((e) => e.passed).length, min_skill: minSkill });
  const failed = out.filter((e) => !e.passed);
  if (failed.length === out.length) {
    const detail = failed
      .map(
        (e) =>
          `${e.series === null ? 'the model' : `series ${e.series}`}: skill ${e.test.skill.toFixed(4)} (test mse ${f4(e.test.mse)} vs naive last-value mse ${f4(e.test.naive_mse)} on ${e.windows} windows)`,
      )
      .join('; ');
    throw new GateError(
      `gate failed: ${detail}; gate.minSkill is ${minSkill}, so the model does not beat the naive forecast by enough and is not registered. Train longer, change the model settings, or lower gate.minSkill.`,
      'evaluate',
    );
  }
  const skills = out.map((e) => e.test.skill);
  return {
    uris: { metrics: dir },
    summary: single
      ? `test mse ${f4(out[0]!.test.mse)} vs naive ${f4(out[0]!.test.naive_mse)}: skill ${out[0]!.test.skill.toFixed(4)} > ${minSkill} (gate passed)`
      : `${out.length - failed.length}/${out.length} series pass the gate (skill > ${minSkill}); skill ${Math.min(...skills).toFixed(3)} .. ${Math.max(...skills).toFixed(3)}`,
  };
}
