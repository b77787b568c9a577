// A trainMany worker process (forked through pool.ts): one job at a time, in this process's single
// native thread (INFORMER_NUM_THREADS, set by the pool before the addon loads).
import type { TrainJob, TrainJobResult } from './many.js';
import { runTrainJob } from './many-job.js';
import { serveJobs } from './pool.js';
import type { EpochEvent } from './trainer.js';

serveJobs<null, TrainJob, TrainJobResult, EpochEvent>(() => undefined, runTrainJob);
