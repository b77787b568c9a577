// Where trial segments run: a pool of worker processes (each trial single-threaded by default, so
// that trials run side by side on the cores), or the calling process when `parallel` is 0.
import { fork, type ChildProcess } from 'node:child_process';

import type { Table } from '../data/table.js';
import { DatasetCache, runSegment, type SegmentJob, type SegmentResult, type TuneTask } from './trial.js';
import type { FromWorker, ToWorker } from './worker.js';

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

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
}

/** Segments in `slots` worker processes with `threads` native threads each (0: the addon's default). */
export class ProcessPool implements SegmentRunner {
  readonly #workers: Worker[] = [];
  constructor(
    readonly slots: number,
    readonly threads: number,
    readonly table: Table,
    readonly task: TuneTask,
  ) {}

  #spawn(): Worker {
    const env = { ...process.env };
    if (this.threads > 0) env.INFORMER_NUM_THREADS = String(this.threads);
    const child = fork(new URL('./worker.js', import.meta.url), [], {
      env,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type !== 'ready') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null, signal: string | null) =>
        reject(new TrialFailure(`a tuning worker exited while starting (code ${code}, signal ${signal})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    ready.catch(() => undefined);
    child.send({ type: 'init', table: this.table, task: this.task } satisfies ToWorker);
    const w: Worker = { child, ready, busy: false };
    this.#workers.push(w);
    return w;
  }

  async run(job: SegmentJob, onEpoch: (epoch: number, valLoss: number) => void): Promise<SegmentResult> {
    const alive = (w: Worker) => w.child.exitCode === null && w.child.signalCode === null;
    for (let i = this.#workers.length - 1; i >= 0; i--) if (!alive(this.#workers[i] as Worker)) this.#workers.splice(i, 1);
    const w = this.#workers.find((x) => !x.busy) ?? this.#spawn();
    w.busy = true;
    try {
      await w.ready;
      return await new Promise<SegmentResult>((resolve, reject) => {
        const cleanup = () => {
          w.child.off('message', onMessage);
          w.child.off('exit', onExit);
        };
        const onMessage = (m: FromWorker) => {
          if (m.type === 'epoch') onEpoch(m.epoch, m.valLoss);
          else if (m.type === 'done') {
            cleanup();
            resolve(m.result);
          } else if (m.type === 'error') {
            cleanup();
            reject(new TrialFailure(m.message, m.name));
          }
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          reject(new TrialFailure(`the tuning worker running trial ${job.trial} exited (code ${code}, signal ${signal})`));
        };
        w.child.on('message', onMessage);
        w.child.once('exit', onExit);
        w.child.send({ type: 'run', job } satisfies ToWorker);
      });
    } finally {
      w.busy = false;
    }
  }

  abortAll(): void {
    for (const w of this.#workers) if (w.busy && w.child.connected) w.child.send({ type: 'abort' } satisfies ToWorker);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            w.child.disconnect();
          }),
      ),
    );
    this.#workers.length = 0;
  }
}
