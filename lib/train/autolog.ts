// Autologging of a training run into an MLflow-compatible run (lib/tracking): parameters, per-epoch
// and per-step metrics, final test metrics next to the naive forecast, the loss-curve and
// forecast-vs-actual plots, and the model folder (weights + preprocessing, ONNX, signature). It is a
// subscriber of the Trainer's events: the Trainer knows nothing about tracking. Lineage (lineage.ts):
// the data splits as dataset inputs, git and build tags, the data digest on the model version.
import { join } from 'node:path';

import { logInformerModel } from '../artifact/informer-model.js';
import type { ModelInfo } from '../artifact/log-model.js';
import { toReferenceConfig } from '../config.js';
import { forecastSvg, lossCurveSvg, writeSvgAtomic } from '../plots/index.js';
import type { Run } from '../tracking/run.js';
import { buildTags, type DatasetSource, datasetInputs, gitSourceTags } from './lineage.js';
import type { EpochEvent, StepEvent, TestMetrics, TrainResult, Trainer, TrainerSubscriber } from './trainer.js';

export interface AutologOptions {
  /** Log the train loss every N steps as `train_step_loss` (default 10; 0 turns it off). */
  logEveryNSteps?: number;
  /** Log the best model as the run's `model` artifact (default true). */
  logModel?: boolean;
  /** Also write model.onnx into the model folder (default true). */
  onnx?: boolean;
  /** Register the logged model under this name. */
  registeredModelName?: string;
  /** Render the loss-curve and forecast SVGs into the run's `plots/` artifacts (default true). */
  plots?: boolean;
  /** Extra parameters (e.g. the data path). */
  params?: Record<string, unknown>;
  /** Where the data came from, for the run's dataset inputs (default: built in code, named 'dataset'). */
  dataset?: DatasetSource;
  /** Record lineage: dataset inputs, git and build tags, the digest on the model version (default true). */
  lineage?: boolean;
}

export interface AutologResult {
  model?: ModelInfo;
  plots: string[];
}

/** Parameters of a training run: the model config (reference names), trainer and data settings. */
export function runParams(trainer: Trainer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const o = trainer.options;
  const ds = trainer.dataset;
  return {
    ...toReferenceConfig(trainer.model.config),
    train_epochs: o.epochs,
    batch_size: o.batchSize,
    learning_rate: o.learningRate,
    weight_decay: o.weightDecay,
    patience: o.patience,
    delta: o.delta,
    lradj: o.lradj,
    shuffle_seed: o.seed,
    drop_last: o.dropLast,
    features: ds.features,
    target: ds.target,
    columns: ds.columns.join(','),
    train_windows: ds.split('train').length,
    val_windows: ds.split('val').length,
    test_windows: ds.split('test').length,
    ...extra,
  };
}

/** The subscriber that logs step and epoch metrics to `run`. */
export function autologSubscriber(run: Run, everyNSteps = 10): TrainerSubscriber {
  let globalStep = 0;
  return {
    onStep(e: StepEvent) {
      globalStep += 1;
      if (everyNSteps > 0 && globalStep % everyNSteps === 0) run.logMetric('train_step_loss', e.loss, globalStep);
    },
    onEpoch(e: EpochEvent) {
      const m: Record<string, number> = { train_loss: e.trainLoss, val_loss: e.valLoss, lr: e.lr, epoch_seconds: e.seconds };
      if (e.testLoss !== null) m.test_loss = e.testLoss;
      run.logMetrics(m, e.epoch);
    },
  };
}

function testMetricRecord(m: TestMetrics, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ['mae', 'mse', 'rmse', 'r2', 'mape', 'mspe', 'naive_mse', 'naive_mae', 'skill'] as const) out[prefix + k] = m[k];
  return out;
}

/** Logs the end of a run: test metrics, plots and the model. */
export async function logTrainingResult(
  run: Run,
  trainer: Trainer,
  result: TrainResult,
  opts: AutologOptions = {},
): Promise<AutologResult> {
  run.logMetrics(testMetricRecord(result.test), result.epochs.length);
  if (result.testOriginal) run.logMetrics(testMetricRecord(result.testOriginal, 'original_'), result.epochs.length);
  run.setTags({
    best_epoch: result.bestEpoch,
    stopped_early: result.stoppedEarly,
    cancelled: result.cancelled,
    'informer.train_seconds': result.seconds.toFixed(1),
  });
  const plots: string[] = [];
  if (opts.plots !== false && result.epochs.length > 0) {
    const dir = run.artifactDir('plots');
    const loss = join(dir, 'loss_curve.svg');
    writeSvgAtomic(loss, await lossCurveSvg(result.epochs, { title: 'Loss per epoch' }));
    plots.push(loss);
    const forecast = join(dir, 'forecast.svg');
    writeSvgAtomic(forecast, await forecastPlot(trainer));
    plots.push(forecast);
  }
  let model: ModelInfo | undefined;
  if (opts.logModel !== false) {
    const train = opts.lineage === false ? undefined : datasetInputs(trainer.dataset, opts.dataset)[0];
    model = logInformerModel(run, trainer.model, trainer.dataset, {
      onnx: opts.onnx,
      registeredModelName: opts.registeredModelName,
      datasetDigest: train?.dataset.digest,
    });
  }
  return { model, plots };
}

/**
 * Forecast-vs-actual SVG for the end of the test split, in the data's units (target channel): the
 * last max(400, 20 * predLen) steps, so short horizons stay visible, with the forecasts and naive
 * forecasts of the windows that fall inside.
 */
export async function forecastPlot(trainer: Trainer): Promise<string> {
  const ds = trainer.dataset;
  const test = ds.split('test');
  const f = await trainer.forecasts('test');
  const { predLen, cOut, seqLen } = trainer.model.config;
  const channel = ds.features === 'M' ? ds.targetIndex : 0;
  const rows = test.end - test.start;
  const first = Math.max(0, rows - Math.max(400, 20 * predLen));
  const actualScaled = new Float32Array(rows - first);
  for (let r = first; r < rows; r++) actualScaled[r - first] = ds.values[(test.start + r) * ds.encIn + ds.targetIndex];
  const actual = Array.from(ds.inverse(actualScaled, 1));
  const windowValues = (flat: Float32Array, k: number) => {
    const v = new Float32Array(predLen);
    for (let t = 0; t < predLen; t++) v[t] = flat[(k * predLen + t) * cOut + channel];
    return Array.from(ds.inverse(v, 1));
  };
  const inside = f.windows.map((w, k) => [w + seqLen - first, k]).filter(([start]) => start >= 0);
  const forecasts = inside.map(([start, k]) => ({ start, values: windowValues(f.pred, k) }));
  const naive = inside.map(([start, k]) => ({ start, values: windowValues(f.naive, k) }));
  const dates = Array.from(ds.dates.subarray(test.start + first, test.end));
  return forecastSvg({ dates, actual, forecasts, naive }, { title: `Test forecasts: ${ds.target}`, unit: ds.target });
}

/**
 * Runs `trainer.fit()` with everything logged to `run` (the run is not ended here: `startRun`'s
 * callback form ends it FINISHED, or FAILED when this throws).
 */
export async function fitWithRun(trainer: Trainer, run: Run, opts: AutologOptions = {}): Promise<TrainResult & AutologResult> {
  run.logParams(runParams(trainer, opts.params));
  if (opts.lineage !== false) {
    run.logInputs(datasetInputs(trainer.dataset, opts.dataset));
    run.setTags({ ...gitSourceTags(), ...buildTags() });
  }
  const result = await trainer.fit(autologSubscriber(run, opts.logEveryNSteps ?? 10));
  const logged = await logTrainingResult(run, trainer, result, opts);
  return { ...result, ...logged };
}
