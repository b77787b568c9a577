// Forecast metrics of the reference (utils/metrics.py) plus R², over all elements.

import { ShapeError, ValueError } from '../errors.js';
import { assertFinite } from '../tensor.js';

export interface ForecastMetrics {
  mae: number;
  mse: number;
  rmse: number;
  /** mean |(p − t) / t|: blows up near zero targets (and z-scored targets are often near zero). */
  mape: number;
  /** mean ((p − t) / t)². */
  mspe: number;
  /** 1 − SS_res / SS_tot. */
  r2: number;
}

/**
 * MAE, MSE, RMSE, MAPE, MSPE (reference formulas, no element skipped) and R² of `pred` against `truth`
 * (same length, any shape flattened). A target of exactly 0 makes MAPE/MSPE Infinity when its error is
 * nonzero (numpy would give inf or NaN) and contributes 0 when the prediction is exact. R² of a constant
 * truth is 1 for an exact prediction, else 0 (sklearn's convention), instead of dividing by zero.
 */
export function forecastMetrics(pred: Float32Array | Float64Array, truth: Float32Array | Float64Array): ForecastMetrics {
  const n = truth?.length;
  if (pred?.length !== n) throw new ShapeError(`forecastMetrics: pred has ${pred?.length} values, truth has ${n}`);
  if (n === 0) throw new ValueError('forecastMetrics: no values');
  assertFinite('forecastMetrics pred', pred);
  assertFinite('forecastMetrics truth', truth);
  let abs = 0;
  let sq = 0;
  let ape = 0;
  let spe = 0;
  let sumT = 0;
  for (let i = 0; i < n; i++) {
    const t = truth[i]!;
    const e = pred[i]! - t;
    abs += Math.abs(e);
    sq += e * e;
    sumT += t;
    if (e !== 0) {
      const r = e / t; // ±Infinity when t is 0
      ape += Math.abs(r);
      spe += r * r;
    }
  }
  const meanT = sumT / n;
  let ssTot = 0;
  for (let i = 0; i < n; i++) ssTot += (truth[i]! - meanT) ** 2;
  const mse = sq / n;
  return {
    mae: abs / n,
    mse,
    rmse: Math.sqrt(mse),
    mape: ape / n,
    mspe: spe / n,
    r2: ssTot === 0 ? (sq === 0 ? 1 : 0) : 1 - sq / ssTot,
  };
}
