// One segment of a trial: build the trial's dataset and model, restore the previous rung's checkpoint,
// train up to the rung's epoch, log every epoch to the trial's (child) run, and checkpoint. Runs in a
// tuning worker process (worker.ts), or in the calling process for a search without workers.
import { resolveConfig, type InformerConfig } from '../config.js';
import { ForecastDataset, type DatasetOptions } from '../data/dataset.js';
import type { Table } from '../data/table.js';
import { Informer } from '../model.js';
import { openStore } from '../tracking/open.js';
import type { LrAdjust } from '../train/schedule.js';
import { Trainer, type EpochEvent } from '../train/trainer.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { splitParams, type TrialParams } from './space.js';

/** The data and task every trial shares. */
export interface TuneTask {
  /** Dataset options without the settings a trial may change (seqLen, labelLen, embed, padding come from the trial). */
  data: Omit<DatasetOptions, 'seqLen' | 'labelLen' | 'embed' | 'padding'> & { seqLen: number; labelLen: number };
  /** Settings of every trial that the space does not vary (model and training). */
  fixed: TrialParams;
  /** The schedule: epochs of the last rung (the lr schedule and early stopping see this many), patience. */
  maxEpochs: number;
  patience: number;
  /** Seed of every trial's model and batch order. */
  seed: number;
  /** Cap on the steps of one epoch (quick searches). */
  maxStepsPerEpoch?: number;
}

export interface SegmentJob {
  trial: number;
  params: TrialParams;
  /** The trial's run and the store holding it. */
  storeUri: string;
  runId: string;
  /** Train up to this epoch. */
  untilEpoch: number;
  /** Checkpoint folder to resume from (null: start), and where to write the new one. */
  resumeFrom: string | null;
  checkpointTo: string;
}

export interface SegmentResult {
  trial: number;
  /** Epochs trained in total, and the epochs this segment added. */
  epoch: number;
  epochs: EpochEvent[];
  /** The lowest validation loss so far (the objective). */
  bestValLoss: number;
  /** Early stopping ended the schedule: no point in training further. */
  stopped: boolean;
  /** Interrupted (time budget or an abort): no checkpoint was written. */
  cancelled: boolean;
  seconds: number;
}

/** The model configuration and dataset options of a trial. */
export function trialSetup(
  task: TuneTask,
  params: TrialParams,
): { config: Partial<InformerConfig>; data: DatasetOptions; training: ReturnType<typeof splitParams>['training'] } {
  const { model, training } = splitParams({ ...task.fixed, ...params });
  const seqLen = (model.seqLen ?? task.data.seqLen) as number;
  const labelLen = (model.labelLen ?? task.data.labelLen) as number;
  const data: DatasetOptions = { ...task.data, seqLen, labelLen, embed: model.embed, padding: model.padding };
  return { config: { seed: task.seed, ...model, seqLen, labelLen, predLen: task.data.predLen }, data, training };
}

/** Datasets of one table by their options (trials with the same windows share one). */
export class DatasetCache {
  readonly #cache = new Map<string, ForecastDataset>();
  constructor(readonly table: Table) {}
  get(opts: DatasetOptions): ForecastDataset {
    const key = JSON.stringify(opts);
    let ds = this.#cache.get(key);
    if (ds === undefined) {
      ds = ForecastDataset.fromTable(this.table, opts);
      this.#cache.set(key, ds);
    }
    return ds;
  }
}

/** A model and trainer for a trial (the trainer's schedule is the whole maxEpochs). */
export function trialTrainer(task: TuneTask, params: TrialParams, datasets: DatasetCache, signal?: AbortSignal): Trainer {
  const { config, data, training } = trialSetup(task, params);
  const dataset = datasets.get(data);
  const model = new Informer(resolveConfig({ ...config, ...dataset.modelConfig() }));
  return new Trainer(model, dataset, {
    epochs: task.maxEpochs,
    patience: task.patience,
    seed: task.seed,
    testEachEpoch: false,
    learningRate: training.learningRate as number | undefined,
    batchSize: training.batchSize as number | undefined,
    lradj: training.lradj as LrAdjust | undefined,
    weightDecay: training.weightDecay as number | undefined,
    maxStepsPerEpoch: task.maxStepsPerEpoch,
    signal,
  });
}

/** Runs one segment; the caller's store root and run id say where the epochs are logged. */
export async function runSegment(
  task: TuneTask,
  job: SegmentJob,
  datasets: DatasetCache,
  signal?: AbortSignal,
  onEpoch?: (e: EpochEvent) => void,
): Promise<SegmentResult> {
  const started = Date.now();
  const run = openStore(job.storeUri, { create: false }).getRun(job.runId);
  const trainer = trialTrainer(task, job.params, datasets, signal);
  try {
    const progress = job.resumeFrom === null ? trainer.initialProgress() : loadCheckpoint(job.resumeFrom, trainer.model);
    const before = progress.epochs.length;
    const after = await trainer.runEpochs(progress, job.untilEpoch, {
      onEpoch: (e) => {
        run.logMetrics({ train_loss: e.trainLoss, val_loss: e.valLoss, lr: e.lr, epoch_seconds: e.seconds }, e.epoch);
        onEpoch?.(e);
      },
    });
    if (!after.cancelled) saveCheckpoint(job.checkpointTo, trainer.model, after);
    const best = after.stopper.bestScore === undefined ? Infinity : -after.stopper.bestScore;
    return {
      trial: job.trial,
      epoch: after.epoch,
      epochs: after.epochs.slice(before),
      bestValLoss: Number.isNaN(best) ? Infinity : best,
      stopped: after.stopper.stop,
      cancelled: after.cancelled,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    trainer.model.dispose();
  }
}
