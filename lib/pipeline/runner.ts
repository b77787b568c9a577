// `informer pipeline run`: the steps in order, on this machine. The pipeline is a parent run; each
// step is a child run with its params, metrics, status, duration and its output artifacts (folders
// inside the child run, listed in pipeline/outputs.json with their digests). A step whose settings
// and input digests match a finished run of the same step is reused instead of run again (its
// outputs are referenced, not copied). `resume` continues a pipeline run: its finished steps are
// kept, the failed step and those after it run again.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

import { ConfigError } from '../errors.js';
import { getStore } from '../tracking/fluent.js';
import { getRun, searchRuns } from '../tracking/reader.js';
import type { Run } from '../tracking/run.js';
import type { RunStore } from '../tracking/store.js';
import { openStore } from '../tracking/open.js';
import type { RunRecord } from '../tracking/types.js';
import { PipelineError } from './errors.js';
import { fileDigest } from './preprocess.js';
import { dirDigest } from './files.js';
import { type PipelineSpec, isFleet } from './spec.js';
import { readJson, type StepContext, type StepName, type StepReport } from './step.js';
import { STEPS } from './steps/index.js';

export const TAG = {
  pipeline: 'informer.pipeline',
  step: 'informer.pipeline.step',
  cacheKey: 'informer.pipeline.cache_key',
  reusedFrom: 'informer.pipeline.reused_from',
  error: 'informer.pipeline.error',
} as const;

export interface PipelineRunOptions {
  /** Tracking store (default: spec.tracking.uri, else the current store). */
  store?: RunStore;
  /** Continue this pipeline run: finished steps with unchanged settings and inputs are kept. */
  resume?: string;
  /** Reuse finished runs of a step with the same inputs and settings (default true). */
  reuse?: boolean;
  /** Stop after this step. */
  until?: StepName;
  onEvent?: (e: PipelineEvent) => void;
  signal?: AbortSignal;
}

export type StepStatus = 'FINISHED' | 'FAILED' | 'REUSED' | 'KEPT';

export type PipelineEvent =
  | { type: 'start'; runId: string; experimentId: string; resumed: boolean; steps: StepName[] }
  | { type: 'step-start'; step: StepName; index: number; total: number; runId: string }
  | { type: 'step-log'; step: StepName; line: string }
  | { type: 'step-end'; step: StepName; record: StepRecord }
  | { type: 'end'; result: PipelineResult };

export interface StepRecord {
  step: StepName;
  status: StepStatus;
  runId: string;
  /** The run whose outputs were reused or kept. */
  reusedFrom?: string;
  seconds: number;
  summary: string;
  uris: Record<string, string>;
  /** Output artifact folders by name. */
  artifacts: Record<string, string>;
  error?: { name: string; message: string };
}

export interface PipelineResult {
  runId: string;
  experimentId: string;
  status: 'FINISHED' | 'FAILED' | 'KILLED';
  steps: StepRecord[];
  /** Every URI the steps reported, plus the run's. */
  uris: Record<string, string>;
  seconds: number;
  error?: { step: StepName; name: string; code?: string; message: string };
}

interface Outputs {
  step: StepName;
  artifacts: Record<string, string>;
  digests: Record<string, string>;
  report: StepReport;
}

const OUTPUTS_FILE = 'pipeline/outputs.json';

function sha(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** Settings of the pipeline as parent-run params (short values only). */
function pipelineParams(spec: PipelineSpec): Record<string, unknown> {
  const p: Record<string, unknown> = {
    pipeline: spec.name,
    data: spec.data.paths.join(',').slice(0, 6000),
    target: spec.data.target,
    features: spec.data.features,
    fill: spec.data.fill,
    series_column: spec.data.seriesColumn ?? '',
    min_skill: spec.gate.minSkill,
    registered_model: spec.register.name,
    alias: spec.register.alias,
    export_formats: spec.export.formats.join(','),
    deploy: spec.deploy.target,
  };
  for (const [k, v] of Object.entries(spec.model)) p[`model.${k}`] = v;
  for (const [k, v] of Object.entries(spec.training)) p[`training.${k}`] = v;
  return p;
}

function readOutputs(store: RunStore, runId: string): Outputs | null {
  const file = store.getRun(runId).artifactDir(OUTPUTS_FILE);
  if (!existsSync(file)) return null;
  const o = JSON.parse(readFileSync(file, 'utf8')) as Outputs;
  // Outputs whose folders are gone (or changed) cannot be reused.
  for (const [name, dir] of Object.entries(o.artifacts)) if (!existsSync(dir) || dirDigest(dir) !== o.digests[name]) return null;
  return o;
}

/** Runs (or resumes) a pipeline; resolves with its result, FAILED when a step failed (see result.error). */
export async function runPipeline(spec: PipelineSpec, options: PipelineRunOptions = {}): Promise<PipelineResult> {
  const store = options.store ?? (spec.tracking.uri !== undefined ? openStore(spec.tracking.uri) : getStore());
  const started = Date.now();
  const order = STEPS.map((s) => s.name);
  const last = options.until === undefined ? order.length - 1 : order.indexOf(options.until);
  if (last < 0) throw new ConfigError(`until: unknown step ${JSON.stringify(options.until)}; steps: ${order.join(', ')}`);
  const steps = STEPS.slice(0, last + 1);
  let parent: Run;
  let kept: RunRecord[] = [];
  if (options.resume !== undefined) {
    parent = store.getRun(options.resume);
    const rec = searchRuns(store, {
      experimentIds: [parent.info.experimentId],
      filter: `tags."mlflow.parentRunId" = '${parent.info.runId}'`,
    });
    if (parent.info.status === 'RUNNING' && !store.isOrphaned(parent.info.runId))
      throw new ConfigError(`pipeline run ${options.resume} is still running (its process is alive)`);
    const tags = getRun(store, parent.info.runId).data.tags;
    if (tags[TAG.pipeline] === undefined) throw new ConfigError(`run ${options.resume} is not a pipeline run (no ${TAG.pipeline} tag)`);
    kept = rec.filter((r) => r.info.status === 'FINISHED' && r.data.tags[TAG.step] !== undefined);
    store.updateRunInfo(parent.info.runId, { status: 'RUNNING', endTime: null });
    store.claimRun(parent.info.runId);
  } else {
    const exp = store.getOrCreateExperiment(spec.tracking.experiment);
    parent = store.createRun({
      experimentId: exp.experimentId,
      runName: `${spec.name}-${new Date(started).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`,
      tags: { [TAG.pipeline]: spec.name, 'informer.pipeline.fleet': isFleet(spec) },
    });
    parent.logParams(pipelineParams(spec));
  }
  try {
    return await runSteps(spec, store, parent, kept, steps, options, started);
  } catch (e) {
    // Not a step's failure (those end the run FAILED themselves): the store or the runner broke.
    if (parent.status === 'RUNNING') {
      parent.setTag(TAG.error, `${(e as Error).name}: ${(e as Error).message}`.slice(0, 5000));
      parent.end('FAILED');
    }
    throw e;
  }
}

async function runSteps(
  spec: PipelineSpec,
  store: RunStore,
  parent: Run,
  kept: RunRecord[],
  steps: typeof STEPS,
  options: PipelineRunOptions,
  started: number,
): Promise<PipelineResult> {
  const emit = options.onEvent ?? (() => undefined);
  parent.logDict(spec, 'pipeline/spec.json');
  emit({
    type: 'start',
    runId: parent.info.runId,
    experimentId: parent.info.experimentId,
    resumed: options.resume !== undefined,
    steps: steps.map((s) => s.name),
  });

  const artifacts: Record<string, string> = {};
  const digests: Record<string, string> = {};
  const records: StepRecord[] = [];
  const uris: Record<string, string> = { 'pipeline run': `runs:/${parent.info.runId}` };
  let failure: PipelineResult['error'];
  for (const [index, def] of steps.entries()) {
    const key = sha({
      step: def.name,
      settings: def.settings(spec),
      inputs: def.inputs.map((i) => [i, digests[i]]),
      sources: def.sources?.(spec).map((f) => (existsSync(f) ? fileDigest([f]) : f)),
    });
    const t0 = Date.now();
    // A finished run of this step with the same key: in the resumed pipeline, else (reusable steps) anywhere in the experiment.
    let source: { runId: string; outputs: Outputs; status: StepStatus } | null = null;
    for (const r of kept.filter((r) => r.data.tags[TAG.step] === def.name && r.data.tags[TAG.cacheKey] === key)) {
      const o = readOutputs(store, r.info.runId);
      if (o !== null) {
        source = { runId: r.data.tags[TAG.reusedFrom] ?? r.info.runId, outputs: o, status: 'KEPT' };
        break;
      }
    }
    if (source === null && def.reusable && options.reuse !== false) {
      const candidates = searchRuns(store, {
        experimentIds: [parent.info.experimentId],
        filter: `tags."${TAG.cacheKey}" = '${key}' and attributes.status = 'FINISHED'`,
      });
      for (const r of candidates) {
        if (r.data.tags[TAG.step] !== def.name) continue;
        const o = readOutputs(store, r.info.runId);
        if (o !== null) {
          source = { runId: r.data.tags[TAG.reusedFrom] ?? r.info.runId, outputs: o, status: 'REUSED' };
          break;
        }
      }
    }
    // A step whose outputs are taken from an earlier run: kept (this pipeline's own run, on resume)
    // or reused (a finished run with the same inputs and settings, recorded in a new child run).
    const takeOutputs = (from: NonNullable<typeof source>, rec: Pick<StepRecord, 'status' | 'runId' | 'reusedFrom' | 'seconds'>): void => {
      Object.assign(artifacts, from.outputs.artifacts);
      Object.assign(digests, from.outputs.digests);
      const full: StepRecord = {
        step: def.name,
        ...rec,
        summary: from.outputs.report.summary,
        uris: from.outputs.report.uris,
        artifacts: from.outputs.artifacts,
      };
      records.push(full);
      Object.assign(uris, prefixed(def.name, full.uris));
      emit({ type: 'step-end', step: def.name, record: full });
    };
    if (source !== null && source.status === 'KEPT') {
      const keptRun = kept.find((r) => r.data.tags[TAG.step] === def.name && r.data.tags[TAG.cacheKey] === key)!;
      takeOutputs(source, { status: 'KEPT', runId: keptRun.info.runId, seconds: 0 });
      continue;
    }
    const child = store.createRun({
      experimentId: parent.info.experimentId,
      parentRunId: parent.info.runId,
      runName: def.name,
      tags: { [TAG.step]: def.name, [TAG.cacheKey]: key, ...(source ? { [TAG.reusedFrom]: source.runId } : {}) },
    });
    emit({ type: 'step-start', step: def.name, index: index + 1, total: steps.length, runId: child.info.runId });
    if (source !== null) {
      child.logDict(source.outputs, OUTPUTS_FILE);
      child.logMetric('duration_seconds', 0);
      child.end('FINISHED');
      takeOutputs(source, { status: 'REUSED', runId: child.info.runId, reusedFrom: source.runId, seconds: (Date.now() - t0) / 1000 });
      continue;
    }
    const produced: Record<string, string> = {};
    const ctx: StepContext = {
      spec,
      store,
      run: child,
      input: (name) => {
        const dir = artifacts[name];
        if (dir === undefined)
          throw new PipelineError(`step ${def.name} needs the ${name} artifact, which no earlier step produced`, def.name);
        return dir;
      },
      output: (name) => {
        if (!(name in def.outputs)) throw new PipelineError(`step ${def.name} has no output ${name}`, def.name);
        produced[name] = child.artifactDir(`outputs/${name}`);
        return produced[name];
      },
      log: (line) => emit({ type: 'step-log', step: def.name, line }),
      signal: options.signal,
    };
    try {
      child.logParams({ step: def.name, settings_digest: sha(def.settings(spec)).slice(0, 16), ...settingsParams(def.settings(spec)) });
      const report = await def.run(ctx);
      if (options.signal?.aborted) throw new PipelineError('interrupted', def.name);
      const out: Outputs = { step: def.name, artifacts: produced, digests: {}, report };
      for (const [name, dir] of Object.entries(produced)) out.digests[name] = dirDigest(dir);
      child.logDict(out, OUTPUTS_FILE);
      const seconds = (Date.now() - t0) / 1000;
      child.logMetric('duration_seconds', seconds);
      child.end('FINISHED');
      Object.assign(artifacts, produced);
      Object.assign(digests, out.digests);
      const rec: StepRecord = {
        step: def.name,
        status: 'FINISHED',
        runId: child.info.runId,
        seconds,
        summary: report.summary,
        uris: report.uris,
        artifacts: produced,
      };
      records.push(rec);
      Object.assign(uris, prefixed(def.name, report.uris));
      emit({ type: 'step-end', step: def.name, record: rec });
    } catch (e) {
      const err = e as Error & { code?: string };
      const seconds = (Date.now() - t0) / 1000;
      child.setTag(TAG.error, `${err.name}: ${err.message}`.slice(0, 5000));
      child.logMetric('duration_seconds', seconds);
      const aborted = options.signal?.aborted === true;
      child.end(aborted ? 'KILLED' : 'FAILED');
      const rec: StepRecord = {
        step: def.name,
        status: 'FAILED',
        runId: child.info.runId,
        seconds,
        summary: err.message,
        uris: {},
        artifacts: produced,
        error: { name: err.name, message: err.message },
      };
      records.push(rec);
      failure = { step: def.name, name: err.name, ...(err.code !== undefined ? { code: err.code } : {}), message: err.message };
      emit({ type: 'step-end', step: def.name, record: rec });
      break;
    }
  }
  const status: PipelineResult['status'] = failure === undefined ? 'FINISHED' : options.signal?.aborted ? 'KILLED' : 'FAILED';
  if (failure) parent.setTag(TAG.error, `${failure.step}: ${failure.name}: ${failure.message}`.slice(0, 5000));
  parent.logMetric('duration_seconds', (Date.now() - started) / 1000);
  const result: PipelineResult = {
    runId: parent.info.runId,
    experimentId: parent.info.experimentId,
    status,
    steps: records,
    uris,
    seconds: (Date.now() - started) / 1000,
    ...(failure ? { error: failure } : {}),
  };
  parent.logDict(result, 'pipeline/summary.json');
  parent.end(status);
  emit({ type: 'end', result });
  return result;
}

/** A step's settings as params: dotted keys ('gate.minSkill'), values up to 500 characters. */
function settingsParams(settings: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
    const text = Array.isArray(settings) ? settings.join(',') : settings;
    if (prefix !== '' && text !== undefined && String(text).length <= 500) out[prefix] = text;
    return out;
  }
  for (const [k, v] of Object.entries(settings)) settingsParams(v, prefix === '' ? k : `${prefix}.${k}`, out);
  return out;
}

function prefixed(step: string, uris: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(uris).map(([k, v]) => [`${step}: ${k}`, v]));
}

/** The resolved spec a pipeline run was started with (for --resume without a file). */
export function pipelineSpecOfRun(store: RunStore, runId: string): PipelineSpec {
  return readJson<PipelineSpec>(store.getRun(runId).artifactDir('pipeline'), 'spec.json');
}
