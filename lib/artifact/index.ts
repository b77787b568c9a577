// lib/artifact: a trained model as files: the ONNX graph, the preprocessing that travels with the
// weights, the MLflow model folder (one MLmodel writer), logging a model into a run, and resolving
// paths and runs:/ / models:/ URIs back to a model. Above model, data and tracking; below export,
// serve, train and the CLI.
export {
  CONFIG_FILE,
  MLMODEL_FILE,
  MLFLOW_VERSION,
  ONNX_FILE,
  PYTHON_VERSION,
  WEIGHTS_FILE,
  checkMlflowModelDir,
  mlmodelText,
  modelFiles,
  pythonEnvFiles,
  readMLmodel,
} from './mlmodel.js';
export type { MlflowCheckReport, MlmodelSpec, ModelSignatureSpec } from './mlmodel.js';
export { logModel, logModelToRun } from './log-model.js';
export type { LogModelOptions, ModelInfo, SavableModel } from './log-model.js';
export { configHash, logInformerModel } from './informer-model.js';
export type { LogInformerOptions } from './informer-model.js';
export { loadModel, resolveModelUri, resolveWeightsFile } from './resolve.js';
export {
  PREPROCESSING_KEY,
  checkPreprocessing,
  preprocessingFromDataset,
  preprocessingFromMetadata,
  resolvePreprocessing,
  savePredictorModel,
} from './preprocessing.js';
export type { PreprocessingInfo } from './preprocessing.js';
export { modelLineage, parseModelRef } from './lineage.js';
export type { ModelLineage } from './lineage.js';
