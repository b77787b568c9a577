// lib/serve: the in-process Predictor (raw history in, dated forecast out) and the Open Inference
// Protocol v2 REST server.
export { Predictor, concatBatches } from './predictor.js';
export type { Forecast, History, PredictorBackend, PredictorOptions, PreparedHistory } from './predictor.js';
export {
  PREPROCESSING_KEY,
  checkPreprocessing,
  preprocessingFromDataset,
  preprocessingFromMetadata,
  resolvePreprocessing,
  savePredictorModel,
} from '../artifact/preprocessing.js';
export type { PreprocessingInfo } from '../artifact/preprocessing.js';
export { OnnxBackend } from './onnx-backend.js';
export type { OnnxBackendOptions } from './onnx-backend.js';
export { Batcher, checkBatcherOptions } from './batcher.js';
export type { BatcherOptions, BatcherStats, ForwardFn } from './batcher.js';
export { RequestError, inferResponse, modelMetadata, modelSignature, parseInferRequest } from './oip.js';
export type { InferRequest, ModelSignature } from './oip.js';
export { createServer, loadServedModel, serve } from './server.js';
export type { InformerServer, ModelEntry, PredictorEntry, ServeOptions, ServedModel, ServerOptions } from './server.js';
export { Monitor } from './monitor.js';
export type { Actuals, MonitorOptions, MonitorSnapshot, StepAccuracy } from './monitor.js';
export { ServerMetrics } from './metrics.js';
export { DriftMonitor } from './drift.js';
export type { ColumnDrift, DriftOptions } from './drift.js';
export { PayloadLogger } from './payload-log.js';
export type { PayloadLogOptions, PayloadLogStats } from './payload-log.js';
export { grafanaDashboard } from './grafana.js';
