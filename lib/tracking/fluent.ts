// The module-level API in cogflow's (i.e. MLflow's fluent) vocabulary, camelCased: one current
// store (setTrackingUri, default $MLFLOW_TRACKING_URI or ./mlruns), one current experiment and a
// stack of active runs. Logging calls without an active run start one, as MLflow does. With
// endRunsOnExit() (opt-in), runs still active when the process ends are closed as they really ended.
import { TrackingError } from './errors.js';
import type { CreateRunOptions, RunStore, RunStoreOptions } from './store.js';
import { openStore } from './open.js';
import type { EndStatus, LogMetricOptions, Run } from './run.js';
import * as reader from './reader.js';
import * as registry from './registry.js';
import type { Experiment, Metric, ModelVersion, RegisteredModel, RunRecord, DatasetInput } from './types.js';

let trackingUri: string | undefined;
let storeOptions: RunStoreOptions = {};
let store: RunStore | undefined;
let experimentId: string | undefined;
const activeRuns: Run[] = [];

/** Sets where runs are recorded: a folder or `file://` URI (a local MLflow FileStore), or an `http(s)://` MLflow tracking server. */
export function setTrackingUri(uri: string | undefined, options: RunStoreOptions = {}): void {
  trackingUri = uri;
  storeOptions = options;
  store = undefined;
  experimentId = undefined;
}

/** The current store, opened (and created) on first use. */
export function getStore(): RunStore {
  store ??= openStore(trackingUri, storeOptions);
  return store;
}

/** The current store's URI: its folder's `file://` URI, or the tracking server's URL. */
export function getTrackingUri(): string {
  return getStore().trackingUri;
}

/**
 * Makes an experiment current, creating it if the name is new (name wins over id, as in cogflow).
 * Accepts a name, or `{ experimentName?, experimentId? }`.
 */
export function setExperiment(nameOrOptions: string | { experimentName?: string; experimentId?: string }): Experiment {
  const o = typeof nameOrOptions === 'string' ? { experimentName: nameOrOptions } : nameOrOptions;
  const s = getStore();
  let exp: Experiment;
  if (o.experimentName !== undefined) exp = s.getOrCreateExperiment(o.experimentName);
  else if (o.experimentId !== undefined) {
    exp = s.getExperiment(o.experimentId);
    if (exp.lifecycleStage !== 'active') throw new TrackingError(`experiment '${o.experimentId}' is deleted`);
  } else throw new TrackingError('setExperiment needs an experiment name or id');
  experimentId = exp.experimentId;
  return exp;
}

/** Creates an experiment and returns its id. */
export function createExperiment(name: string, options: { tags?: Record<string, unknown>; artifactLocation?: string } = {}): string {
  return getStore().createExperiment(name, options);
}

/** Experiment by id. */
export function getExperiment(id: string): Experiment {
  return getStore().getExperiment(id);
}

/** Experiment by name, or null. */
export function getExperimentByName(name: string): Experiment | null {
  return getStore().getExperimentByName(name);
}

function currentExperimentId(): string {
  if (experimentId !== undefined) return experimentId;
  const env = process.env;
  if (env.MLFLOW_EXPERIMENT_NAME) return setExperiment(env.MLFLOW_EXPERIMENT_NAME).experimentId;
  if (env.MLFLOW_EXPERIMENT_ID) return setExperiment({ experimentId: env.MLFLOW_EXPERIMENT_ID }).experimentId;
  return '0';
}

// ---- ending runs as they really ended ----

let exitHooks: { signals: boolean } | undefined;

function endAll(status: EndStatus): void {
  while (activeRuns.length > 0) {
    const run = activeRuns.pop()!;
    try {
      if (run.status === 'RUNNING') run.end(status);
    } catch {
      // the store may be gone at exit; nothing more can be done
    }
  }
}

function onExit(code: number): void {
  endAll(code === 0 ? 'FINISHED' : code > 128 && code <= 128 + 64 ? 'KILLED' : 'FAILED');
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
function onSignal(sig: NodeJS.Signals): void {
  endAll('KILLED');
  // The signal then does what it would have done without us: with no other handler, it terminates
  // the process (and the exit status says which signal).
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, sig);
}

/**
 * Opt-in: ends the runs still active when the process ends as they really ended, as MLflow's
 * atexit hook does: FINISHED on a clean exit, FAILED on an uncaught error or a non-zero exit code.
 * With `signals` (default true), SIGINT, SIGTERM and SIGHUP also end them KILLED before the signal
 * terminates the process; a program with its own handlers for those passes `signals: false` and
 * calls endRun('KILLED') in them. The library installs nothing on the process unless asked to; the
 * `informer` command asks. A run whose process died without this (or of SIGKILL) stays RUNNING:
 * `informer runs mark-failed` ends it.
 */
export function endRunsOnExit(options: { signals?: boolean } = {}): void {
  const signals = options.signals ?? true;
  if (exitHooks === undefined) process.on('exit', onExit);
  if (signals && !exitHooks?.signals) for (const s of SIGNALS) process.on(s, onSignal);
  if (!signals && exitHooks?.signals) for (const s of SIGNALS) process.removeListener(s, onSignal);
  exitHooks = { signals };
}

/** Options of startRun (cogflow's start_run arguments). */
export interface StartRunOptions {
  /** Resume this existing run (its status goes back to RUNNING). */
  runId?: string;
  experimentId?: string;
  runName?: string;
  /** Start inside the active run (tag mlflow.parentRunId); without it a second startRun is an error. */
  nested?: boolean;
  tags?: Record<string, unknown>;
  /** Run description (tag mlflow.note.content). */
  description?: string;
}

function begin(options: StartRunOptions): Run {
  const s = getStore();
  const parent = activeRuns.at(-1);
  if (parent !== undefined && options.nested !== true) {
    throw new TrackingError(
      `run ${parent.runId} is already active; end it with endRun() first, or pass { nested: true } to start a nested run`,
    );
  }
  let run: Run;
  if (options.runId !== undefined) {
    run = s.getRun(options.runId);
    const info = run.info;
    if (info.lifecycleStage !== 'active') throw new TrackingError(`cannot resume deleted run ${options.runId}`);
    s.updateRunInfo(options.runId, { status: 'RUNNING', endTime: null, runName: options.runName });
    s.claimRun(options.runId);
    if (options.tags) run.setTags(options.tags);
  } else {
    const create: CreateRunOptions = {
      experimentId: options.experimentId ?? currentExperimentId(),
      runName: options.runName,
      tags: options.tags,
      description: options.description,
    };
    if (parent !== undefined) create.parentRunId = parent.runId;
    run = s.createRun(create);
  }
  activeRuns.push(run);
  return run;
}

function finish(run: Run, status: EndStatus): void {
  const i = activeRuns.lastIndexOf(run);
  if (i < 0) return; // already ended with endRun()
  activeRuns.splice(i, 1);
  if (run.status === 'RUNNING') run.end(status);
}

/**
 * Starts a run and makes it active. With a callback, runs it and ends the run FINISHED when it
 * returns (or its promise resolves) and FAILED when it throws (or rejects), rethrowing; returns
 * what the callback returns. Without one, returns the run; end it with endRun().
 */
export function startRun(options?: StartRunOptions): Run;
export function startRun<T>(fn: (run: Run) => T): T;
export function startRun<T>(options: StartRunOptions, fn: (run: Run) => T): T;
export function startRun<T>(a?: StartRunOptions | ((run: Run) => T), b?: (run: Run) => T): Run | T {
  const options = typeof a === 'function' ? {} : (a ?? {});
  const fn = typeof a === 'function' ? a : b;
  const run = begin(options);
  if (fn === undefined) return run;
  let result: T;
  try {
    result = fn(run);
  } catch (e) {
    finish(run, 'FAILED');
    throw e;
  }
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    return (result as unknown as Promise<unknown>).then(
      (v) => {
        finish(run, 'FINISHED');
        return v;
      },
      (e: unknown) => {
        finish(run, 'FAILED');
        throw e;
      },
    ) as T;
  }
  finish(run, 'FINISHED');
  return result;
}

/** The innermost active run, if any. */
export function activeRun(): Run | undefined {
  return activeRuns.at(-1);
}

/** Ends the innermost active run (default FINISHED). No-op without one. */
export function endRun(status: EndStatus = 'FINISHED'): void {
  const run = activeRuns.at(-1);
  if (run !== undefined) finish(run, status);
}

/** The active run, or a new one when there is none (what logging calls without an active run do, as in MLflow). */
export function ensureActiveRun(): Run {
  return activeRuns.at(-1) ?? begin({});
}

/** Logs a param on the active run. */
export function logParam(key: string, value: unknown): void {
  ensureActiveRun().logParam(key, value);
}

/** Logs params on the active run. */
export function logParams(params: Record<string, unknown>): void {
  ensureActiveRun().logParams(params);
}

/** Logs a metric point on the active run (step defaults to 0). */
export function logMetric(key: string, value: number, step?: number | LogMetricOptions): void {
  ensureActiveRun().logMetric(key, value, step);
}

/** Logs metrics at one step on the active run. */
export function logMetrics(metrics: Record<string, number>, step?: number | LogMetricOptions): void {
  ensureActiveRun().logMetrics(metrics, step);
}

/** Sets a tag on the active run. */
export function setTag(key: string, value: unknown): void {
  ensureActiveRun().setTag(key, value);
}

/** Sets tags on the active run. */
export function setTags(tags: Record<string, unknown>): void {
  ensureActiveRun().setTags(tags);
}

/** Deletes a tag of the active run. */
export function deleteTag(key: string): void {
  ensureActiveRun().deleteTag(key);
}

/** Copies a file (or folder) into the active run's artifacts. */
export function logArtifact(localPath: string, artifactPath?: string): void {
  ensureActiveRun().logArtifact(localPath, artifactPath);
}

/** Copies a folder's contents into the active run's artifacts. */
export function logArtifacts(localDir: string, artifactPath?: string): void {
  ensureActiveRun().logArtifacts(localDir, artifactPath);
}

/** Records datasets the active run used (MLflow's `log_input`). */
export function logInputs(inputs: readonly DatasetInput[]): void {
  ensureActiveRun().logInputs(inputs);
}

/** Writes text as an artifact file of the active run. */
export function logText(text: string, artifactFile: string): void {
  ensureActiveRun().logText(text, artifactFile);
}

/** Writes a JSON/YAML artifact file of the active run. */
export function logDict(value: unknown, artifactFile: string): void {
  ensureActiveRun().logDict(value, artifactFile);
}

/** `file://` URI of the active run's artifacts (or a path inside them). */
export function getArtifactUri(artifactPath?: string): string {
  return ensureActiveRun().getArtifactUri(artifactPath);
}

// ---- registry ----

/** Registers a model URI (runs:/..., models:/..., a folder) as a new version of `name`. */
export function registerModel(
  modelUri: string,
  name: string,
  options: { tags?: Record<string, unknown>; description?: string } = {},
): ModelVersion {
  return registry.registerModel(getStore(), modelUri, name, options);
}

/** Creates a registered model. */
export function createRegisteredModel(
  name: string,
  options: { tags?: Record<string, unknown>; description?: string } = {},
): RegisteredModel {
  return registry.createRegisteredModel(getStore(), name, options);
}

/** Creates a model version from a source URI. */
export function createModelVersion(
  name: string,
  source: string,
  options: { runId?: string; tags?: Record<string, unknown>; description?: string; runLink?: string } = {},
): ModelVersion {
  return registry.createModelVersion(getStore(), name, source, options);
}

/** A registered model. */
export function getRegisteredModel(name: string): RegisteredModel {
  return registry.getRegisteredModel(getStore(), name);
}

/** Registered models matching a filter (e.g. `name LIKE 'informer%'`). */
export function searchRegisteredModels(filter?: string): RegisteredModel[] {
  return registry.searchRegisteredModels(getStore(), filter);
}

/** Model versions matching a filter (e.g. `name = 'informer'`). */
export function searchModelVersions(filter?: string): ModelVersion[] {
  return registry.searchModelVersions(getStore(), filter);
}

/** Deletes a registered model and its versions. */
export function deleteRegisteredModel(name: string): void {
  registry.deleteRegisteredModel(getStore(), name);
}

/** One model version. */
export function getModelVersion(name: string, version: number | string): ModelVersion {
  return registry.getModelVersion(getStore(), name, version);
}

/** The latest (highest, not deleted) version of a registered model (cogflow's get_model_latest_version). */
export function getModelLatestVersion(name: string): ModelVersion {
  return registry.getLatestModelVersion(getStore(), name);
}

/** The source URI of a model version (cogflow's get_model_uri). */
export function getModelUri(name: string, version: number | string): string {
  return registry.getModelVersion(getStore(), name, version).source;
}

/** Points an alias at a version (models:/<name>/@<alias>). */
export function setAlias(name: string, alias: string, version: number | string): void {
  registry.setRegisteredModelAlias(getStore(), name, alias, version);
}

/** Removes an alias. */
export function deleteAlias(name: string, alias: string): void {
  registry.deleteRegisteredModelAlias(getStore(), name, alias);
}

/** The version an alias points at. */
export function getModelVersionByAlias(name: string, alias: string): ModelVersion {
  return registry.getModelVersionByAlias(getStore(), name, alias);
}

/** Sets a tag on a registered model. */
export function setRegisteredModelTag(name: string, key: string, value: unknown): void {
  registry.setRegisteredModelTag(getStore(), name, key, value);
}

/** Sets a tag on a model version. */
export function setModelVersionTag(name: string, version: number | string, key: string, value: unknown): void {
  registry.setModelVersionTag(getStore(), name, version, key, value);
}

/** Deletes one version of a registered model (its aliases go with it). */
export function deleteModelVersion(name: string, version: number | string): void {
  registry.deleteModelVersion(getStore(), name, version);
}

/** Moves a model version to a stage (None, Staging, Production, Archived). */
export function transitionModelVersionStage(
  name: string,
  version: number | string,
  stage: string,
  archiveExistingVersions = false,
): ModelVersion {
  return registry.transitionModelVersionStage(getStore(), name, version, stage, archiveExistingVersions);
}

// ---- reading ----

/** A run with its params, latest metrics and tags. */
export function getRun(runId: string): RunRecord {
  return reader.getRun(getStore(), runId);
}

/** Runs matching a filter (default: all active runs, newest first). */
export function searchRuns(options: reader.SearchRunsOptions = {}): RunRecord[] {
  return reader.searchRuns(getStore(), options);
}

/** Experiments matching a filter. */
export function searchExperiments(options: reader.SearchExperimentsOptions = {}): Experiment[] {
  return reader.searchExperiments(getStore(), options);
}

/** Every logged point of a metric. */
export function getMetricHistory(runId: string, key: string): Metric[] {
  return reader.getMetricHistory(getStore(), runId, key);
}

/** Params and latest metrics of runs side by side. */
export function compareRuns(runIds: string[], options: { params?: string[]; metrics?: string[] } = {}): reader.RunComparison {
  return reader.compareRuns(getStore(), runIds, options);
}
