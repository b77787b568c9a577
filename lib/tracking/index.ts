// informer-node tracking: an MLflow-compatible run directory (FileStore layout) written and read
// from Node, with cogflow's vocabulary. The module-level API (fluent.ts) works on one current
// store; RunStore/Run and the `reader`, `registry` and `mlmodel` namespaces take a store explicitly.
export * from './fluent.js';
export { TrackingError } from './errors.js';
export { RunStore, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, readValueFiles } from './store.js';
export type { RunStoreOptions, CreateRunOptions } from './store.js';
export { Run } from './run.js';
export type { EndStatus, LogMetricOptions } from './run.js';
export { resolveStorePath, pathToUri, uriToPath } from './uri.js';
export { MLMODEL_FILE, WEIGHTS_FILE, CONFIG_FILE, ONNX_FILE, readMLmodel, modelFiles, logModelToRun } from './mlmodel.js';
export type { SavableModel, LogModelOptions, ModelInfo, ModelSignature, TensorSpec, ColSpec } from './mlmodel.js';
export { parseFilter, matchesFilter } from './filter.js';
export type { Clause, Entity, Op } from './filter.js';
export { dumpYaml, parseYaml } from './yaml.js';
export { pyFloatRepr, pyStr, pyJsonDumps } from './pyformat.js';
export { RUN_STATUS_CODES } from './types.js';
export type {
  RunStatus,
  LifecycleStage,
  ViewType,
  Experiment,
  RunInfo,
  Metric,
  RunData,
  RunRecord,
  RegisteredModel,
  ModelVersion,
} from './types.js';
export type { SearchRunsOptions, SearchExperimentsOptions, RunComparison } from './reader.js';
export * as reader from './reader.js';
export * as registry from './registry.js';
export * as mlmodel from './mlmodel.js';
