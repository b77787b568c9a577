// Sliding forecast windows over a Table, as the reference Dataset_ETT_hour / Dataset_ETT_minute /
// Dataset_Custom (data/data_loader.py) and the batch step of exp/exp_informer.py (_process_one_batch):
// channel order, split borders, train-only scaling, time marks, decoder input and target slicing.

import { ConfigError, ValueError } from '../errors.js';
import type { Embed, InformerConfig } from '../config.js';
import { markColumns } from '../config.js';
import type { Tensor } from '../tensor.js';
import type { Table } from './table.js';
import { StandardScaler } from './scaler.js';
import { inferFreq, timeFeatures } from './time-features.js';
import { assembleWindows, type WindowBatch } from './windows.js';

export type { WindowBatch } from './windows.js';

export type Features = 'S' | 'M' | 'MS';
export type SplitName = 'train' | 'val' | 'test';
export type SplitSpec = 'ett-hour' | 'ett-minute' | { train: number; val: number; test: number };

export interface DatasetOptions {
  /** M: all channels → all; S: target → target; MS: all → target. */
  features: Features;
  target: string;
  seqLen: number;
  labelLen: number;
  predLen: number;
  /** Default: inferred from the dates (inferFreq). */
  freq?: string;
  /** Default 'timeF'. */
  embed?: Embed;
  /**
   * 'ett-hour': 12/4/4 months of 30 days (first 14400 rows); 'ett-minute': the same ×4 (57600 rows);
   * ratios: train = floor(N·train), test = floor(N·test), val = the rest when the ratios sum to 1, else
   * floor(N·val) and the unused rows are the last ones. Default { train: 0.7, val: 0.1, test: 0.2 }.
   */
  split?: SplitSpec;
  /** Standardise with statistics of the train rows (default true). */
  scale?: boolean;
  /** Value of the decoder input padding steps: 0 zeros (default), 1 ones. */
  padding?: 0 | 1;
  /** Input columns for M/MS (the reference's cols); default all numeric columns. The target is always last. */
  columns?: string[];
}

/** Model inputs of a batch of windows (Float32 Tensors; compatible with the model's Batch). */

export interface WindowSample {
  batch: WindowBatch;
  /** [B, predLen, cOut]: y's last predLen steps, the target channel only for MS. */
  target: Tensor<Float32Array>;
}

const SPLITS: readonly SplitName[] = ['train', 'val', 'test'];

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? JSON.stringify(v) : String(v);
}

/** The windows of one split: window i covers rows start+i .. start+i+seqLen+predLen-1. */
export class WindowSplit {
  /** Number of windows: rows − seqLen − predLen + 1. */
  readonly length: number;

  constructor(
    private readonly ds: ForecastDataset,
    readonly name: SplitName,
    /** First row of the split (border1). */
    readonly start: number,
    /** One past the last row (border2). */
    readonly end: number,
  ) {
    this.length = end - start - ds.seqLen - ds.predLen + 1;
  }

  private rows(indices: readonly number[]): number[] {
    if (!Array.isArray(indices)) throw new ValueError(`${this.name} split: indices must be an array of window indices`);
    return indices.map((i, k) => {
      if (!Number.isSafeInteger(i) || i < 0 || i >= this.length) {
        throw new ValueError(`${this.name} split: window index ${show(i)} (position ${k}) is out of range [0, ${this.length})`);
      }
      return this.start + i;
    });
  }

  /** Model inputs and target of the given windows, in order. */
  batch(indices: readonly number[]): WindowSample {
    const ds = this.ds;
    const { seqLen, predLen } = ds;
    const C = ds.encIn;
    const starts = this.rows(indices);
    const B = starts.length;
    const batch = assembleWindows(ds.values, ds.marks, starts, {
      seqLen,
      labelLen: ds.labelLen,
      predLen,
      channels: C,
      nMark: ds.nMark,
      padding: ds.padding,
    });
    // target = batch_y[:, -pred_len:, f_dim:] with f_dim = -1 for MS, else 0
    const target = new Float32Array(B * predLen * ds.cOut);
    starts.forEach((s, b) => {
      const sEnd = s + seqLen;
      if (ds.features === 'MS') {
        for (let t = 0; t < predLen; t++) target[b * predLen + t] = ds.values[(sEnd + t) * C + C - 1]!;
      } else {
        target.set(ds.values.subarray(sEnd * C, (sEnd + predLen) * C), b * predLen * C);
      }
    });
    return { batch, target: { data: target, shape: [B, predLen, ds.cOut] } };
  }

  /** Persistence forecast [B, predLen, cOut]: each target channel's last encoder value, repeated. */
  naiveBatch(indices: readonly number[]): Float32Array {
    const ds = this.ds;
    const { seqLen, predLen, cOut } = ds;
    const C = ds.encIn;
    const off = C - cOut; // MS: only the last (target) channel
    const starts = this.rows(indices);
    const out = new Float32Array(starts.length * predLen * cOut);
    starts.forEach((s, b) => {
      const last = (s + seqLen - 1) * C + off;
      for (let t = 0; t < predLen; t++) {
        for (let c = 0; c < cOut; c++) out[(b * predLen + t) * cOut + c] = ds.values[last + c]!;
      }
    });
    return out;
  }

  /** Dates (epoch ms) of window i's predLen prediction steps. */
  windowDates(i: number): Float64Array {
    const [s] = this.rows([i]);
    const from = s! + this.ds.seqLen;
    return this.ds.dates.slice(from, from + this.ds.predLen);
  }
}

/** Borders [start, end) of train, val and test (REFERENCE.md 7a). */
function borders(split: SplitSpec, n: number, seqLen: number): [number, number][] {
  if (split === 'ett-hour' || split === 'ett-minute') {
    const month = 30 * 24 * (split === 'ett-minute' ? 4 : 1);
    const [a, b, c] = [12 * month, 16 * month, 20 * month];
    if (n < c) {
      throw new ConfigError(`split "${split}" needs at least ${c} rows (12/4/4 months of 30 days), the table has ${n}`);
    }
    return [
      [0, a],
      [a - seqLen, b],
      [b - seqLen, c],
    ];
  }
  if (split === null || typeof split !== 'object') {
    throw new ConfigError(`split must be "ett-hour", "ett-minute" or { train, val, test } ratios, got ${show(split)}`);
  }
  const r = split;
  for (const k of SPLITS) {
    const v = r[k];
    if (typeof v !== 'number' || !(v > 0 && v <= 1)) throw new ConfigError(`split.${k} must be a ratio in (0, 1], got ${show(v)}`);
  }
  const sum = r.train + r.val + r.test;
  if (sum > 1 + 1e-9) throw new ConfigError(`split ratios must sum to at most 1, got ${r.train} + ${r.val} + ${r.test} = ${sum}`);
  const nTrain = Math.floor(n * r.train);
  const nTest = Math.floor(n * r.test);
  // Ratios summing to 1 are the reference Dataset_Custom (val = the rest); otherwise the rows after
  // train + val + test stay unused, like the tail of the ETT files.
  const nVal = Math.abs(sum - 1) <= 1e-9 ? n - nTrain - nTest : Math.floor(n * r.val);
  const used = nTrain + nVal + nTest;
  return [
    [0, nTrain],
    [nTrain - seqLen, nTrain + nVal],
    [used - nTest - seqLen, used],
  ];
}

function posInt(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new ConfigError(`${name} must be an integer >= ${min}, got ${show(v)}`);
  return v;
}

export class ForecastDataset {
  readonly features: Features;
  readonly target: string;
  readonly seqLen: number;
  readonly labelLen: number;
  readonly predLen: number;
  readonly freq: string;
  readonly embed: Embed;
  readonly padding: 0 | 1;
  /** Model channel order: [others..., target] for M/MS, [target] for S. */
  readonly columns: string[];
  /** Index of the target in `columns` (always the last). */
  readonly targetIndex: number;
  readonly encIn: number;
  readonly decIn: number;
  readonly cOut: number;
  /** Time-mark columns T. */
  readonly nMark: number;
  /** Fitted on the train rows; null when scale is false. */
  readonly scaler: StandardScaler | null;
  /** Number of rows of the table. */
  readonly rows: number;
  /** Dates of every row (epoch ms). */
  readonly dates: Float64Array;
  /** Scaled (or raw) values of every row, row-major [rows, encIn]. */
  readonly values: Float32Array;
  /** Time marks of every row, row-major [rows, nMark]. */
  readonly marks: Float32Array;
  /** [start, end) rows of train, val and test. */
  readonly borders: Readonly<Record<SplitName, readonly [number, number]>>;
  private readonly splits = new Map<SplitName, WindowSplit>();

  private constructor(table: Table, opts: DatasetOptions) {
    if (table === null || typeof table !== 'object' || !Array.isArray(table.columns) || typeof table.data !== 'object') {
      throw new ConfigError('ForecastDataset.fromTable: expected a Table from readTable() or parseCsv()');
    }
    if (opts === null || typeof opts !== 'object') throw new ConfigError('ForecastDataset.fromTable: options are required');
    const { features, target } = opts;
    if (features !== 'S' && features !== 'M' && features !== 'MS')
      throw new ConfigError(`features must be "S", "M" or "MS", got ${show(features)}`);
    this.features = features;
    this.seqLen = posInt('seqLen', opts.seqLen, 1);
    this.labelLen = posInt('labelLen', opts.labelLen, 0);
    this.predLen = posInt('predLen', opts.predLen, 1);
    if (this.labelLen > this.seqLen) {
      throw new ConfigError(
        `labelLen ${this.labelLen} is larger than seqLen ${this.seqLen}: the decoder's start token is the last labelLen steps of the encoder window`,
      );
    }
    const padding = opts.padding ?? 0;
    if (padding !== 0 && padding !== 1) throw new ConfigError(`padding must be 0 or 1, got ${show(padding)}`);
    this.padding = padding;
    if (!table.columns.includes(target)) {
      throw new ConfigError(`unknown target ${show(target)}; numeric columns: ${table.columns.map(show).join(', ')}`);
    }
    this.target = target;
    if (table.dates === null)
      throw new ConfigError('the table has no date column, and time features need dates (set dateColumn when reading it)');
    this.dates = table.dates;
    this.rows = table.length;

    let inputs = table.columns;
    if (opts.columns !== undefined) {
      if (!Array.isArray(opts.columns)) throw new ConfigError(`columns must be an array of column names, got ${show(opts.columns)}`);
      const unknown = opts.columns.filter((c) => !table.columns.includes(c));
      if (unknown.length > 0)
        throw new ConfigError(
          `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map(show).join(', ')}; numeric columns: ${table.columns.map(show).join(', ')}`,
        );
      inputs = [...new Set(opts.columns)];
    }
    this.columns = features === 'S' ? [target] : [...inputs.filter((c) => c !== target), target];
    this.targetIndex = this.columns.length - 1;
    this.encIn = this.decIn = this.columns.length;
    this.cOut = features === 'MS' ? 1 : this.encIn;

    this.freq = opts.freq ?? inferFreq(this.dates);
    this.embed = opts.embed ?? 'timeF';
    this.nMark = markColumns(this.freq, this.embed);

    const b = borders(opts.split ?? { train: 0.7, val: 0.1, test: 0.2 }, this.rows, this.seqLen);
    this.borders = { train: b[0]!, val: b[1]!, test: b[2]! };
    const need = this.seqLen + this.predLen;
    SPLITS.forEach((name, k) => {
      const [s, e] = b[k]!;
      if (s < 0 || e - s < need) {
        throw new ConfigError(
          `the ${name} split has ${Math.max(0, e - Math.max(s, 0))} rows but one window needs seqLen + predLen = ${need} ` +
            `(table: ${this.rows} rows; use more data, shorter windows or other split ratios)`,
        );
      }
    });

    const cols = this.columns.map((c) => table.data[c]!);
    const [trainStart, trainEnd] = this.borders.train;
    this.scaler = opts.scale === false ? null : new StandardScaler().fit(cols, [trainStart, trainEnd]);
    const C = this.encIn;
    this.values = new Float32Array(this.rows * C);
    for (let j = 0; j < C; j++) {
      const col = cols[j]!;
      const [m, s] = this.scaler === null ? [0, 1] : [this.scaler.mean[j]!, this.scaler.std[j]!];
      for (let r = 0; r < this.rows; r++) this.values[r * C + j] = (col[r]! - m) / s;
    }
    this.marks = timeFeatures(this.dates, this.freq, this.embed).data;
  }

  /** Builds the dataset (validates options; see DatasetOptions for defaults). */
  static fromTable(table: Table, opts: DatasetOptions): ForecastDataset {
    return new ForecastDataset(table, opts);
  }

  /** The windows of one split. */
  split(name: SplitName): WindowSplit {
    if (!SPLITS.includes(name)) throw new ConfigError(`split must be "train", "val" or "test", got ${show(name)}`);
    let s = this.splits.get(name);
    if (s === undefined) {
      const [start, end] = this.borders[name];
      s = new WindowSplit(this, name, start, end);
      this.splits.set(name, s);
    }
    return s;
  }

  /** Dates (epoch ms) of the prediction steps of window i of a split. */
  windowDates(split: SplitName, i: number): Float64Array {
    return this.split(split).windowDates(i);
  }

  /** Model-space values [..., channels] back to data units (a copy when scale is false). */
  inverse(values: Float32Array, channels: number): Float32Array {
    return this.scaler === null ? values.slice() : this.scaler.inverseTransform(values, channels);
  }

  /** The InformerConfig fields this dataset fixes. */
  modelConfig(): Pick<InformerConfig, 'seqLen' | 'labelLen' | 'predLen' | 'encIn' | 'decIn' | 'cOut' | 'freq' | 'embed' | 'padding'> {
    const { seqLen, labelLen, predLen, encIn, decIn, cOut, freq, embed, padding } = this;
    return { seqLen, labelLen, predLen, encIn, decIn, cOut, freq, embed, padding };
  }
}
