// train: dataset artifact -> model artifact. One series trains in this process with the Trainer,
// autologged into the step's run (params, per-epoch losses, plots, the model). A fleet trains one
// model per series with trainMany (worker processes, bounded concurrency), each into its own run
// (a child of the step's run); with fleet.global also one model on the pooled windows of all series.
import { join } from 'node:path';

import { resolveConfig } from '../../config.js';
import { Informer } from '../../model.js';
import { fitWithRun } from '../../train/autolog.js';
import { type TrainJob, trainMany } from '../../train/many.js';
import { Trainer } from '../../train/trainer.js';
import { datasetIndex, loadSeriesDataset, type ModelIndexEntry } from '../dataset-io.js';
import { PipelineError } from '../errors.js';
import { copyDir } from '../files.js';
import { trainGlobalModel } from '../global-model.js';
import { readJson, type StepContext, type StepReport, writeJson } from '../step.js';
import { seriesDir } from './preprocess.js';

function trainerOptions(ctx: StepContext) {
  const t = ctx.spec.training;
  return {
    epochs: t.epochs,
    batchSize: t.batchSize,
    learningRate: t.learningRate,
    weightDecay: t.weightDecay,
    patience: t.patience,
    lradj: t.lradj,
    seed: t.seed,
    ...(t.maxStepsPerEpoch !== undefined ? { maxStepsPerEpoch: t.maxStepsPerEpoch } : {}),
  };
}

export async function trainStep(ctx: StepContext): Promise<StepReport> {
  const datasetDir = ctx.input('dataset');
  const series = datasetIndex(datasetDir, ctx.series);
  const out = ctx.output('model');
  const models: ModelIndexEntry[] = [];
  const runId = ctx.run.info.runId;
  if (series.length === 1) {
    // One series (the pipeline's only one, or one iteration of a fleet in KFP): trained here, into this step's run.
    const { dataset, args, path } = await loadSeriesDataset(datasetDir, series[0]!);
    const model = new Informer(resolveConfig({ ...args.model, ...dataset.modelConfig() }));
    try {
      const trainer = new Trainer(model, dataset, {
        ...trainerOptions(ctx),
        signal: ctx.signal,
        onEpoch: (e) =>
          ctx.log(
            `  epoch ${e.epoch}/${ctx.spec.training.epochs}: train ${e.trainLoss.toFixed(4)} val ${e.valLoss.toFixed(4)}${e.best ? ' *' : ''}`,
          ),
      });
      const r = await fitWithRun(trainer, ctx.run, {
        params: { data: ctx.spec.data.paths[0], ...(series[0]!.series !== null ? { series: series[0]!.series } : {}) },
        dataset: { path },
      });
      if (r.cancelled) throw new PipelineError('training was interrupted', 'train');
      copyDir(r.model!.modelDir, join(out, '.'));
      models.push({ series: series[0]!.series, dir: '.', modelUri: r.model!.modelUri, runId });
      writeJson(out, 'index.json', { models });
      return {
        uris: { model: r.model!.modelUri },
        summary: `best epoch ${r.bestEpoch}/${r.epochs.length}, test mse ${r.test.mse.toFixed(4)} (naive ${r.test.naive_mse.toFixed(4)})`,
      };
    } finally {
      model.dispose();
    }
  }
  // A fleet: one run per series, trained in worker processes.
  const jobs: TrainJob[] = [];
  const runs = new Map<string, string>();
  for (const entry of series) {
    const id = entry.series ?? 'series';
    const child = ctx.store.createRun({
      experimentId: ctx.run.info.experimentId,
      parentRunId: runId,
      runName: `train-${id}`,
      tags: { 'informer.pipeline.series': id, 'informer.pipeline.step': 'train-series' },
    });
    runs.set(id, child.info.runId);
    const args = readJson<{ dataset: TrainJob['dataset']; model: TrainJob['model'] }>(join(datasetDir, entry.dir), 'model_args.json');
    jobs.push({
      id,
      data: join(datasetDir, entry.dir, 'data.parquet'),
      dataset: args.dataset,
      model: args.model,
      training: trainerOptions(ctx),
      run: { storeUri: ctx.store.trackingUri, runId: child.info.runId, params: { series: id }, plots: true },
    });
  }
  let done = 0;
  const results = await trainMany(jobs, {
    concurrency: ctx.spec.fleet.concurrency,
    signal: ctx.signal,
    onEvent: (e) => {
      if (e.type === 'done') {
        done++;
        const r = e.result;
        ctx.log(
          `  [${done}/${jobs.length}] ${e.id}: ${r.ok ? `test mse ${r.test!.mse.toFixed(4)} skill ${r.test!.skill.toFixed(3)} (${r.seconds.toFixed(1)}s)` : `FAILED ${r.error!.name}: ${r.error!.message}`}`,
        );
      }
    },
  });
  const failed = results.filter((r) => !r.ok);
  for (const r of results) ctx.store.getRun(runs.get(r.id)!).end(r.ok ? 'FINISHED' : 'FAILED');
  if (failed.length > 0)
    throw new PipelineError(
      `${failed.length} of ${results.length} series failed to train: ${failed.map((r) => `${r.id} (${r.error!.name}: ${r.error!.message})`).join('; ')}`,
      'train',
    );
  for (const r of results) {
    const dir = seriesDir(r.id);
    copyDir(r.modelDir!, join(out, dir));
    models.push({ series: r.id, dir, modelUri: r.modelUri!, runId: runs.get(r.id)! });
  }
  const skills = results.map((r) => r.test!.skill);
  ctx.run.logMetrics({ series_trained: results.length, mean_skill: skills.reduce((a, b) => a + b, 0) / skills.length });
  if (ctx.spec.fleet.global) {
    const g = await trainGlobalModel(ctx, datasetDir, series, trainerOptions(ctx));
    copyDir(g.modelDir, join(out, 'global'));
    models.push({ series: null, dir: 'global', modelUri: g.modelUri, runId: g.runId, global: true });
  }
  writeJson(out, 'index.json', { models });
  return {
    uris: { models: out },
    summary: `${results.length} series models${ctx.spec.fleet.global ? ' + a global model' : ''}, mean test skill ${(skills.reduce((a, b) => a + b, 0) / skills.length).toFixed(3)}`,
  };
}

/** The fleet's global model alone (its own KFP task): trained on the pooled windows of every series. */
export async function trainGlobalStep(ctx: StepContext): Promise<StepReport> {
  const datasetDir = ctx.input('dataset');
  const g = await trainGlobalModel(ctx, datasetDir, datasetIndex(datasetDir), trainerOptions(ctx));
  const out = ctx.output('model');
  copyDir(g.modelDir, out);
  writeJson(out, 'index.json', { models: [{ series: null, dir: '.', modelUri: g.modelUri, runId: g.runId, global: true }] });
  return { uris: { 'global model': g.modelUri }, summary: 'a global model on the pooled windows of every series' };
}
