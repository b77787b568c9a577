// trainMany: train many small models (one per series, per setting, ...) side by side. Jobs run in
// worker processes, `concurrency` at a time, each worker with one native thread: for dozens of
// seed-size models a worker per core trains as many models per minute as one process that splits
// each batch across the cores, and each job is isolated in its own process (bench/RESULTS.md,
// "Fleet training"). Each job reads its data, builds its dataset and model, trains with the
// Trainer, optionally logs everything to a run (fitWithRun: params, metrics, plots, the model) and
// saves its weights; results come back in job order, failures as `error` (one bad series does not
// stop the others).
import { availableParallelism } from 'node:os';

import type { InformerConfig } from '../config.js';
import type { DatasetOptions } from '../data/dataset.js';
import type { Table } from '../data/table.js';
import { ConfigError } from '../errors.js';
import { runTrainJob } from './many-job.js';
import { JobFailure, WorkerPool } from './pool.js';
import type { EpochEvent, TestMetrics, TrainerOptions } from './trainer.js';

/** Serialisable Trainer options (no callbacks, no signal). */
export type TrainJobOptions = Omit<TrainerOptions, 'signal' | 'onStep' | 'onEpoch'>;

export interface TrainJob {
  /** Names the job in results and events (e.g. the series id). */
  id: string;
  /** A CSV / Parquet file read in the worker, or a table. */
  data: string | Table;
  dataset: DatasetOptions;
  /** Model settings; the channel counts come from the dataset. */
  model?: Partial<InformerConfig>;
  training?: TrainJobOptions;
  /** Log the training to this existing run (left RUNNING: the caller ends it). */
  run?: {
    /** The store's URI (`store.trackingUri`: a folder's file:// URI or a tracking server). */
    storeUri: string;
    runId: string;
    registeredModelName?: string;
    onnx?: boolean;
    params?: Record<string, unknown>;
    plots?: boolean;
  };
  /** Save the trained model (weights + preprocessing) to this .safetensors file. */
  saveTo?: string;
}

export interface TrainJobResult {
  id: string;
  ok: boolean;
  /** The error's class name and message when the job failed. */
  error?: { name: string; message: string };
  test?: TestMetrics;
  epochs?: EpochEvent[];
  bestEpoch?: number;
  /** runs:/<run id>/model when the job logged to a run. */
  modelUri?: string;
  modelDir?: string;
  registeredModelVersion?: number;
  parameters?: number;
  seconds: number;
}

export type TrainManyEvent =
  | { type: 'start'; id: string }
  | { type: 'epoch'; id: string; epoch: EpochEvent }
  | { type: 'done'; id: string; result: TrainJobResult };

export interface TrainManyOptions {
  /** Jobs at once (default: the number of CPUs, at most the number of jobs). */
  concurrency?: number;
  /** Native threads per worker (default 1). */
  threadsPerWorker?: number;
  onEvent?: (e: TrainManyEvent) => void;
  /** Stops running jobs after their current step (they finish with the best model so far) and starts no more. */
  signal?: AbortSignal;
  /**
   * Train the jobs one after another in this process instead of in worker processes; each training
   * step then splits its batch across the native pool's threads. On 2 cores that trained fleets of
   * seed-size models as fast as or faster than 2 workers, and without their start-up (bench/RESULTS.md,
   * "Third pass"), but a job is not isolated: one that crashes the process takes the others with it.
   * `concurrency` and `threadsPerWorker` do not apply.
   */
  inProcess?: boolean;
}

/** Trains every job; resolves with one result per job, in job order. */
export async function trainMany(jobs: readonly TrainJob[], options: TrainManyOptions = {}): Promise<TrainJobResult[]> {
  if (!Array.isArray(jobs)) throw new ConfigError(`trainMany: jobs must be an array, got ${typeof jobs}`);
  const ids = new Set<string>();
  for (const [i, j] of jobs.entries()) {
    if (typeof j?.id !== 'string' || j.id === '') throw new ConfigError(`trainMany: jobs[${i}].id must be a non-empty string`);
    if (ids.has(j.id)) throw new ConfigError(`trainMany: two jobs have the id ${JSON.stringify(j.id)}`);
    ids.add(j.id);
    if (typeof j.data !== 'string' && (typeof j.data !== 'object' || j.data === null))
      throw new ConfigError(`trainMany: jobs[${i}].data must be a file path or a table`);
  }
  const concurrency = options.concurrency ?? Math.max(1, Math.min(availableParallelism(), jobs.length));
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new ConfigError(`trainMany: concurrency must be an integer >= 1, got ${String(options.concurrency)}`);
  const threads = options.threadsPerWorker ?? 1;
  if (!Number.isSafeInteger(threads) || threads < 0)
    throw new ConfigError(`trainMany: threadsPerWorker must be an integer >= 0, got ${String(options.threadsPerWorker)}`);
  if (options.inProcess !== undefined && typeof options.inProcess !== 'boolean')
    throw new ConfigError(`trainMany: inProcess must be a boolean, got ${typeof options.inProcess}`);
  if (jobs.length === 0) return [];
  const emit = options.onEvent ?? (() => undefined);
  const results: TrainJobResult[] = new Array(jobs.length);
  let next = 0;
  // Takes jobs until none is left; `run` trains one (in a worker or here).
  const lane = (run: (job: TrainJob, onEpoch: (e: EpochEvent) => void) => Promise<TrainJobResult>) => async (): Promise<void> => {
    for (let i = next++; i < jobs.length; i = next++) {
      const job = jobs[i]!;
      if (options.signal?.aborted) {
        results[i] = { id: job.id, ok: false, error: { name: 'AbortError', message: 'not started: trainMany was aborted' }, seconds: 0 };
        continue;
      }
      emit({ type: 'start', id: job.id });
      const started = Date.now();
      try {
        results[i] = await run(job, (epoch) => emit({ type: 'epoch', id: job.id, epoch }));
      } catch (e) {
        const failure =
          e instanceof JobFailure
            ? { name: e.errorName, message: e.message }
            : e instanceof Error
              ? { name: e.name, message: e.message }
              : { name: 'Error', message: String(e) };
        results[i] = { id: job.id, ok: false, error: failure, seconds: (Date.now() - started) / 1000 };
      }
      emit({ type: 'done', id: job.id, result: results[i]! });
    }
  };
  if (options.inProcess) {
    const signal = options.signal ?? new AbortController().signal;
    await lane((job, onEpoch) => runTrainJob(job, signal, onEpoch))();
    return results;
  }
  const pool = new WorkerPool<null, TrainJob, TrainJobResult, EpochEvent>({
    module: new URL('./many-worker.js', import.meta.url),
    slots: Math.min(concurrency, jobs.length),
    threads,
    init: null,
    label: 'a training worker',
  });
  const onAbort = () => pool.abortAll();
  options.signal?.addEventListener('abort', onAbort);
  const work = lane((job, onEpoch) => pool.run(job, onEpoch, `job ${JSON.stringify(job.id)}`));
  try {
    await Promise.all(Array.from({ length: pool.slots }, work));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await pool.close();
  }
  return results;
}
