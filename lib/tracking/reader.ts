// Reading a store back: runs with their params/metrics/tags, search with MLflow filter strings,
// metric histories, experiment search and a side-by-side run comparison. Works on stores written by
// MLflow itself too (2-field legacy metric lines, int experiment ids, missing status).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FormatError } from '../errors.js';
import { TrackingError } from './errors.js';
import { readKeyedFiles, readValueFiles } from './store.js';
import type { RunStore } from './store.js';
import { matchesFilter, parseFilter, parseOrderBy, sortBy } from './filter.js';
import type { Lookup } from './filter.js';
import { validateKey } from './validate.js';
import type { Experiment, Metric, RunData, RunInfo, RunRecord, ViewType } from './types.js';

/** Python's float() of a metric value text: `nan`, `inf`, `-inf`, `Infinity`, `1e-07`... */
export function parsePyFloat(text: string): number {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/(?<=\d)_(?=\d)/g, '');
  if (t === 'nan' || t === '+nan' || t === '-nan') return NaN;
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  const v = t === '' ? NaN : Number(t);
  if (Number.isNaN(v)) throw new FormatError(`'${text}' is not a number`);
  return v;
}

function parseMetricFile(file: string, key: string): Metric[] {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const out: Metric[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const parts = line.trim().split(' ');
    const last = i === lines.length - 1; // no trailing newline: a line still being written
    try {
      if (parts.length !== 2 && parts.length !== 3) throw new FormatError(`expected 2 or 3 fields, got ${parts.length}`);
      const timestamp = Number(parts[0]);
      const step = parts.length === 3 ? Number(parts[2]) : 0;
      if (!Number.isInteger(timestamp) || !Number.isInteger(step)) throw new FormatError('timestamp and step must be integers');
      out.push({ key, value: parsePyFloat(parts[1]!), timestamp, step });
    } catch (e) {
      if (last) return;
      throw new FormatError(`metric file ${file}, line ${i + 1} ('${line}') is malformed: ${(e as Error).message}`, { cause: e });
    }
  });
  return out;
}

// MLflow's "latest" value: the max over (step, timestamp, value).
function latest(points: Metric[]): Metric | undefined {
  let best: Metric | undefined;
  for (const p of points) {
    if (
      best === undefined ||
      p.step > best.step ||
      (p.step === best.step &&
        (p.timestamp > best.timestamp || (p.timestamp === best.timestamp && (p.value > best.value || Number.isNaN(best.value)))))
    ) {
      best = p;
    }
  }
  return best;
}

function readMetricDir(dir: string): Record<string, Metric[]> {
  return readKeyedFiles(dir, parseMetricFile);
}

function readRunDir(store: RunStore, dir: string): RunRecord {
  const info = store.readRunInfo(dir);
  const metrics: Record<string, number> = {};
  for (const [k, points] of Object.entries(readMetricDir(path.join(dir, 'metrics')))) {
    const l = latest(points);
    if (l !== undefined) metrics[k] = l.value;
  }
  const data: RunData = { params: readValueFiles(path.join(dir, 'params')), metrics, tags: readValueFiles(path.join(dir, 'tags')) };
  return { info, data, inputs: { datasetInputs: store.readInputs(info.experimentId, dir) } };
}

/** One run with its params, latest metric values and tags. */
export function getRun(store: RunStore, runId: string): RunRecord {
  if (store.remote) return store.remote.getRunRecord(runId);
  return readRunDir(store, store.runDir(runId));
}

/** Every point logged for metric `key` of a run, in logging order (empty if never logged). */
export function getMetricHistory(store: RunStore, runId: string, key: string): Metric[] {
  validateKey('metric', key);
  if (store.remote) return store.remote.getMetricHistory(runId, key);
  const file = path.join(store.runDir(runId), 'metrics', key);
  return fs.existsSync(file) ? parseMetricFile(file, key) : [];
}

const RUN_ATTRIBUTES: Record<string, (i: RunInfo) => string | number | null> = {
  run_id: (i) => i.runId,
  run_name: (i) => i.runName,
  status: (i) => i.status,
  user_id: (i) => i.userId,
  artifact_uri: (i) => i.artifactUri,
  start_time: (i) => i.startTime,
  created: (i) => i.startTime,
  end_time: (i) => i.endTime,
  experiment_id: (i) => i.experimentId,
  lifecycle_stage: (i) => i.lifecycleStage,
};

function runLookup(r: RunRecord): Lookup {
  return (entity, key) => {
    if (entity === 'metric') return r.data.metrics[key];
    if (entity === 'param') return r.data.params[key];
    if (entity === 'tag') return r.data.tags[key];
    const get = RUN_ATTRIBUTES[key === 'run name' || key === 'name' ? 'run_name' : key];
    if (get === undefined) throw new TrackingError(`unknown run attribute '${key}' (known: ${Object.keys(RUN_ATTRIBUTES).join(', ')})`);
    return get(r.info);
  };
}

/** Options of searchRuns. */
export interface SearchRunsOptions {
  /** Experiments to search; default every experiment in the view. */
  experimentIds?: string[];
  /** Experiments to search, by name (added to experimentIds). */
  experimentNames?: string[];
  /** MLflow filter string, e.g. `params.lr = '0.001' and metrics.mse < 0.5`. */
  filter?: string;
  /** Which runs (and, without experimentIds, experiments): default 'active'. */
  view?: ViewType;
  /** e.g. ['metrics.mse ASC']; default start time, newest first. */
  orderBy?: string[];
  maxResults?: number;
}

/** Runs matching a filter, as MLflow's search_runs on a FileStore. */
export function searchRuns(store: RunStore, options: SearchRunsOptions = {}): RunRecord[] {
  const view = options.view ?? 'active';
  // On a server the filter is the server's to parse (MLflow's own grammar there).
  const clauses = store.remote ? [] : parseFilter(options.filter);
  let ids = options.experimentIds ? [...options.experimentIds] : [];
  for (const name of options.experimentNames ?? []) {
    const e = store.getExperimentByName(name);
    if (e === null) throw new TrackingError(`no experiment named '${name}'`);
    ids.push(e.experimentId);
  }
  if (options.experimentIds === undefined && options.experimentNames === undefined) {
    ids = store.listExperiments(view === 'deleted' ? 'all' : view).map((e) => e.experimentId);
  }
  if (store.remote) {
    return store.remote.searchRuns({
      experimentIds: [...new Set(ids)],
      filter: options.filter,
      view,
      orderBy: options.orderBy,
      maxResults: options.maxResults,
    });
  }
  const runs: RunRecord[] = [];
  for (const id of new Set(ids)) {
    const dir = store.experimentDir(id);
    if (dir === null) throw new TrackingError(`experiment '${id}' does not exist`);
    for (const runDir of store.runDirs(dir)) {
      const r = readRunDir(store, runDir);
      if (r.info.experimentId !== id) continue; // MLflow ignores runs filed under the wrong experiment
      if (view !== 'all' && r.info.lifecycleStage !== view) continue;
      if (matchesFilter(clauses, runLookup(r))) runs.push(r);
    }
  }
  const order = parseOrderBy(options.orderBy);
  const sorted =
    order.length > 0
      ? sortBy(runs, order, runLookup)
      : runs.sort((a, b) => b.info.startTime - a.info.startTime || (a.info.runId < b.info.runId ? -1 : 1));
  return options.maxResults !== undefined ? sorted.slice(0, options.maxResults) : sorted;
}

/** All runs of one experiment (default active only). */
export function listRuns(store: RunStore, experimentId: string, view: ViewType = 'active'): RunRecord[] {
  return searchRuns(store, { experimentIds: [experimentId], view });
}

/** Options of searchExperiments. */
export interface SearchExperimentsOptions {
  /** e.g. `name LIKE 'informer%' and tags.team = 'forecast'`. */
  filter?: string;
  view?: ViewType;
  orderBy?: string[];
  maxResults?: number;
}

function experimentLookup(e: Experiment): Lookup {
  return (entity, key) => {
    if (entity === 'tag') return e.tags[key];
    if (entity !== 'attribute') throw new TrackingError(`experiments have no ${entity}s to filter on`);
    switch (key) {
      case 'name':
        return e.name;
      case 'experiment_id':
        return e.experimentId;
      case 'creation_time':
        return e.creationTime;
      case 'last_update_time':
        return e.lastUpdateTime;
      case 'lifecycle_stage':
        return e.lifecycleStage;
      case 'artifact_location':
        return e.artifactLocation;
      default:
        throw new TrackingError(`unknown experiment attribute '${key}'`);
    }
  };
}

/** Experiments matching a filter (default: all active ones, newest first). */
export function searchExperiments(store: RunStore, options: SearchExperimentsOptions = {}): Experiment[] {
  if (store.remote) return store.remote.searchExperiments(options);
  const clauses = parseFilter(options.filter);
  const found = store.listExperiments(options.view ?? 'active').filter((e) => matchesFilter(clauses, experimentLookup(e)));
  const order = parseOrderBy(options.orderBy);
  const sorted = order.length > 0 ? sortBy(found, order, experimentLookup) : found;
  return options.maxResults !== undefined ? sorted.slice(0, options.maxResults) : sorted;
}

/** Runs side by side: each param and metric as one row with a value (or null) per run. */
export interface RunComparison {
  runIds: string[];
  runNames: string[];
  params: Record<string, Array<string | null>>;
  /** Latest value per run. */
  metrics: Record<string, Array<number | null>>;
  /** Params whose values are not all equal across the runs. */
  differingParams: string[];
}

/** Compares runs: every param and metric (or just the named ones) across the given runs. */
export function compareRuns(store: RunStore, runIds: string[], options: { params?: string[]; metrics?: string[] } = {}): RunComparison {
  const runs = runIds.map((id) => getRun(store, id));
  const paramKeys = options.params ?? [...new Set(runs.flatMap((r) => Object.keys(r.data.params)))].sort();
  const metricKeys = options.metrics ?? [...new Set(runs.flatMap((r) => Object.keys(r.data.metrics)))].sort();
  const params: RunComparison['params'] = {};
  for (const k of paramKeys) params[k] = runs.map((r) => r.data.params[k] ?? null);
  const metrics: RunComparison['metrics'] = {};
  for (const k of metricKeys) metrics[k] = runs.map((r) => r.data.metrics[k] ?? null);
  return {
    runIds,
    runNames: runs.map((r) => r.info.runName),
    params,
    metrics,
    differingParams: paramKeys.filter((k) => new Set(params[k]).size > 1),
  };
}
