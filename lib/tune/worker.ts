// A tuning worker process (forked through the pool in lib/train/pool.ts): receives the table and the
// task once, then runs one trial segment at a time and reports each epoch and the result over IPC.
// Its native thread count comes from INFORMER_NUM_THREADS, which the pool sets before the addon loads.
import type { Table } from '../data/table.js';
import { serveJobs } from '../train/pool.js';
import { DatasetCache, runSegment, type SegmentJob, type SegmentResult, type TuneTask } from './trial.js';

export interface TuneInit {
  table: Table;
  task: TuneTask;
}
export interface TuneEpoch {
  trial: number;
  epoch: number;
  valLoss: number;
}

let task: TuneTask | undefined;
let datasets: DatasetCache | undefined;

serveJobs<TuneInit, SegmentJob, SegmentResult, TuneEpoch>(
  (init) => {
    task = init.task;
    datasets = new DatasetCache(init.table);
  },
  (job, signal, emit) =>
    runSegment(task as TuneTask, job, datasets as DatasetCache, signal, (e) =>
      emit({ trial: job.trial, epoch: e.epoch, valLoss: e.valLoss }),
    ),
);
