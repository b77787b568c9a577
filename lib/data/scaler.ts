// Per-column standardisation as the reference's own StandardScaler (utils/tools.py): mean and population
// standard deviation (ddof 0), fitted on the training rows only so validation and test data never leak
// into the statistics (Informer2020 issue #41).

import { ShapeError, ValueError } from '../errors.js';

export interface ScalerJSON {
  mean: number[];
  std: number[];
}

type Values = Float32Array | Float64Array;

export class StandardScaler {
  /** Per-column mean (empty until fit). */
  mean: Float64Array = new Float64Array(0);
  /** Per-column population standard deviation, with 0 replaced by 1 (empty until fit). */
  std: Float64Array = new Float64Array(0);

  /** Number of fitted columns (0 before fit). */
  get size(): number {
    return this.mean.length;
  }

  /** Fits mean and std of each column over rows [start, end) (default: all rows). */
  fit(columns: readonly Float64Array[], rows?: readonly [number, number]): this {
    if (!Array.isArray(columns) || columns.length === 0) throw new ValueError('StandardScaler.fit: need at least one column');
    const n = columns[0]!.length;
    columns.forEach((c, i) => {
      if (!(c instanceof Float64Array || c instanceof Float32Array))
        throw new ValueError(`StandardScaler.fit: column ${i} must be a Float64Array`);
      if (c.length !== n) throw new ShapeError(`StandardScaler.fit: column ${i} has ${c.length} rows, column 0 has ${n}`);
    });
    const [start, end] = rows ?? [0, n];
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > n || end <= start) {
      throw new ValueError(`StandardScaler.fit: rows [${start}, ${end}) must be a non-empty range within [0, ${n})`);
    }
    const count = end - start;
    this.mean = new Float64Array(columns.length);
    this.std = new Float64Array(columns.length);
    columns.forEach((c, j) => {
      // Two passes: the mean first, then squared deviations, which is accurate for large offsets.
      let sum = 0;
      for (let r = start; r < end; r++) sum += c[r]!;
      const mean = sum / count;
      let ss = 0;
      for (let r = start; r < end; r++) ss += (c[r]! - mean) ** 2;
      const std = Math.sqrt(ss / count);
      if (!Number.isFinite(mean) || !Number.isFinite(std))
        throw new ValueError(`StandardScaler.fit: column ${j} has non-finite values in rows [${start}, ${end})`);
      this.mean[j] = mean;
      // A constant training column would divide by zero (the reference gives NaN/Inf); 1 leaves it
      // merely centred, as sklearn does.
      this.std[j] = std === 0 ? 1 : std;
    });
    return this;
  }

  /** Standardised copies of whole columns: (x - mean) / std. */
  transformColumns(columns: readonly Float64Array[]): Float64Array[] {
    this.checkFitted('transformColumns');
    if (columns.length !== this.size)
      throw new ShapeError(`StandardScaler.transformColumns: got ${columns.length} columns, fitted ${this.size}`);
    return columns.map((c, j) => {
      const out = new Float64Array(c.length);
      const [m, s] = [this.mean[j]!, this.std[j]!];
      for (let r = 0; r < c.length; r++) out[r] = (c[r]! - m) / s;
      return out;
    });
  }

  /** (x - mean) / std on row-major values whose last axis has `channels` entries (see inverseTransform). */
  transform<T extends Values>(values: T, channels: number): T {
    return this.apply(values, channels, 'transform', (x, m, s) => (x - m) / s);
  }

  /**
   * x * std + mean on row-major values [..., channels]. With as many channels as fitted columns each
   * channel uses its own column; with 1 channel (features 'MS': the target only) the LAST column's
   * statistics, like the reference's inverse_transform; other counts throw ShapeError.
   */
  inverseTransform<T extends Values>(values: T, channels: number): T {
    return this.apply(values, channels, 'inverseTransform', (x, m, s) => x * s + m);
  }

  toJSON(): ScalerJSON {
    return { mean: Array.from(this.mean), std: Array.from(this.std) };
  }

  static fromJSON(json: ScalerJSON): StandardScaler {
    const ok = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (json === null || typeof json !== 'object' || !ok(json.mean) || !ok(json.std) || json.mean.length !== json.std.length) {
      throw new ValueError('StandardScaler.fromJSON: expected { mean: number[], std: number[] } of equal length with finite entries');
    }
    if (json.std.some((s) => s <= 0)) throw new ValueError('StandardScaler.fromJSON: std entries must be > 0');
    const s = new StandardScaler();
    s.mean = Float64Array.from(json.mean);
    s.std = Float64Array.from(json.std);
    return s;
  }

  private checkFitted(what: string): void {
    if (this.size === 0) throw new ValueError(`StandardScaler.${what}: the scaler is not fitted`);
  }

  private apply<T extends Values>(values: T, channels: number, what: string, f: (x: number, m: number, s: number) => number): T {
    this.checkFitted(what);
    if (!(values instanceof Float32Array || values instanceof Float64Array)) {
      throw new ValueError(`StandardScaler.${what}: values must be a Float32Array or Float64Array`);
    }
    if (!Number.isSafeInteger(channels) || channels < 1 || values.length % channels !== 0) {
      throw new ShapeError(`StandardScaler.${what}: ${values.length} values are not a whole number of rows of ${channels} channels`);
    }
    let offset = 0;
    if (channels !== this.size) {
      if (channels !== 1) {
        throw new ShapeError(
          `StandardScaler.${what}: ${channels} channels, but the scaler was fitted on ${this.size} columns (pass all of them, or 1 for the target)`,
        );
      }
      offset = this.size - 1;
    }
    const out = new (values.constructor as new (n: number) => T)(values.length);
    for (let i = 0; i < values.length; i++) {
      const j = offset + (i % channels);
      out[i] = f(values[i]!, this.mean[j]!, this.std[j]!);
    }
    return out;
  }
}
