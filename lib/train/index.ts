export { Trainer, withNaive } from './trainer.js';
export type { EpochEvent, Forecasts, StepEvent, TestMetrics, TrainerOptions, TrainResult } from './trainer.js';
export { EarlyStopping } from './early-stopping.js';
export { adjustedLearningRate } from './schedule.js';
export type { LrAdjust } from './schedule.js';
export { autologCallbacks, fitWithRun, forecastPlot, logTrainedModel, logTrainingResult, runParams } from './autolog.js';
export type { AutologOptions, AutologResult } from './autolog.js';
