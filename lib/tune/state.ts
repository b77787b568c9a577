// The state of a search, kept as `tune/state.json` in the parent run's artifacts and rewritten
// (atomically) after every change, so that a search interrupted at any point resumes from it: the
// space and settings, every trial's settings, run, per-rung results and what it was doing.
import * as fs from 'node:fs';

import { FormatError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { Run } from '../tracking/run.js';
import type { SearchSpace, TrialParams } from './space.js';
import type { TuneTask } from './trial.js';

export const STATE_ARTIFACT = 'tune/state.json';
const VERSION = 1;

export type TrialStatus = 'running' | 'paused' | 'completed' | 'failed' | 'interrupted';

export interface TrialRecord {
  id: number;
  runId: string;
  params: TrialParams;
  /** Best validation loss after each finished rung. */
  results: number[];
  /** The rung it is training for (also when interrupted there), else null. */
  running: number | null;
  /** Trains no further: the last rung, stopped early, or failed. */
  final: boolean;
  status: TrialStatus;
  /** Epochs trained so far. */
  epochs: number;
  /** Per-epoch losses (for the plots of the best trial). */
  history: { epoch: number; trainLoss: number; valLoss: number; lr: number }[];
  error?: string;
}

export interface TuneSettings {
  /** Epochs of each rung (rungEpochs(minEpochs, maxEpochs, eta)). */
  rungs: number[];
  eta: number;
  /** New trials stop after this many (null: only the time budget limits them). */
  maxTrials: number | null;
  /** Seconds of search over all sessions (null: no limit). */
  timeBudget: number | null;
  seed: number;
  /** The data file, when the search was given one (a resumed search reads it again). */
  dataPath: string | null;
}

export interface TuneState {
  version: number;
  space: SearchSpace;
  task: TuneTask;
  settings: TuneSettings;
  /** Seconds searched in earlier sessions. */
  elapsedSeconds: number;
  trials: TrialRecord[];
  finished: boolean;
}

export function newState(space: SearchSpace, task: TuneTask, settings: TuneSettings): TuneState {
  return { version: VERSION, space, task, settings, elapsedSeconds: 0, trials: [], finished: false };
}

// JSON has no Infinity: a failed or diverged trial's loss is written as null.
const encode = (state: TuneState): string =>
  JSON.stringify(state, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));

export function saveState(run: Run, state: TuneState): void {
  writeFileAtomic(run.artifactDir(STATE_ARTIFACT), encode(state));
}

export function loadState(run: Run): TuneState {
  const file = run.artifactDir(STATE_ARTIFACT);
  let state: TuneState;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as TuneState;
  } catch (e) {
    throw new FormatError(`run ${run.runId} has no readable search state (${STATE_ARTIFACT}): is it a tune run? ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (state.version !== VERSION || !Array.isArray(state.trials))
    throw new FormatError(`${file}: unsupported search state (version ${String(state.version)})`);
  for (const t of state.trials) t.results = t.results.map((r) => (r === null ? Infinity : r));
  return state;
}
