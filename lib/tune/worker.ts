// A tuning worker process (forked by pool.ts): receives the table and the task once, then runs one
// trial segment at a time and reports each epoch and the result over IPC. Its native thread count
// comes from INFORMER_NUM_THREADS, which the pool sets before the addon loads.
import type { Table } from '../data/table.js';
import { DatasetCache, runSegment, type SegmentJob, type TuneTask } from './trial.js';

export type ToWorker = { type: 'init'; table: Table; task: TuneTask } | { type: 'run'; job: SegmentJob } | { type: 'abort' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'epoch'; trial: number; epoch: number; valLoss: number }
  | { type: 'done'; result: import('./trial.js').SegmentResult }
  | { type: 'error'; trial: number; name: string; message: string };

let task: TuneTask | undefined;
let datasets: DatasetCache | undefined;
let abort: AbortController | undefined;

const send = (m: FromWorker): void => {
  process.send?.(m);
};

process.on('message', (msg: ToWorker) => {
  if (msg.type === 'init') {
    task = msg.task;
    datasets = new DatasetCache(msg.table);
    send({ type: 'ready' });
  } else if (msg.type === 'abort') {
    abort?.abort();
  } else if (msg.type === 'run') {
    const job = msg.job;
    abort = new AbortController();
    const onEpoch = (e: { epoch: number; valLoss: number }) =>
      send({ type: 'epoch', trial: job.trial, epoch: e.epoch, valLoss: e.valLoss });
    runSegment(task as TuneTask, job, datasets as DatasetCache, abort.signal, onEpoch).then(
      (result) => send({ type: 'done', result }),
      (e: unknown) =>
        send({ type: 'error', trial: job.trial, name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) }),
    );
  }
});
// The parent going away ends the worker (its IPC channel closes). Ctrl-C reaches the whole process
// group: the parent decides (it asks running trials to stop and keeps the search resumable).
process.on('disconnect', () => process.exit(0));
process.on('SIGINT', () => undefined);
