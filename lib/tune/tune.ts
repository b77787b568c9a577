// `tune`: random search with asynchronous successive halving (asha.ts) over a search space
// (space.ts), trials in worker processes (pool.ts), each trial a child run of one parent run, the
// search state in the parent run so it can be resumed, and at the end the table, the plot, the best
// trial's test metrics next to the naive forecast, and its model (logged, optionally registered).
import { availableParallelism } from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { toReferenceConfig, type InformerConfig } from '../config.js';
import type { Features, SplitSpec } from '../data/dataset.js';
import { readTable, type Table } from '../data/table.js';
import { ConfigError } from '../errors.js';
import { lossCurveSvg } from '../plots/loss-curve.js';
import { writeSvgAtomic } from '../plots/render.js';
import { getStore } from '../tracking/fluent.js';
import { logInformerModel, type ModelInfo } from '../artifact/index.js';
import { getRun as getRunRecord } from '../tracking/reader.js';
import type { Run } from '../tracking/run.js';
import type { RunStore } from '../tracking/store.js';
import { forecastPlot } from '../train/autolog.js';
import { buildTags, datasetInputs, gitSourceTags } from '../train/lineage.js';
import type { TestMetrics } from '../train/trainer.js';
import { nextAshaJob, rungEpochs, type AshaJob } from './asha.js';
import { loadCheckpoint } from './checkpoint.js';
import { InlineRunner, ProcessPool, TrialFailure, type SegmentRunner } from './pool.js';
import { trialLoss, trialRows, writeReport } from './report.js';
import {
  parseSearchSpace,
  readSearchSpace,
  sampleTrial,
  splitParams,
  trainingRunParams,
  type SearchSpace,
  type SearchSpaceSpec,
  type TrialParams,
} from './space.js';
import { loadState, newState, saveState, type TrialRecord, type TuneState } from './state.js';
import { DatasetCache, trialSetup, trialTrainer, type SegmentResult, type TuneTask } from './trial.js';

/** The search space used when none is given: the settings that matter most for Informer's accuracy. */
export const DEFAULT_SEARCH_SPACE: Readonly<SearchSpaceSpec> = Object.freeze({
  dModel: [16, 32, 64, 128],
  nHeads: [2, 4, 8],
  eLayers: [1, 2, 3],
  dLayers: [1, 2],
  dFf: [32, 64, 128, 256, 512],
  dropout: { uniform: [0, 0.3] },
  learningRate: { loguniform: [1e-4, 3e-3] },
  batchSize: [16, 32, 64],
  normalize: ['none', 'revin', 'last'],
  attn: ['prob', 'full'],
  distil: [true, false],
});

export interface TuneOptions {
  /** A CSV / Parquet file, or a table from readTable(). Optional when resuming a search of a file. */
  data?: string | Table;
  dateColumn?: string;
  features?: Features;
  target?: string;
  /** The task: window lengths (default 96 / 48 / 24, as `informer train`; a space may vary seqLen/labelLen). */
  seqLen?: number;
  labelLen?: number;
  predLen?: number;
  freq?: string;
  split?: SplitSpec;
  columns?: string[];
  /** A SearchSpace, its written form, or a .json / .yaml file (default DEFAULT_SEARCH_SPACE). */
  space?: SearchSpace | SearchSpaceSpec | string;
  /** Settings of every trial that the space does not vary (e.g. { dropout: 0.05 }). */
  fixed?: TrialParams;
  /** Budget: at most this many trials, and/or this many seconds of search (default 20 trials when neither is given). */
  maxTrials?: number;
  timeBudget?: number;
  /** Successive halving: epochs of the first and the last rung, and the reduction factor (default 1, 9, 3). */
  minEpochs?: number;
  maxEpochs?: number;
  eta?: number;
  /** Early-stopping patience inside a trial (default 3). */
  patience?: number;
  /** Trials at once (default: the number of CPUs; 0 runs them one by one in this process). */
  parallel?: number;
  /** Native threads per trial (default 1 when trials run side by side, else the addon's default). */
  threadsPerTrial?: number;
  /** Seed of the search and of every trial's model (default 0). */
  seed?: number;
  /** Cap on the steps of an epoch (quick searches). */
  maxStepsPerEpoch?: number;
  /** Tracking: a store (default the current one, see setTrackingUri), the experiment and the parent run's name. */
  store?: RunStore;
  experiment?: string;
  runName?: string;
  /** Register the best model under this name. */
  registeredModelName?: string;
  /** Also write model.onnx into the best model's folder (default true). */
  onnx?: boolean;
  /** Keep every trial's last checkpoint after a finished search (default false: removed). */
  keepCheckpoints?: boolean;
  /** Resume the search of this parent run id (its space and settings; budgets given here replace the stored ones). */
  resume?: string;
  /** Stops the search: running trials stop after their current step, the state stays resumable. */
  signal?: AbortSignal;
  onProgress?: (event: TuneEvent) => void;
}

export type TuneEvent =
  | { type: 'start'; runId: string; resumed: boolean; rungs: number[]; parallel: number }
  | { type: 'trial'; trial: number; rung: number; epochs: number; params: TrialParams }
  | { type: 'epoch'; trial: number; epoch: number; valLoss: number }
  | {
      type: 'rung';
      trial: number;
      rung: number;
      epochs: number;
      valLoss: number;
      best: { trial: number; valLoss: number };
      done: number;
      started: number;
      running: number;
      elapsed: number;
    }
  | { type: 'failed'; trial: number; error: string }
  | { type: 'stopping'; reason: 'time budget' | 'aborted' }
  | { type: 'finished'; elapsed: number };

export interface TrialSummary {
  trial: number;
  runId: string;
  params: TrialParams;
  valLoss: number;
  epochs: number;
  status: TrialRecord['status'];
}

export interface TuneResult {
  /** The parent run. */
  runId: string;
  experimentId: string;
  trials: TrialSummary[];
  /** The trials table (best first): header and rows, as written to tune/trials.csv. */
  table: { header: string[]; rows: (string | number)[][] };
  best: TrialSummary | null;
  /** The best trial's model configuration and training settings. */
  bestConfig: InformerConfig | null;
  bestTraining: TrialParams | null;
  /** Test metrics of the best trial's model, next to the naive last-value forecast. */
  test: TestMetrics | null;
  /** The best model, when this session logged it (a resumed search with the same best trial keeps the earlier one). */
  model?: ModelInfo;
  /** `runs:/<parent run>/<path>` of the best model, logged now or earlier. */
  modelUri: string | null;
  /** Paths of the table, the plots. */
  artifacts: string[];
  seconds: number;
  /** Stopped by the signal: resume with { resume: runId }. */
  interrupted: boolean;
}

function positiveInt(name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new ConfigError(`tune: ${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function resolveSpace(space: TuneOptions['space']): SearchSpace {
  if (space === undefined) return parseSearchSpace(DEFAULT_SEARCH_SPACE);
  return typeof space === 'string' ? readSearchSpace(space) : parseSearchSpace(space);
}

function taskOf(o: TuneOptions, fixed: TrialParams): TuneTask {
  return {
    data: {
      features: o.features ?? 'M',
      target: o.target ?? 'OT',
      seqLen: o.seqLen ?? 96,
      labelLen: o.labelLen ?? 48,
      predLen: o.predLen ?? 24,
      ...(o.freq !== undefined ? { freq: o.freq } : {}),
      ...(o.split !== undefined ? { split: o.split } : {}),
      ...(o.columns !== undefined ? { columns: o.columns } : {}),
    },
    fixed,
    maxEpochs: o.maxEpochs ?? 9,
    patience: positiveInt('patience', o.patience ?? 3),
    seed: positiveInt('seed', o.seed ?? 0, 0),
    ...(o.maxStepsPerEpoch !== undefined ? { maxStepsPerEpoch: positiveInt('maxStepsPerEpoch', o.maxStepsPerEpoch) } : {}),
  };
}

/** Runs (or resumes) a search; see TuneOptions. */
export async function tune(options: TuneOptions): Promise<TuneResult> {
  const o = options ?? {};
  const store = o.store ?? getStore();
  const started = Date.now();
  let run: Run;
  let state: TuneState;
  let table: Table;
  if (o.resume !== undefined) {
    run = store.getRun(o.resume);
    state = loadState(run);
    if (o.maxTrials !== undefined) state.settings.maxTrials = positiveInt('maxTrials', o.maxTrials);
    if (o.timeBudget !== undefined) state.settings.timeBudget = o.timeBudget;
    const data = o.data ?? state.settings.dataPath;
    if (data === null) throw new ConfigError(`tune: run ${o.resume} searched a table given in code; pass it again as { data }`);
    table = typeof data === 'string' ? await readTable(data, { dateColumn: o.dateColumn }) : data;
    store.updateRunInfo(run.runId, { status: 'RUNNING', endTime: null });
    state.finished = false;
  } else {
    if (o.data === undefined) throw new ConfigError('tune: data (a file or a table) is required');
    const space = resolveSpace(o.space);
    if (Object.keys(space).length === 0) throw new ConfigError('tune: the search space is empty');
    const fixed = o.fixed ?? {};
    const task = taskOf(o, fixed);
    const eta = o.eta ?? 3;
    const rungs = rungEpochs(positiveInt('minEpochs', o.minEpochs ?? 1), positiveInt('maxEpochs', task.maxEpochs), eta);
    if (o.timeBudget !== undefined && !(typeof o.timeBudget === 'number' && o.timeBudget > 0))
      throw new ConfigError(`tune: timeBudget must be a number of seconds > 0, got ${String(o.timeBudget)}`);
    const maxTrials = o.maxTrials !== undefined ? positiveInt('maxTrials', o.maxTrials) : o.timeBudget === undefined ? 20 : null;
    const dataPath = typeof o.data === 'string' ? path.resolve(o.data) : null;
    table = typeof o.data === 'string' ? await readTable(o.data, { dateColumn: o.dateColumn }) : o.data;
    state = newState(space, task, { rungs, eta, maxTrials, timeBudget: o.timeBudget ?? null, seed: task.seed, dataPath });
    // Validate the task and draw trial 0 now: a bad space or data fails before any run is created.
    const probe = new DatasetCache(table).get(trialSetup(task, {}).data);
    sampleTrial(space, task.seed, 0, { ...probe.modelConfig(), ...splitParams(fixed).model });
    const experimentId = store.getOrCreateExperiment(
      o.experiment ?? (dataPath ? path.basename(dataPath).replace(/\.\w+$/, '') : 'Default'),
    ).experimentId;
    run = store.createRun({ experimentId, runName: o.runName, tags: { 'informer.tune': 'asha' } });
    run.logParams({
      'tune.space': JSON.stringify(space),
      'tune.rungs': rungs.join(','),
      'tune.eta': eta,
      'tune.max_trials': maxTrials ?? 'none',
      'tune.time_budget': o.timeBudget ?? 'none',
      'tune.seed': task.seed,
      'tune.patience': task.patience,
      'tune.fixed': JSON.stringify(fixed),
      features: task.data.features,
      target: task.data.target,
      seq_len: task.data.seqLen,
      label_len: task.data.labelLen,
      pred_len: task.data.predLen,
      ...(dataPath ? { data: dataPath } : {}),
    });
    saveState(run, state);
  }
  const { task, space, settings } = state;
  const parallel = o.parallel ?? availableParallelism();
  positiveInt('parallel', parallel, 0);
  const threads = o.threadsPerTrial ?? (parallel > 1 ? 1 : 0);
  positiveInt('threadsPerTrial', threads, 0);
  const runner: SegmentRunner = parallel === 0 ? new InlineRunner(table, task) : new ProcessPool(parallel, threads, table, task);
  const base = { ...new DatasetCache(table).get(trialSetup(task, {}).data).modelConfig() };
  const emit = (e: TuneEvent) => o.onProgress?.(e);
  emit({ type: 'start', runId: run.runId, resumed: o.resume !== undefined, rungs: settings.rungs, parallel: runner.slots });

  const sessionStart = Date.now();
  const elapsed = () => state.elapsedSeconds + (Date.now() - sessionStart) / 1000;
  const timeUp = () => settings.timeBudget !== null && elapsed() >= settings.timeBudget;
  // Set from callbacks (abort) as well as the loop, hence an object TypeScript does not narrow.
  const stop: { reason: 'time budget' | 'aborted' | null } = { reason: null };
  const save = () => {
    const keep = state.elapsedSeconds;
    state.elapsedSeconds = elapsed();
    saveState(run, state);
    state.elapsedSeconds = keep;
  };
  const store_ = run.store;
  const childRun = (t: TrialRecord) => store_.getRun(t.runId);
  const bestSoFar = () =>
    state.trials.reduce<{ trial: number; valLoss: number }>(
      (b, t) => (trialLoss(t) < b.valLoss ? { trial: t.id, valLoss: trialLoss(t) } : b),
      { trial: -1, valLoss: Infinity },
    );

  // A finished search removed its checkpoints (but the best trial's): its paused trials cannot move on.
  for (const t of state.trials) {
    if (!t.final && t.running === null && t.results.length > 0 && !fs.existsSync(childRun(t).artifactDir('checkpoint'))) {
      t.final = true;
      t.status = 'completed';
    }
  }
  // Trials that were training when an earlier session stopped carry on first, from their last checkpoint.
  const resumeQueue: AshaJob[] = state.trials
    .filter((t) => t.running !== null)
    .map((t) => ({ kind: 'promote', trial: t.id, rung: t.running as number }));
  const inFlight = new Map<number, Promise<void>>();

  const startTrial = (job: AshaJob): TrialRecord => {
    if (job.kind === 'new') {
      const id = state.trials.length;
      const params = sampleTrial(space, settings.seed, id, { ...base, ...splitParams(task.fixed).model });
      const child = store_.createRun({
        experimentId: run.experimentId,
        parentRunId: run.runId,
        runName: `trial-${id}`,
        tags: { 'tune.trial': id },
      });
      const { config, training } = trialSetup(task, params);
      child.logParams({
        ...toReferenceConfig({ ...base, ...config } as InformerConfig),
        ...trainingRunParams(training),
        trial: id,
        max_epochs: task.maxEpochs,
      });
      const t: TrialRecord = {
        id,
        runId: child.runId,
        params,
        results: [],
        running: 0,
        final: false,
        status: 'running',
        epochs: 0,
        history: [],
      };
      state.trials.push(t);
      return t;
    }
    const t = state.trials[job.trial] as TrialRecord;
    t.running = job.rung;
    t.status = 'running';
    store_.updateRunInfo(t.runId, { status: 'RUNNING', endTime: null });
    return t;
  };

  const finishSegment = (t: TrialRecord, rung: number, r: SegmentResult) => {
    const child = childRun(t);
    t.history.push(...r.epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, valLoss: e.valLoss, lr: e.lr })));
    t.epochs = r.epoch;
    if (r.cancelled) {
      t.status = 'interrupted';
      child.end('KILLED');
      return;
    }
    t.results[rung] = r.bestValLoss;
    t.results.length = rung + 1;
    t.running = null;
    t.final = r.stopped || rung === settings.rungs.length - 1 || !Number.isFinite(r.bestValLoss);
    t.status = t.final ? 'completed' : 'paused';
    child.setTags({ 'tune.rung': rung, 'tune.epochs': r.epoch, 'tune.status': t.status });
    child.logMetric('best_val_loss', r.bestValLoss, r.epoch);
    child.end('FINISHED');
    const best = bestSoFar();
    const done = state.trials.reduce((n, x) => n + x.results.length, 0);
    run.logMetric('best_val_loss', best.valLoss, done);
    emit({
      type: 'rung',
      trial: t.id,
      rung,
      epochs: r.epoch,
      valLoss: r.bestValLoss,
      best,
      done,
      started: state.trials.length,
      running: inFlight.size - 1,
      elapsed: elapsed(),
    });
  };

  const failSegment = (t: TrialRecord, e: unknown) => {
    const msg = e instanceof TrialFailure ? `${e.errorName}: ${e.message}` : String((e as Error)?.message ?? e);
    t.running = null;
    t.final = true;
    t.status = 'failed';
    t.error = msg;
    const child = childRun(t);
    child.setTag('tune.error', msg.slice(0, 4000));
    child.end('FAILED');
    emit({ type: 'failed', trial: t.id, error: msg });
  };

  const dispatch = (job: AshaJob) => {
    const t = startTrial(job);
    const rung = t.running as number;
    const dir = childRun(t).artifactDir('checkpoint');
    save();
    emit({ type: 'trial', trial: t.id, rung, epochs: settings.rungs[rung] as number, params: t.params });
    const p = runner
      .run(
        {
          trial: t.id,
          params: t.params,
          storeUri: store_.trackingUri,
          runId: t.runId,
          untilEpoch: settings.rungs[rung] as number,
          resumeFrom: fs.existsSync(dir) ? dir : null,
          checkpointTo: dir,
        },
        (epoch, valLoss) => emit({ type: 'epoch', trial: t.id, epoch, valLoss }),
      )
      .then(
        (r) => finishSegment(t, rung, r),
        (e) => failSegment(t, e),
      )
      .finally(() => {
        inFlight.delete(t.id);
        save();
      });
    inFlight.set(t.id, p);
  };

  const onAbort = () => {
    if (stop.reason === null) {
      stop.reason = 'aborted';
      emit({ type: 'stopping', reason: 'aborted' });
    }
    runner.abortAll();
  };
  o.signal?.addEventListener('abort', onAbort);
  let timer: NodeJS.Timeout | undefined;
  try {
    if (o.signal?.aborted) onAbort();
    for (;;) {
      if (stop.reason === null && timeUp()) {
        stop.reason = 'time budget';
        emit({ type: 'stopping', reason: stop.reason });
        runner.abortAll();
      }
      while (stop.reason === null && inFlight.size < runner.slots) {
        const canStartNew = settings.maxTrials === null || state.trials.length < settings.maxTrials;
        const job = resumeQueue.shift() ?? nextAshaJob(state.trials, settings.rungs.length, settings.eta, canStartNew);
        if (job === null) break;
        dispatch(job);
      }
      if (inFlight.size === 0) break;
      const wait: Promise<unknown>[] = [...inFlight.values()];
      if (stop.reason === null && settings.timeBudget !== null) {
        wait.push(
          new Promise((resolve) => {
            timer = setTimeout(resolve, Math.max(0, (settings.timeBudget as number) - elapsed()) * 1000 + 10);
          }),
        );
      }
      if (o.signal && stop.reason === null)
        wait.push(new Promise((resolve) => o.signal?.addEventListener('abort', resolve, { once: true })));
      await Promise.race(wait);
      clearTimeout(timer);
    }
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    clearTimeout(timer);
    await Promise.allSettled(inFlight.values());
    await runner.close();
  }
  const interrupted = stop.reason === 'aborted';
  state.finished = !interrupted;
  save();
  state.elapsedSeconds = elapsed();

  const artifacts = await writeReport(run, state.trials, space);
  const table_ = trialRows(state.trials, space);
  const summaries: TrialSummary[] = state.trials.map((t) => ({
    trial: t.id,
    runId: t.runId,
    params: t.params,
    valLoss: trialLoss(t),
    epochs: t.epochs,
    status: t.status,
  }));
  const bestTrial = state.trials.filter((t) => Number.isFinite(trialLoss(t))).sort((a, b) => trialLoss(a) - trialLoss(b) || a.id - b.id)[0];
  const result: TuneResult = {
    runId: run.runId,
    experimentId: run.experimentId,
    trials: summaries,
    table: table_,
    best: null,
    bestConfig: null,
    bestTraining: null,
    test: null,
    modelUri: null,
    artifacts,
    seconds: (Date.now() - started) / 1000,
    interrupted,
  };
  if (interrupted) {
    run.end('KILLED');
    return result;
  }
  if (bestTrial === undefined) {
    run.setTag('tune.error', 'no trial finished a rung');
    run.end('FAILED');
    const first = state.trials.find((t) => t.error !== undefined);
    throw new ConfigError(
      `tune: no trial finished a rung${first ? `; trial ${first.id} failed with ${first.error}` : ' within the budget'}`,
    );
  }
  await finishBest(run, state, bestTrial, table, o, result);
  // The best trial keeps its checkpoint: a resumed search that finds no better one logs it again from there.
  if (!o.keepCheckpoints) {
    for (const t of state.trials) if (t !== bestTrial) fs.rmSync(childRun(t).artifactDir('checkpoint'), { recursive: true, force: true });
  }
  emit({ type: 'finished', elapsed: state.elapsedSeconds });
  run.end('FINISHED');
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

/** The best trial's model from its checkpoint: test metrics next to the naive forecast, plots, the model folder. */
async function finishBest(run: Run, state: TuneState, best: TrialRecord, table: Table, o: TuneOptions, result: TuneResult): Promise<void> {
  const trainer = trialTrainer(state.task, best.params, new DatasetCache(table));
  try {
    const progress = loadCheckpoint(run.store.getRun(best.runId).artifactDir('checkpoint'), trainer.model);
    if (progress.best) trainer.model.loadStateDict(progress.best);
    const { test } = await trainer.testMetrics();
    const { training } = splitParams({ ...state.task.fixed, ...best.params });
    result.best = result.trials[best.id] as TrialSummary;
    result.bestConfig = trainer.model.config;
    result.bestTraining = training as TrialParams;
    result.test = test;
    const m: Record<string, number> = {};
    for (const k of ['mae', 'mse', 'rmse', 'r2', 'mape', 'mspe', 'naive_mse', 'naive_mae', 'skill'] as const) m[k] = test[k];
    run.logMetrics({ ...m, best_val_loss: trialLoss(best) });
    run.setTags({ 'tune.best_trial': best.id, 'tune.best_run_id': best.runId, 'tune.trials': state.trials.length });
    const curve = run.artifactDir('plots/best_trial_loss_curve.svg');
    writeSvgAtomic(
      curve,
      await lossCurveSvg(
        best.history.map((h) => ({ ...h, testLoss: null })),
        { title: `Best trial ${best.id}: loss per epoch` },
      ),
    );
    const forecast = run.artifactDir('plots/forecast.svg');
    writeSvgAtomic(forecast, await forecastPlot(trainer));
    result.artifacts.push(curve, forecast);
    // A model folder is never replaced (a registered version may point at it): a resumed search whose best
    // trial changed logs the new best beside the first one; an unchanged best keeps its folder.
    const tags = getRunRecord(run.store, run.runId).data.tags;
    if (tags['tune.best_model_trial'] === String(best.id) && tags['tune.best_model_uri'] !== undefined) {
      result.modelUri = tags['tune.best_model_uri'];
    } else {
      const artifactPath = fs.existsSync(run.artifactDir('model')) ? `model_trial_${best.id}` : 'model';
      // Lineage of the best model: the best trial's data splits (its window lengths) and the code.
      const inputs = datasetInputs(trainer.dataset, { path: state.settings.dataPath ?? undefined });
      run.logInputs(inputs);
      run.setTags({ ...gitSourceTags(), ...buildTags() });
      result.model = logInformerModel(run, trainer.model, trainer.dataset, {
        registeredModelName: o.registeredModelName,
        onnx: o.onnx,
        artifactPath,
        datasetDigest: inputs[0]?.dataset.digest,
      });
      result.modelUri = result.model.modelUri;
      run.setTags({ 'tune.best_model_trial': best.id, 'tune.best_model_uri': result.modelUri });
    }
  } finally {
    trainer.model.dispose();
  }
}
