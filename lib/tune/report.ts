// What a search leaves behind in its parent run: the trials table (CSV artifact and rows for the
// terminal) and the settings-vs-loss plot.
import * as path from 'node:path';

import { writeFileAtomic } from '../fs/atomic.js';
import { tuneScatterSvg } from '../plots/tune.js';
import { writeSvgAtomic } from '../plots/render.js';
import type { Run } from '../tracking/run.js';
import type { SearchSpace } from './space.js';
import type { TrialRecord } from './state.js';

export const TABLE_ARTIFACT = 'tune/trials.csv';
export const PLOT_ARTIFACT = 'plots/tune_settings_vs_val_loss.svg';

/** The best validation loss a trial reached (Infinity when it has no finished rung). */
export function trialLoss(t: TrialRecord): number {
  return t.results.length ? Math.min(...t.results) : Infinity;
}

/** Trials by best validation loss (failed and unfinished ones last), with their searched settings. */
export function trialRows(trials: TrialRecord[], space: SearchSpace): { header: string[]; rows: (string | number)[][] } {
  const keys = Object.keys(space).sort();
  const header = ['trial', 'val_loss', 'epochs', 'status', ...keys, 'run_id'];
  const sorted = [...trials].sort((a, b) => trialLoss(a) - trialLoss(b) || a.id - b.id);
  const rows = sorted.map((t) => {
    const v = trialLoss(t);
    return [
      t.id,
      Number.isFinite(v) ? Number(v.toPrecision(5)) : '',
      t.epochs,
      t.status,
      ...keys.map((k) => {
        const p = (t.params as Record<string, unknown>)[k];
        return Array.isArray(p) ? p.join(',') : String(p);
      }),
      t.runId,
    ];
  });
  return { header, rows };
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes the table (CSV) and the plot into the parent run; returns their paths. */
export async function writeReport(run: Run, trials: TrialRecord[], space: SearchSpace): Promise<string[]> {
  const { header, rows } = trialRows(trials, space);
  const table = run.artifactDir(TABLE_ARTIFACT);
  writeFileAtomic(table, `${[header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n')}\n`);
  const done = trials.filter((t) => Number.isFinite(trialLoss(t)));
  const out = [table];
  if (done.length > 0) {
    const logKeys = Object.entries(space)
      .filter(([, d]) => d?.kind === 'loguniform')
      .map(([k]) => k);
    const plot = run.artifactDir(PLOT_ARTIFACT);
    const points = done.map((t) => ({
      trial: t.id,
      params: t.params as Record<string, number | string | boolean | number[]>,
      valLoss: trialLoss(t),
      epochs: t.epochs,
    }));
    writeSvgAtomic(plot, await tuneScatterSvg(points, { keys: Object.keys(space).sort(), logKeys }));
    out.push(path.resolve(plot));
  }
  return out;
}
