// Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel Hyperparameter
// Tuning", MLSys 2020, algorithm 2), as a pure function of the trials' results so that a resumed
// search recomputes exactly where it was. Rung k trains a trial to rungs[k] epochs; whenever a worker
// is free, the highest rung with a trial in the top 1/eta of its finished results that has not moved
// on yet promotes it to the next rung; otherwise a new trial starts at rung 0.
import { ConfigError } from '../errors.js';

/** What the scheduler needs to know of one trial. */
export interface AshaTrial {
  /** Objective (lower is better) after each finished rung, in rung order. */
  results: number[];
  /** The rung this trial is training for now, or null. */
  running: number | null;
  /** Will not train further (stopped early, failed, or at the last rung). */
  final: boolean;
}

export type AshaJob = { kind: 'promote'; trial: number; rung: number } | { kind: 'new'; rung: 0 };

/**
 * Epochs of each rung: minEpochs * eta^k below maxEpochs, then maxEpochs ([1, 3, 9] for 1, 9, 3;
 * [1, 3, 6] for 1, 6, 3; [4] when minEpochs = maxEpochs = 4).
 */
export function rungEpochs(minEpochs: number, maxEpochs: number, eta: number): number[] {
  if (!Number.isSafeInteger(minEpochs) || minEpochs < 1) throw new ConfigError(`minEpochs must be an integer >= 1, got ${minEpochs}`);
  if (!Number.isSafeInteger(maxEpochs) || maxEpochs < minEpochs)
    throw new ConfigError(`maxEpochs must be an integer >= minEpochs (${minEpochs}), got ${maxEpochs}`);
  if (!Number.isSafeInteger(eta) || eta < 2) throw new ConfigError(`eta (the reduction factor) must be an integer >= 2, got ${eta}`);
  const rungs: number[] = [];
  for (let r = minEpochs; r < maxEpochs; r *= eta) rungs.push(r);
  rungs.push(maxEpochs);
  return rungs;
}

/**
 * The next job for a free worker: a promotion (highest rung first, best result first among the top
 * floor(n_k / eta) of rung k that have not moved on), else a new trial when `canStartNew`, else null
 * (wait for running trials, or the search is over when none are running).
 */
export function nextAshaJob(trials: readonly AshaTrial[], rungCount: number, eta: number, canStartNew: boolean): AshaJob | null {
  for (let k = rungCount - 2; k >= 0; k--) {
    const finished = trials
      .map((t, i) => ({ t, i }))
      .filter(({ t }) => t.results.length > k)
      .sort((a, b) => (a.t.results[k] as number) - (b.t.results[k] as number) || a.i - b.i);
    const top = finished.slice(0, Math.floor(finished.length / eta));
    for (const { t, i } of top) {
      const movedOn = t.results.length > k + 1 || t.running === k + 1;
      if (!movedOn && !t.final && t.running === null) return { kind: 'promote', trial: i, rung: k + 1 };
    }
  }
  return canStartNew ? { kind: 'new', rung: 0 } : null;
}
