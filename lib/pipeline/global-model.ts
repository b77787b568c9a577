// One global model for a fleet: trained on the pooled windows of every series (each series scaled
// by its own training statistics, so one model sees every series on the same scale). The pooled
// dataset offers the Trainer what it reads from a ForecastDataset: splits of windows that batch and
// give the naive forecast, the model's fixed sizes and the time-mark count.
import { logModelToRun } from '../artifact/log-model.js';
import { resolveConfig } from '../config.js';
import type { ForecastDataset, SplitName, WindowSplit } from '../data/dataset.js';
import { Informer } from '../model.js';
import { mlflowSignature } from '../signature.js';
import type { Tensor } from '../tensor.js';
import { autologSubscriber, runParams } from '../train/autolog.js';
import { Trainer, type TrainerOptions } from '../train/trainer.js';
import { loadSeriesDataset } from './dataset-io.js';
import { PipelineError } from './errors.js';
import type { StepContext } from './step.js';
import type { DatasetIndexEntry } from './steps/preprocess.js';

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function concatTensors(parts: Tensor<Float32Array>[]): Tensor<Float32Array> {
  const shape = [...parts[0]!.shape];
  shape[0] = parts.reduce((a, p) => a + p.shape[0]!, 0);
  return { data: concat(parts.map((p) => p.data)), shape };
}

/** The windows of one split of every series, numbered series after series. */
class PooledSplit {
  readonly length: number;
  readonly #offsets: number[] = [];
  constructor(
    readonly name: SplitName,
    readonly parts: WindowSplit[],
  ) {
    let n = 0;
    for (const p of parts) {
      this.#offsets.push(n);
      n += p.length;
    }
    this.length = n;
  }
  /** Groups global indices by series, keeping their order within each series' run. */
  #locate(indices: readonly number[]): [number, number][] {
    return indices.map((i) => {
      let s = this.parts.length - 1;
      while (s > 0 && this.#offsets[s]! > i) s--;
      return [s, i - this.#offsets[s]!];
    });
  }
  batch(indices: readonly number[]) {
    const samples = this.#locate(indices).map(([s, i]) => this.parts[s]!.batch([i]));
    return {
      batch: {
        xEnc: concatTensors(samples.map((x) => x.batch.xEnc)),
        xMarkEnc: concatTensors(samples.map((x) => x.batch.xMarkEnc)),
        xDec: concatTensors(samples.map((x) => x.batch.xDec)),
        xMarkDec: concatTensors(samples.map((x) => x.batch.xMarkDec)),
      },
      target: concatTensors(samples.map((x) => x.target)),
    };
  }
  naiveBatch(indices: readonly number[]): Float32Array {
    return concat(this.#locate(indices).map(([s, i]) => this.parts[s]!.naiveBatch([i])));
  }
}

/** A dataset pooling the windows of several series with the same columns and window lengths. */
export function pooledDataset(datasets: ForecastDataset[]): ForecastDataset {
  const first = datasets[0]!;
  for (const d of datasets) {
    const a = JSON.stringify(d.modelConfig());
    if (a !== JSON.stringify(first.modelConfig()) || d.nMark !== first.nMark)
      throw new PipelineError(
        'fleet.global: the series differ in columns, window lengths or frequency, so one model cannot take them all',
        'train',
      );
  }
  const splits = new Map<SplitName, PooledSplit>();
  for (const name of ['train', 'val', 'test'] as const)
    splits.set(
      name,
      new PooledSplit(
        name,
        datasets.map((d) => d.split(name)),
      ),
    );
  return new Proxy(first, {
    get(target, key, receiver) {
      if (key === 'split') return (name: SplitName) => splits.get(name);
      return Reflect.get(target, key, receiver);
    },
  });
}

/** Trains the global model into its own run (a child of the train step's run). */
export async function trainGlobalModel(
  ctx: StepContext,
  datasetDir: string,
  series: DatasetIndexEntry[],
  options: TrainerOptions,
): Promise<{ modelUri: string; modelDir: string; runId: string }> {
  const datasets = await Promise.all(series.map(async (e) => (await loadSeriesDataset(datasetDir, e)).dataset));
  const args = (await loadSeriesDataset(datasetDir, series[0]!)).args;
  const pooled = pooledDataset(datasets);
  const run = ctx.store.createRun({
    experimentId: ctx.run.info.experimentId,
    parentRunId: ctx.run.info.runId,
    runName: 'train-global',
    tags: { 'informer.pipeline.step': 'train-global' },
  });
  const model = new Informer(resolveConfig({ ...args.model, ...datasets[0]!.modelConfig() }));
  try {
    const trainer = new Trainer(model, pooled, { ...options, signal: ctx.signal });
    run.logParams({ ...runParams(trainer), series: series.map((s) => s.series).join(','), pooled_series: series.length });
    const r = await trainer.fit(autologSubscriber(run));
    run.logMetrics({ mse: r.test.mse, mae: r.test.mae, naive_mse: r.test.naive_mse, skill: r.test.skill });
    const info = logModelToRun(
      run,
      'model',
      { config: model.config, save: (p: string) => model.save(p) },
      { signature: mlflowSignature(model.config) },
    );
    run.end('FINISHED');
    ctx.log(`  global model (${series.length} series pooled): test mse ${r.test.mse.toFixed(4)} skill ${r.test.skill.toFixed(3)}`);
    return { modelUri: info.modelUri, modelDir: info.modelDir, runId: run.info.runId };
  } catch (e) {
    run.end('FAILED');
    throw e;
  } finally {
    model.dispose();
  }
}
