export { Trainer, withNaive } from './trainer.js';
export type { EpochEvent, Forecasts, StepEvent, TestMetrics, TrainerOptions, TrainerSubscriber, TrainResult } from './trainer.js';
export { EarlyStopping } from './early-stopping.js';
export { adjustedLearningRate } from './schedule.js';
export type { LrAdjust } from './schedule.js';
export { autologSubscriber, fitWithRun, forecastPlot, logTrainingResult, runParams } from './autolog.js';
export type { AutologOptions, AutologResult } from './autolog.js';
export { buildTags, datasetInputs, gitSourceTags, splitDigest } from './lineage.js';
export type { DatasetSource } from './lineage.js';
