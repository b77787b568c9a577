// A profile of the training data (per column: mean, std and the 101 percentiles, in data units) and
// the drift statistics that compare served inputs with it: the population stability index over the
// training deciles, and the Kolmogorov-Smirnov distance to the training distribution.
import { ValueError } from '../errors.js';
import type { ForecastDataset } from './dataset.js';

export interface ColumnProfile {
  mean: number;
  std: number;
  /** Percentiles 0, 1, ..., 100 of the training rows. */
  quantiles: number[];
}

export type DataProfile = Record<string, ColumnProfile>;

function percentiles(sorted: Float64Array): number[] {
  const n = sorted.length;
  return Array.from({ length: 101 }, (_, p) => {
    const pos = (p / 100) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  });
}

/** The profile of the training rows of `ds`, in data units (the scaling undone). */
export function profileDataset(ds: ForecastDataset): DataProfile {
  const [start, end] = ds.borders.train;
  const n = end - start;
  const out: DataProfile = {};
  ds.columns.forEach((name, c) => {
    const col = new Float64Array(n);
    const mean = ds.scaler?.mean[c] ?? 0;
    const std = ds.scaler?.std[c] ?? 1;
    for (let r = 0; r < n; r++) col[r] = ds.values[(start + r) * ds.encIn + c]! * std + mean;
    let sum = 0;
    for (const v of col) sum += v;
    const m = sum / n;
    let sq = 0;
    for (const v of col) sq += (v - m) ** 2;
    col.sort();
    out[name] = { mean: m, std: Math.sqrt(sq / n), quantiles: percentiles(col) };
  });
  return out;
}

/** Checks a profile read from a file. */
export function checkProfile(p: unknown, columns: readonly string[], where: string): DataProfile {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new ValueError(`${where} must be an object`);
  const out: DataProfile = {};
  for (const name of columns) {
    const c = (p as Record<string, unknown>)[name] as ColumnProfile | undefined;
    const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
    if (
      !c ||
      !finite(c.mean) ||
      !finite(c.std) ||
      !Array.isArray(c.quantiles) ||
      c.quantiles.length !== 101 ||
      !c.quantiles.every(finite)
    ) {
      throw new ValueError(`${where}.${name} must be { mean, std, quantiles: 101 finite numbers }`);
    }
    out[name] = { mean: c.mean, std: c.std, quantiles: [...c.quantiles] };
  }
  return out;
}

/**
 * Population stability index of `served` against the training deciles: sum over the ten bins of
 * (a - e) ln(a / e), e = 0.1 each, a = the share of served values in the bin (1e-4 at least).
 * Below 0.1: stable; 0.1 to 0.2: some shift; above 0.2: a significant shift.
 */
export function psi(profile: ColumnProfile, served: ArrayLike<number>): number {
  const edges = Array.from({ length: 9 }, (_, i) => profile.quantiles[(i + 1) * 10]!);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < served.length; i++) {
    const v = served[i]!;
    let b = 0;
    while (b < 9 && v > edges[b]!) b++;
    counts[b]!++;
  }
  let total = 0;
  for (const c of counts) {
    const a = Math.max(c / served.length, 1e-4);
    total += (a - 0.1) * Math.log(a / 0.1);
  }
  return total;
}

/** The training CDF at x, from the percentiles (linear between them). */
function trainCdf(q: readonly number[], x: number): number {
  if (x < q[0]!) return 0;
  if (x >= q[100]!) return 1;
  let lo = 0;
  let hi = 100;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (q[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const span = q[hi]! - q[lo]!;
  return (lo + (span > 0 ? (x - q[lo]!) / span : 0)) / 100;
}

/** Kolmogorov-Smirnov distance: the largest gap between the served and the training CDFs. */
export function ksDistance(profile: ColumnProfile, served: ArrayLike<number>): number {
  const sorted = Float64Array.from(served).sort();
  const n = sorted.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = trainCdf(profile.quantiles, sorted[i]!);
    d = Math.max(d, Math.abs((i + 1) / n - f), Math.abs(i / n - f));
  }
  return d;
}
