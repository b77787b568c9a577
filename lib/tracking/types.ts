// Shapes of what the tracking store reads and returns (camelCase views of MLflow's entities).

/** Run status; stored in meta.yaml as MLflow's integer code. */
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

/** MLflow's integer codes for RunStatus (meta.yaml `status`). */
export const RUN_STATUS_CODES: Readonly<Record<RunStatus, number>> = Object.freeze({
  RUNNING: 1,
  SCHEDULED: 2,
  FINISHED: 3,
  FAILED: 4,
  KILLED: 5,
});

/** `active` or `deleted` (soft delete; `.trash/` for experiments). */
export type LifecycleStage = 'active' | 'deleted';

/** Which lifecycle stages a listing returns. */
export type ViewType = 'active' | 'deleted' | 'all';

/** An experiment (mlruns/<id>/meta.yaml plus its tags/ folder). */
export interface Experiment {
  experimentId: string;
  name: string;
  /** `file://` URI under which each run's `<run_id>/artifacts` lives. */
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number | null;
  lastUpdateTime: number | null;
  tags: Record<string, string>;
}

/** A run's meta.yaml. */
export interface RunInfo {
  runId: string;
  runName: string;
  experimentId: string;
  userId: string;
  status: RunStatus;
  /** Epoch milliseconds. */
  startTime: number;
  /** Epoch milliseconds, null while running. */
  endTime: number | null;
  /** `file://` URI of the run's artifacts folder. */
  artifactUri: string;
  lifecycleStage: LifecycleStage;
}

/** One logged metric point. */
export interface Metric {
  key: string;
  value: number;
  /** Epoch milliseconds. */
  timestamp: number;
  step: number;
}

/** A run's logged data; `metrics` holds each metric's latest value (max of step, timestamp, value, as MLflow). */
export interface RunData {
  params: Record<string, string>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

/**
 * A dataset as MLflow records it (mlflow.entities.Dataset): `schema` and `profile` are JSON strings.
 * Identified within an experiment by name and digest.
 */
export interface Dataset {
  name: string;
  /** A short content hash (at most 36 characters, MLflow's limit). */
  digest: string;
  /** e.g. 'local' (a file: source `{"uri": "..."}`) or 'code' (built in memory). */
  sourceType: string;
  source: string;
  schema?: string | null;
  profile?: string | null;
}

/** A dataset used by a run, with the input's tags (`mlflow.data.context`: training, validation, test). */
export interface DatasetInput {
  dataset: Dataset;
  tags?: Record<string, string>;
}

/** A run as read back from the store. */
export interface RunRecord {
  info: RunInfo;
  data: RunData;
  /** The datasets the run logged as inputs. */
  inputs: { datasetInputs: DatasetInput[] };
}

/** A registered model (mlruns/models/<name>/). */
export interface RegisteredModel {
  name: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  description: string | null;
  tags: Record<string, string>;
  /** alias -> version number */
  aliases: Record<string, number>;
  /** The highest version number that is not deleted, or null if none. */
  latestVersion: number | null;
}

/** A model version (mlruns/models/<name>/version-<n>/). */
export interface ModelVersion {
  name: string;
  version: number;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  /** `None`, `Staging`, `Production` or `Archived`. */
  currentStage: string;
  description: string | null;
  /** Where the model was registered from (a `file://` URI of the model folder, or a models:/ URI). */
  source: string;
  /** `source` resolved to a `file://` URI. */
  storageLocation: string;
  runId: string | null;
  runLink: string | null;
  status: string;
  statusMessage: string | null;
  userId: string | null;
  tags: Record<string, string>;
  aliases: string[];
}
