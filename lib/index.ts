// informer-node: Informer long-sequence time-series forecasting for Node.js.
export * from './errors.js';
export * from './tensor.js';
export * from './safetensors.js';
export * from './config.js';
export { Informer } from './model.js';
export type {
  Batch,
  DeviceName,
  ForwardOptions,
  ForwardWithActivations,
  LossAndGrad,
  ModelOptions,
  OptimizerState,
  SampleDraw,
  SampleIndexInput,
  TrainOptions,
} from './model.js';
export { Adam } from './optim.js';
export type { AdamOptions } from './optim.js';
export { backends, nativeInfo, setGpuMatmulPrecision } from './native.js';
export type { GpuMatmulPrecision } from './binding.js';
export * from './data/index.js';
export * from './train/index.js';
export * from './tune/index.js';
export * from './pipeline/index.js';
export {
  exportOnnx,
  buildOnnxModel,
  checkOnnxModel,
  onnxSignature,
  exportModel,
  inferenceService,
  inferenceServiceYaml,
  validateInferenceService,
  checkMlflowModelDir,
  checkTritonRepository,
  tritonConfig,
  DEFAULT_OPSET,
  EXPORT_FORMATS,
} from './export/index.js';
export type { OnnxExportOptions, OnnxExportResult, OnnxSignature, ExportModelOptions, ExportModelResult } from './export/index.js';
export * from './plots/index.js';
export * as tracking from './tracking/index.js';
export {
  setTrackingUri,
  setExperiment,
  startRun,
  activeRun,
  endRun,
  logParam,
  logParams,
  logMetric,
  logMetrics,
  setTag,
  logArtifact,
  logInputs,
  registerModel,
  setAlias,
  getModelVersion,
  searchRuns,
  getRun,
  getMetricHistory,
  compareRuns,
} from './tracking/fluent.js';
export {
  RunStore,
  Run,
  ServerStore,
  openStore,
  TrackingError,
  TrackingServerError,
  TrackingUnreachableError,
  ArtifactStoreError,
} from './tracking/index.js';
export * as artifact from './artifact/index.js';
export { loadModel, logModel, resolveModelUri, savePredictorModel, preprocessingFromDataset } from './artifact/index.js';
export type { LogModelOptions, ModelInfo, PreprocessingInfo, SavableModel } from './artifact/index.js';
export { BATCH_KEYS, INPUT_NAMES, OUTPUT_NAME, mlflowSignature, modelSignature } from './signature.js';
export type { ModelSignature, SignatureTensor } from './signature.js';
export { Monitor, Predictor, createServer, serve } from './serve/index.js';
export type { Forecast, History, PredictorOptions, ServeOptions, ServerOptions } from './serve/index.js';
