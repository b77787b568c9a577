// The training loop of the reference (exp/exp_informer.py train/vali/test), with seeded shuffling,
// cancellation, progress events, and test metrics next to the naive last-value forecast.
import { ConfigError } from '../errors.js';
import type { ForecastDataset, SplitName, WindowSplit } from '../data/dataset.js';
import { batchIndices } from '../data/loader.js';
import { forecastMetrics, type ForecastMetrics } from '../data/metrics.js';
import type { Informer } from '../model.js';
import { Adam } from '../optim.js';
import type { Tensor } from '../tensor.js';
import { EarlyStopping } from './early-stopping.js';
import { adjustedLearningRate, type LrAdjust } from './schedule.js';

export interface TrainerOptions {
  /** Default 6 (reference train_epochs). */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Default 1e-4. */
  learningRate?: number;
  /** Adam L2 weight decay, default 0. */
  weightDecay?: number;
  /** Early-stopping patience in epochs (default 3) and minimum improvement (default 0). */
  patience?: number;
  delta?: number;
  /** Default 'type1'. */
  lradj?: LrAdjust;
  /** Seed of the batch order (default: the model's seed). */
  seed?: number;
  /** Drop the last partial batch of every split, as the reference does (default true). */
  dropLast?: boolean;
  /** Compute the test loss after every epoch, as the reference prints it (default true). */
  testEachEpoch?: boolean;
  /** Also report test metrics in the data's original units (default false). */
  inverse?: boolean;
  /** Stop after this many steps per epoch (for quick runs; default: every batch). */
  maxStepsPerEpoch?: number;
  /** Cancels training between steps; the best checkpoint so far is restored. */
  signal?: AbortSignal;
  onStep?: (event: StepEvent) => void;
  onEpoch?: (event: EpochEvent) => void;
}

/**
 * Receives a training run's events; fit() calls every subscriber it is given, after the options'
 * own onStep/onEpoch (autologging is one: see fitWithRun).
 */
export interface TrainerSubscriber {
  onStep?(event: StepEvent): void;
  onEpoch?(event: EpochEvent): void;
}

export interface StepEvent {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
  lr: number;
  /** Milliseconds since the epoch started. */
  elapsedMs: number;
}

export interface EpochEvent {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  testLoss: number | null;
  lr: number;
  seconds: number;
  best: boolean;
}

export interface TestMetrics extends ForecastMetrics {
  /** MSE of the last-value (persistence) forecast on the same windows. */
  naive_mse: number;
  naive_mae: number;
  /** 1 - mse / naive_mse: > 0 means better than persistence. */
  skill: number;
}

export interface TrainResult {
  epochs: EpochEvent[];
  bestEpoch: number;
  bestValLoss: number;
  stoppedEarly: boolean;
  cancelled: boolean;
  /** Metrics on scaled values (what the paper reports). */
  test: TestMetrics;
  /** Metrics in the data's units, when `inverse` was asked for. */
  testOriginal?: TestMetrics;
  seconds: number;
}

/** Where a training schedule stands between epochs (what a checkpoint must keep besides the weights
 * and the optimizer state). */
export interface TrainingProgress {
  /** Epochs done. */
  epoch: number;
  /** Learning rate of the next epoch. */
  lr: number;
  epochs: EpochEvent[];
  /** Epoch of the best validation loss (0: none yet) and its weights. */
  bestEpoch: number;
  best?: Record<string, Tensor>;
  /** Early-stopping state (EarlyStopping: best score = -best validation loss). */
  stopper: { bestScore: number | undefined; counter: number; stop: boolean };
  /** The last call stopped on the options' AbortSignal. */
  cancelled: boolean;
}

export interface Forecasts {
  /** [N, predLen, cOut] model forecasts (scaled). */
  pred: Float32Array;
  /** [N, predLen, cOut] truth (scaled). */
  truth: Float32Array;
  /** [N, predLen, cOut] last-value forecast (scaled). */
  naive: Float32Array;
  windows: number[];
}

function checkInt(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new ConfigError(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

export class Trainer {
  readonly options: Required<Omit<TrainerOptions, 'signal' | 'onStep' | 'onEpoch' | 'maxStepsPerEpoch'>> &
    Pick<TrainerOptions, 'signal' | 'onStep' | 'onEpoch' | 'maxStepsPerEpoch'>;
  readonly optimizer: Adam;

  constructor(
    readonly model: Informer,
    readonly dataset: ForecastDataset,
    opts: TrainerOptions = {},
  ) {
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as TrainerOptions;
    const o = {
      epochs: 6,
      batchSize: 32,
      learningRate: 1e-4,
      weightDecay: 0,
      patience: 3,
      delta: 0,
      lradj: 'type1' as LrAdjust,
      seed: model.config.seed,
      dropLast: true,
      testEachEpoch: true,
      inverse: false,
      ...given, // an option given as undefined keeps its default
    };
    checkInt('epochs', o.epochs, 1);
    checkInt('batchSize', o.batchSize, 1);
    checkInt('patience', o.patience, 1);
    if (o.maxStepsPerEpoch !== undefined) checkInt('maxStepsPerEpoch', o.maxStepsPerEpoch, 1);
    adjustedLearningRate(o.lradj, o.learningRate, 1);
    const fixed = dataset.modelConfig();
    for (const key of ['seqLen', 'labelLen', 'predLen', 'encIn', 'decIn', 'cOut'] as const) {
      if (model.config[key] !== fixed[key]) {
        throw new ConfigError(`model ${key} ${model.config[key]} does not match the dataset's ${fixed[key]}`);
      }
    }
    if (model.nMark !== dataset.nMark) {
      throw new ConfigError(`model expects ${model.nMark} time-mark columns, the dataset makes ${dataset.nMark} (freq/embed differ)`);
    }
    this.options = o;
    this.optimizer = new Adam({ lr: o.learningRate, weightDecay: o.weightDecay });
  }

  /**
   * Runs the whole schedule; resolves when training ends (finished, stopped early or cancelled).
   * Step and epoch events go to the options' onStep/onEpoch, then to each subscriber.
   */
  async fit(...subscribers: TrainerSubscriber[]): Promise<TrainResult> {
    const started = Date.now();
    const progress = await this.runEpochs(this.initialProgress(), this.options.epochs, ...subscribers);
    if (progress.best) this.model.loadStateDict(progress.best);
    const { test, testOriginal } = await this.testMetrics();
    return {
      epochs: progress.epochs,
      bestEpoch: progress.bestEpoch,
      bestValLoss: progress.stopper.bestScore === undefined ? Infinity : -progress.stopper.bestScore,
      stoppedEarly: progress.stopper.stop,
      cancelled: progress.cancelled,
      test,
      testOriginal,
      seconds: (Date.now() - started) / 1000,
    };
  }

  /** The progress of a schedule that has not started (epoch 0, the initial learning rate). */
  initialProgress(): TrainingProgress {
    return {
      epoch: 0,
      lr: this.options.learningRate,
      epochs: [],
      bestEpoch: 0,
      stopper: { bestScore: undefined, counter: 0, stop: false },
      cancelled: false,
    };
  }

  /**
   * Trains from `progress` (epochs done so far) up to epoch `untilEpoch` (at most the schedule's
   * `epochs`), stopping early, on cancellation, or there; returns the new progress (the model holds
   * the latest weights, `best` those of the best epoch). `fit` is one call from initialProgress();
   * tuning calls it rung by rung, with the model and optimizer restored from a checkpoint in between.
   * Events go to the options' onStep/onEpoch, then to each subscriber.
   */
  async runEpochs(progress: TrainingProgress, untilEpoch: number, ...subscribers: TrainerSubscriber[]): Promise<TrainingProgress> {
    const o = this.options;
    const listeners = [{ onStep: o.onStep, onEpoch: o.onEpoch }, ...subscribers];
    const emitStep = (e: StepEvent): void => listeners.forEach((l) => l.onStep?.(e));
    const emitEpoch = (e: EpochEvent): void => listeners.forEach((l) => l.onEpoch?.(e));
    const train = this.dataset.split('train');
    const stopper = new EarlyStopping(o.patience, o.delta);
    Object.assign(stopper, progress.stopper);
    const p: TrainingProgress = { ...progress, epochs: [...progress.epochs], cancelled: false };
    this.optimizer.lr = p.lr;
    for (let epoch = p.epoch + 1; epoch <= Math.min(untilEpoch, o.epochs) && !stopper.stop; epoch++) {
      const t0 = Date.now();
      const batches = batchIndices(train.length, o.batchSize, { shuffle: true, dropLast: o.dropLast, seed: o.seed, epoch });
      const steps = Math.min(batches.length, o.maxStepsPerEpoch ?? Infinity);
      if (steps === 0) throw new ConfigError(`the train split has ${train.length} windows, fewer than one batch of ${o.batchSize}`);
      let sum = 0;
      let done = 0;
      for (; done < steps; done++) {
        if (o.signal?.aborted) {
          p.cancelled = true;
          break;
        }
        const { batch, target } = train.batch(batches[done]);
        const loss = await this.model.trainStep(batch, target, this.optimizer);
        sum += loss;
        emitStep({ epoch, step: done + 1, steps, loss, lr: this.optimizer.lr, elapsedMs: Date.now() - t0 });
      }
      if (p.cancelled) break;
      const valLoss = await this.evaluate('val');
      const testLoss = o.testEachEpoch ? await this.evaluate('test') : null;
      const isBest = stopper.update(valLoss);
      if (isBest) {
        p.best = this.model.stateDict();
        p.bestEpoch = epoch;
      }
      const event: EpochEvent = {
        epoch,
        trainLoss: sum / done,
        valLoss,
        testLoss,
        lr: this.optimizer.lr,
        seconds: (Date.now() - t0) / 1000,
        best: isBest,
      };
      p.epochs.push(event);
      p.epoch = epoch;
      emitEpoch(event);
      if (stopper.stop) break;
      const next = adjustedLearningRate(o.lradj, o.learningRate, epoch);
      if (next !== undefined) this.optimizer.lr = next;
    }
    p.lr = this.optimizer.lr;
    p.stopper = { bestScore: stopper.bestScore, counter: stopper.counter, stop: stopper.stop };
    return p;
  }

  /** Mean of per-batch MSEs over a split in eval mode (the reference's vali()). */
  async evaluate(split: SplitName): Promise<number> {
    const f = await this.forecasts(split);
    const per = this.model.config.predLen * this.model.config.cOut;
    const B = this.options.batchSize;
    let sum = 0;
    let batches = 0;
    for (let i = 0; i < f.windows.length; i += B) {
      const n = Math.min(B, f.windows.length - i);
      let se = 0;
      for (let j = i * per; j < (i + n) * per; j++) se += (f.pred[j] - f.truth[j]) ** 2;
      sum += se / (n * per);
      batches++;
    }
    return batches ? sum / batches : NaN;
  }

  /** Eval-mode forecasts, truth and the naive forecast for every window of a split (in batch order). */
  async forecasts(split: SplitName): Promise<Forecasts> {
    const ws: WindowSplit = this.dataset.split(split);
    const B = this.options.batchSize;
    const batches = batchIndices(ws.length, B, { shuffle: false, dropLast: this.options.dropLast });
    const windows = batches.flat();
    const per = this.model.config.predLen * this.model.config.cOut;
    const pred = new Float32Array(windows.length * per);
    const truth = new Float32Array(windows.length * per);
    const naive = new Float32Array(windows.length * per);
    let offset = 0;
    for (const idx of batches) {
      const { batch, target } = ws.batch(idx);
      const out = await this.model.forward(batch);
      pred.set(out.data, offset);
      truth.set(target.data, offset);
      naive.set(ws.naiveBatch(idx), offset);
      offset += idx.length * per;
    }
    return { pred, truth, naive, windows };
  }

  /** Test metrics (scaled, and in data units when `inverse`), each next to the naive forecast. */
  async testMetrics(): Promise<{ test: TestMetrics; testOriginal?: TestMetrics }> {
    const f = await this.forecasts('test');
    const test = withNaive(f.pred, f.truth, f.naive);
    if (!this.options.inverse) return { test };
    const c = this.model.config.cOut;
    const inv = (x: Float32Array) => this.dataset.inverse(x, c);
    return { test, testOriginal: withNaive(inv(f.pred), inv(f.truth), inv(f.naive)) };
  }
}

export function withNaive(pred: Float32Array, truth: Float32Array, naive: Float32Array): TestMetrics {
  const m = forecastMetrics(pred, truth);
  const n = forecastMetrics(naive, truth);
  return { ...m, naive_mse: n.mse, naive_mae: n.mae, skill: 1 - m.mse / n.mse };
}
