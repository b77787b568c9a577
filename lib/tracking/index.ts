// informer-node tracking: an MLflow-compatible run directory (FileStore layout) written and read
// from Node, with cogflow's vocabulary. The module-level API (fluent.ts) works on one current
// store; RunStore/Run and the `reader` and `registry` namespaces take a store explicitly. Models are
// not tracking's business: logging and loading them is lib/artifact, on top of this.
export * from './fluent.js';
export { TrackingError, TrackingServerError, TrackingUnreachableError, ArtifactStoreError } from './errors.js';
export { openStore } from './open.js';
export { ServerStore } from './remote/server-store.js';
export { RunStore, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, readValueFiles } from './store.js';
export type { RunStoreOptions, CreateRunOptions } from './store.js';
export { Run } from './run.js';
export type { EndStatus, LogMetricOptions } from './run.js';
export { resolveStorePath, pathToUri, uriToPath } from './uri.js';
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
  Dataset,
  DatasetInput,
  RegisteredModel,
  ModelVersion,
} from './types.js';
export type { SearchRunsOptions, SearchExperimentsOptions, RunComparison } from './reader.js';
export * as reader from './reader.js';
export * as registry from './registry.js';
