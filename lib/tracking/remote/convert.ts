// MLflow REST JSON <-> the store's camelCase entities (lib/tracking/types.ts). The server writes
// int64 fields as numbers and non-finite doubles as the strings "NaN", "Infinity", "-Infinity".
import type {
  DatasetInput,
  Experiment,
  LifecycleStage,
  Metric,
  ModelVersion,
  RegisteredModel,
  RunInfo,
  RunRecord,
  RunStatus,
  ViewType,
} from '../types.js';

type Json = Record<string, unknown>;
type KeyValue = { key?: unknown; value?: unknown };

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
const strOrNull = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
const numOrNull = (v: unknown): number | null => (v === undefined || v === null ? null : Number(v));

/** A double as the server wrote it (numbers, or "NaN"/"Infinity"/"-Infinity"). */
export function fromJsonDouble(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number(v);
}

/** A double as protobuf's JSON mapping spells it (non-finite values as strings). */
export function toJsonDouble(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/** `[{key, value}]` -> a record. */
export function tagRecord(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(list)) for (const kv of list as KeyValue[]) out[str(kv.key)] = str(kv.value);
  return out;
}

/** A record -> `[{key, value}]`. */
export function tagList(record: Record<string, string>): Array<{ key: string; value: string }> {
  return Object.entries(record).map(([key, value]) => ({ key, value }));
}

/** MLflow's ViewType enum name for a view. */
export function viewTypeName(view: ViewType): string {
  return view === 'active' ? 'ACTIVE_ONLY' : view === 'deleted' ? 'DELETED_ONLY' : 'ALL';
}

export function toExperiment(e: Json): Experiment {
  return {
    experimentId: str(e.experiment_id),
    name: str(e.name),
    artifactLocation: str(e.artifact_location),
    lifecycleStage: (str(e.lifecycle_stage) || 'active') as LifecycleStage,
    creationTime: numOrNull(e.creation_time),
    lastUpdateTime: numOrNull(e.last_update_time),
    tags: tagRecord(e.tags),
  };
}

export function toRunInfo(i: Json): RunInfo {
  return {
    runId: str(i.run_id ?? i.run_uuid),
    runName: str(i.run_name),
    experimentId: str(i.experiment_id),
    userId: str(i.user_id),
    status: (str(i.status) || 'RUNNING') as RunStatus,
    startTime: Number(i.start_time ?? 0),
    endTime: numOrNull(i.end_time),
    artifactUri: str(i.artifact_uri),
    lifecycleStage: (str(i.lifecycle_stage) || 'active') as LifecycleStage,
  };
}

export function toMetric(m: Json): Metric {
  return { key: str(m.key), value: fromJsonDouble(m.value), timestamp: Number(m.timestamp ?? 0), step: Number(m.step ?? 0) };
}

export function toDatasetInput(d: Json): DatasetInput {
  const ds = (d.dataset ?? {}) as Json;
  return {
    dataset: {
      name: str(ds.name),
      digest: str(ds.digest),
      sourceType: str(ds.source_type),
      source: str(ds.source),
      schema: strOrNull(ds.schema),
      profile: strOrNull(ds.profile),
    },
    tags: tagRecord(d.tags),
  };
}

/** A DatasetInput in the REST form of runs/log-inputs. */
export function fromDatasetInput(input: DatasetInput): Json {
  const d = input.dataset;
  const dataset: Json = { name: d.name, digest: d.digest, source_type: d.sourceType, source: d.source };
  if (d.schema !== undefined && d.schema !== null) dataset.schema = d.schema;
  if (d.profile !== undefined && d.profile !== null) dataset.profile = d.profile;
  return { tags: tagList(input.tags ?? {}), dataset };
}

export function toRunRecord(r: Json): RunRecord {
  const data = (r.data ?? {}) as Json;
  const metrics: Record<string, number> = {};
  if (Array.isArray(data.metrics)) for (const m of data.metrics as Json[]) metrics[str(m.key)] = fromJsonDouble(m.value);
  const inputs = (r.inputs ?? {}) as Json;
  return {
    info: toRunInfo((r.info ?? {}) as Json),
    data: { params: tagRecord(data.params), metrics, tags: tagRecord(data.tags) },
    inputs: { datasetInputs: Array.isArray(inputs.dataset_inputs) ? (inputs.dataset_inputs as Json[]).map(toDatasetInput) : [] },
  };
}

export function toModelVersion(v: Json): ModelVersion {
  const source = str(v.source);
  return {
    name: str(v.name),
    version: Number(v.version),
    creationTimestamp: Number(v.creation_timestamp ?? 0),
    lastUpdatedTimestamp: Number(v.last_updated_timestamp ?? 0),
    currentStage: str(v.current_stage) || 'None',
    description: strOrNull(v.description),
    source,
    storageLocation: source,
    runId: strOrNull(v.run_id) || null,
    runLink: strOrNull(v.run_link) || null,
    status: str(v.status) || 'READY',
    statusMessage: strOrNull(v.status_message),
    userId: strOrNull(v.user_id),
    tags: tagRecord(v.tags),
    aliases: Array.isArray(v.aliases) ? (v.aliases as unknown[]).map(str) : [],
  };
}

export function toRegisteredModel(m: Json): RegisteredModel {
  const aliases: Record<string, number> = {};
  if (Array.isArray(m.aliases)) for (const a of m.aliases as Json[]) aliases[str(a.alias)] = Number(a.version);
  const versions = Array.isArray(m.latest_versions) ? (m.latest_versions as Json[]).map((v) => Number(v.version)) : [];
  return {
    name: str(m.name),
    creationTimestamp: Number(m.creation_timestamp ?? 0),
    lastUpdatedTimestamp: Number(m.last_updated_timestamp ?? 0),
    description: strOrNull(m.description) || null,
    tags: tagRecord(m.tags),
    aliases,
    latestVersion: versions.length > 0 ? Math.max(...versions) : null,
  };
}
