// What a pipeline step is: a function from its input artifacts (folders written by earlier steps) to
// its output artifacts (folders it writes), with its own run for params, metrics and tags. The same
// functions run locally (runner.ts: outputs inside each step's run) and in Kubeflow Pipelines
// (`informer pipeline step`: inputs and outputs at the paths KFP gives).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { FormatError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { Run } from '../tracking/run.js';
import type { RunStore } from '../tracking/store.js';
import type { PipelineSpec } from './spec.js';

export const STEP_NAMES = ['preprocess', 'train', 'evaluate', 'register', 'export', 'deploy'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** Artifact kinds (KFP schema titles) passed between steps. */
export type ArtifactKind = 'system.Dataset' | 'system.Model' | 'system.Metrics' | 'system.Artifact';

export interface StepDefinition {
  name: StepName;
  description: string;
  inputs: readonly string[];
  outputs: Readonly<Record<string, ArtifactKind>>;
  /** A finished run of this step with the same inputs (by digest) and settings may be reused. */
  reusable: boolean;
  /** The part of the spec this step's result depends on (its cache key includes it). */
  settings(spec: PipelineSpec): unknown;
  /** Files outside the pipeline's artifacts that the step reads (their contents key its reuse). */
  sources?(spec: PipelineSpec): string[];
}

/** Which artifact each step consumes and produces. */
export const ARTIFACTS: Readonly<Record<string, ArtifactKind>> = {
  dataset: 'system.Dataset',
  model: 'system.Model',
  metrics: 'system.Metrics',
  registration: 'system.Artifact',
  export: 'system.Artifact',
  deployment: 'system.Artifact',
};

export interface StepContext {
  spec: PipelineSpec;
  store: RunStore;
  /** This step's run (parent: the pipeline's run). */
  run: Run;
  /** Folder of an input artifact. */
  input(name: string): string;
  /** Folder to write an output artifact into (not created yet). */
  output(name: string): string;
  log(line: string): void;
  signal?: AbortSignal;
  /** Only this series of a fleet (a KFP ParallelFor iteration); default every series. */
  series?: string;
  /** An input artifact that may be absent (undefined then), e.g. the fleet's global model. */
  optionalInput?(name: string): string | undefined;
}

/** What a step reports besides its artifacts: shown in the summary, kept in the step's outputs.json. */
export interface StepReport {
  /** URIs worth printing (models:/, runs:/, folders, service URLs). */
  uris: Record<string, string>;
  /** A one-line summary. */
  summary: string;
}

export type StepFn = (ctx: StepContext) => Promise<StepReport>;

/** Reads a JSON file an earlier step wrote; a missing or broken one is a FormatError naming it. */
export function readJson<T>(dir: string, file: string): T {
  const p = join(dir, file);
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as T;
  } catch (e) {
    throw new FormatError(`${p}: missing or not JSON (${(e as Error).message}); was the artifact written by this pipeline?`, { cause: e });
  }
}

export function writeJson(dir: string, file: string, value: unknown): void {
  writeFileAtomic(join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
}
