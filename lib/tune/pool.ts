// Where trial segments run: a pool of worker processes (each trial single-threaded by default, so
// that trials run side by side on the cores), or the calling process when `parallel` is 0.
import type { Table } from '../data/table.js';
import { DatasetCache, runSegment, type SegmentJob, type SegmentResult, type TuneTask } from './trial.js';
import { JobFailure, WorkerPool } from '../train/pool.js';
import type { TuneEpoch, TuneInit } from './worker.js';

/** A trial segment failed: its error's class name and message (from the worker). The search records
 * it on the trial and goes on; it is not thrown to the caller. */
export class TrialFailure extends Error {
  constructor(
    message: string,
    readonly errorName = 'Error',
  ) {
    super(message);
  }
}

export interface SegmentRunner {
  /** How many segments may run at once. */
  readonly slots: number;
  run(job: SegmentJob, onEpoch: (epoch: number, valLoss: number) => void): Promise<SegmentResult>;
  /** Asks every running segment to stop after its current step (they resolve cancelled). */
  abortAll(): void;
  close(): Promise<void>;
}

/** Segments in the calling process, one at a time. */
export class InlineRunner implements SegmentRunner {
  readonly slots = 1;
  readonly #datasets: DatasetCache;
  #abort = new AbortController();
  constructor(
    table: Table,
    readonly task: TuneTask,
  ) {
    this.#datasets = new DatasetCache(table);
  }
  async run(job: SegmentJob, onEpoch: (epoch: number, valLoss: number) => void): Promise<SegmentResult> {
    this.#abort = new AbortController();
    try {
      return await runSegment(this.task, job, this.#datasets, this.#abort.signal, (e) => onEpoch(e.epoch, e.valLoss));
    } catch (e) {
      throw new TrialFailure((e as Error).message, (e as Error).name);
    }
  }
  abortAll(): void {
    this.#abort.abort();
  }
  async close(): Promise<void> {}
}

/** Segments in `slots` worker processes with `threads` native threads each (0: the addon's default). */
export class ProcessPool implements SegmentRunner {
  readonly #pool: WorkerPool<TuneInit, SegmentJob, SegmentResult, TuneEpoch>;
  constructor(
    readonly slots: number,
    readonly threads: number,
    readonly table: Table,
    readonly task: TuneTask,
  ) {
    this.#pool = new WorkerPool({
      module: new URL('./worker.js', import.meta.url),
      slots,
      threads,
      init: { table, task },
      label: 'a tuning worker',
    });
  }

  async run(job: SegmentJob, onEpoch: (epoch: number, valLoss: number) => void): Promise<SegmentResult> {
    try {
      return await this.#pool.run(job, (e) => onEpoch(e.epoch, e.valLoss), `trial ${job.trial}`);
    } catch (e) {
      if (e instanceof JobFailure) throw new TrialFailure(e.message, e.errorName);
      throw e;
    }
  }

  abortAll(): void {
    this.#pool.abortAll();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
