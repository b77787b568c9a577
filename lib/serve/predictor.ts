// Predictor: raw history in, dated forecast on the original scale out. It builds exactly the inputs the
// training windows had (ForecastDataset): the last seqLen rows scaled with the training statistics,
// the decoder's last labelLen rows followed by predLen padding steps, and time features of the history
// dates plus the future dates generated from the data's frequency.

import { readFileSync } from 'node:fs';

import { formatDate, parseDate } from '../data/table.js';
import type { Table } from '../data/table.js';
import type { ForecastDataset } from '../data/dataset.js';
import { futureDates, timeFeatures } from '../data/time-features.js';
import { assembleWindows } from '../data/windows.js';
import { ConfigError, DisposedError, FormatError, ShapeError, ValueError } from '../errors.js';
import { resolveWeightsFile } from '../artifact/resolve.js';
import { Informer } from '../model.js';
import type { Batch, DeviceName } from '../model.js';
import { readSafetensors } from '../safetensors.js';
import type { Tensor } from '../tensor.js';
import { OnnxBackend } from './onnx-backend.js';
import { PREPROCESSING_KEY, preprocessingFromMetadata, resolvePreprocessing, type PreprocessingInfo } from '../artifact/preprocessing.js';

export type PredictorBackend = 'native' | 'onnx';

export interface PredictorOptions {
  /** 'native' (default): the C++ addon; 'onnx': onnxruntime-node on the exported graph. */
  backend?: PredictorBackend;
  /** onnx backend: an existing model.onnx of this model (default: export in memory). */
  onnxPath?: string;
  /** onnx backend: onnxruntime intra-op threads (default 2). */
  intraOpThreads?: number;
  /** native backend, models this Predictor loads: 'cpu' (default), 'cuda' or 'auto' (see Informer). */
  device?: DeviceName;
}

/**
 * Raw history, oldest row first. Dates: ISO strings ('2016-07-01 00:00:00', 'T', 'Z'), epoch
 * MILLISECONDS as numbers or a Float64Array, or Date objects. Values: one array per column, by name;
 * columns the model does not use are ignored.
 */
export interface History {
  dates: readonly (string | number | Date)[] | Float64Array;
  values: Record<string, readonly number[] | Float64Array | Float32Array>;
}

export interface Forecast {
  /** 'YYYY-MM-DD HH:MM:SS' (UTC wall clock, like the input) of each forecast step. */
  dates: string[];
  /** Epoch ms of each forecast step. */
  timestamps: number[];
  /** Output channels: the target for S/MS, every model column for M. */
  columns: string[];
  /** [predLen][columns.length], in data units. */
  values: number[][];
}

function readModelBytes(ref: string): Uint8Array {
  const file = resolveWeightsFile(ref);
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new FormatError(`${file}: cannot read the model file${code !== undefined ? ` (${code})` : ''}`, { cause: e });
  }
}

/** The model inputs of one history (batch 1) and its forecast timestamps. */
export interface PreparedHistory {
  batch: Batch;
  future: Float64Array;
  /** The last observed value of each output column (data units): the naive last-value forecast. */
  last: number[];
  /** The newest row of the history, every model input column (data units): what drift is measured on. */
  lastRow: number[];
}

const NO_PREPROCESSING =
  'has no preprocessing metadata (__metadata__.preprocessing): a Predictor needs the columns, scaler and frequency ' +
  'of the training data. Save the model with savePredictorModel(model, dataset, path) (or build one with ' +
  'Predictor.create(model, preprocessingFromDataset(dataset))); to serve raw tensors only, pass { model: Informer.load(path) } ' +
  'to createServer';

function isTable(h: unknown): h is Table {
  return typeof h === 'object' && h !== null && 'data' in h && 'columns' in h && !('values' in h);
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export class Predictor {
  readonly model: Informer;
  readonly preprocessing: PreprocessingInfo;
  /** Output channel names (the target for S/MS, all columns for M). */
  readonly outputColumns: string[];
  readonly #mean: Float64Array;
  readonly #std: Float64Array;
  #onnx: OnnxBackend | undefined;
  #backend: PredictorBackend = 'native';
  #ownsModel = false;

  /** A native-backend Predictor for `model` and the preprocessing of its training data. */
  constructor(model: Informer, preprocessing: ForecastDataset | PreprocessingInfo) {
    if (!(model instanceof Informer)) throw new ConfigError('Predictor: model must be an Informer');
    this.model = model;
    this.preprocessing = resolvePreprocessing(preprocessing, model.config);
    const { columns, scaler, features, target } = this.preprocessing;
    this.outputColumns = features === 'M' ? [...columns] : [target];
    this.#mean = scaler === null ? new Float64Array(columns.length) : Float64Array.from(scaler.mean);
    this.#std = scaler === null ? new Float64Array(columns.length).fill(1) : Float64Array.from(scaler.std);
  }

  /** A Predictor on the chosen backend (the onnx session is created here). */
  static async create(
    model: Informer,
    preprocessing: ForecastDataset | PreprocessingInfo,
    opts: PredictorOptions = {},
  ): Promise<Predictor> {
    const p = new Predictor(model, preprocessing);
    const backend = opts.backend ?? 'native';
    if (backend === 'onnx') {
      p.#onnx = await OnnxBackend.create(model, { onnxPath: opts.onnxPath, intraOpThreads: opts.intraOpThreads });
      p.#backend = 'onnx';
    } else if (backend !== 'native') {
      throw new ConfigError(`backend must be 'native' or 'onnx', got ${show(backend)}`);
    }
    return p;
  }

  /**
   * Loads a model saved by savePredictorModel (weights, config and preprocessing in one safetensors
   * file): that file, a model folder holding it (as `informer train` logs them), or a runs:/ or
   * models:/ URI in the current tracking store.
   */
  static async load(pathOrBytes: string | Uint8Array, opts: PredictorOptions = {}): Promise<Predictor> {
    const where = typeof pathOrBytes === 'string' ? pathOrBytes : '<bytes>';
    if (opts.device !== undefined && opts.device !== 'cpu' && opts.backend === 'onnx') {
      throw new ConfigError(`device '${String(opts.device)}' needs the native backend (the onnx backend runs on the CPU)`);
    }
    const bytes = typeof pathOrBytes === 'string' ? readModelBytes(pathOrBytes) : pathOrBytes;
    const { metadata } = readSafetensors(bytes);
    if (metadata[PREPROCESSING_KEY] === undefined) throw new ConfigError(`${where} ${NO_PREPROCESSING}`);
    const model = Informer.load(bytes, { device: opts.device });
    try {
      const info = preprocessingFromMetadata(metadata, model.config, where)!;
      const p = await Predictor.create(model, info, opts);
      p.#ownsModel = true;
      return p;
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /** The forward engine: 'native' (C++ addon) or 'onnx' (onnxruntime-node). */
  get backend(): PredictorBackend {
    return this.#backend;
  }

  /** Rows of history the model reads (seqLen). */
  get historyLength(): number {
    return this.model.config.seqLen;
  }

  /** Dated forecast from the last seqLen rows of `history`. */
  async predict(history: History | Table): Promise<Forecast> {
    const p = this.prepare(history);
    const out = await this.forward(p.batch);
    return this.finish(out.data, p.future);
  }

  /** predict on the calling thread (native backend only): no thread hand-off, for microsecond-scale models. */
  predictSync(history: History | Table): Forecast {
    const p = this.prepare(history);
    return this.finish(this.forwardSync(p.batch).data, p.future);
  }

  /** Forecasts for many series in one forward call. */
  async predictBatch(histories: readonly (History | Table)[]): Promise<Forecast[]> {
    if (!Array.isArray(histories) || histories.length === 0) throw new ValueError('predictBatch needs a non-empty array of histories');
    const prepared = histories.map((h, i) => {
      try {
        return this.prepare(h);
      } catch (e) {
        if (e instanceof Error) e.message = `history ${i}: ${e.message}`;
        throw e;
      }
    });
    const out = await this.forward(concatBatches(prepared.map((p) => p.batch)));
    const step = this.model.config.predLen * this.model.config.cOut;
    return prepared.map((p, i) => this.finish(out.data.subarray(i * step, (i + 1) * step), p.future));
  }

  /** Forecast [B, predLen, cOut] (model scale) of a ready batch on this Predictor's backend. */
  forward(batch: Batch): Promise<Tensor<Float32Array>> {
    if (this.#backend === 'native') return this.model.forward(batch);
    if (this.#onnx === undefined) return Promise.reject(new DisposedError('the Predictor has been disposed'));
    return this.#onnx.forward(batch);
  }

  /** forward on the calling thread (native backend only). */
  forwardSync(batch: Batch): Tensor<Float32Array> {
    if (this.#backend !== 'native')
      throw new ConfigError("the sync path needs the 'native' backend (onnxruntime-node runs asynchronously)");
    return this.model.forwardSync(batch);
  }

  /** Validates `history` and builds the model inputs (batch 1) and the forecast timestamps. */
  prepare(history: History | Table): PreparedHistory {
    const { seqLen, labelLen, predLen, padding } = this.model.config;
    const { columns, freq, embed } = this.preprocessing;
    const { dates, values } = historyParts(history);
    const n = dates.length;
    if (n < seqLen) {
      throw new ValueError(`history has ${n} row(s); the model needs at least seqLen = ${seqLen} (it reads the last ${seqLen} rows)`);
    }
    const start = n - seqLen;
    const C = columns.length;
    const all = new Float64Array(seqLen + predLen); // history dates then future dates
    for (let r = 0; r < seqLen; r++) {
      const raw = dates[start + r];
      const ms = dates instanceof Float64Array ? (raw as number) : toMs(raw);
      if (ms === null || !Number.isFinite(ms)) throw new ValueError(`history date at row ${start + r} (${show(raw)}) is not a date`);
      if (r > 0 && !(ms > all[r - 1]!))
        throw new ValueError(
          `history dates must increase: row ${start + r} (${formatDate(ms)}) is not after row ${start + r - 1} (${formatDate(all[r - 1]!)})`,
        );
      all[r] = ms;
    }
    const future = futureDates(all[seqLen - 1]!, predLen, freq);
    all.set(future, seqLen);

    const xEnc = new Float32Array(seqLen * C);
    columns.forEach((name, j) => {
      const col = values[name];
      if (col === undefined || col === null || !(Array.isArray(col) || ArrayBuffer.isView(col))) {
        const have = Object.keys(values);
        throw new ValueError(
          `history has no column ${show(name)}; the model needs ${columns.map(show).join(', ')}; got ${have.length ? have.map(show).join(', ') : 'none'}`,
        );
      }
      const arr = col as ArrayLike<unknown>;
      if (arr.length !== n) throw new ShapeError(`history column ${show(name)} has ${arr.length} values, dates has ${n}`);
      const [m, s] = [this.#mean[j]!, this.#std[j]!];
      for (let r = 0; r < seqLen; r++) {
        const v = arr[start + r];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new ValueError(
            `history column ${show(name)} at row ${start + r} (${formatDate(all[r]!)}) is ${v === null ? 'null (NaN in JSON)' : show(v)}, not a finite number`,
          );
        }
        xEnc[r * C + j] = (v - m) / s;
      }
    });
    const { data: marks, columns: nMark } = timeFeatures(all, freq, embed);
    const lastRow = columns.map((name) => Number((values[name] as ArrayLike<unknown>)[n - 1]));
    // Output columns: every column (M), or the target, which is the last one (S, MS).
    const last = this.outputColumns.length === C ? lastRow : lastRow.slice(C - 1);
    return { batch: assembleWindows(xEnc, marks, [0], { seqLen, labelLen, predLen, channels: C, nMark, padding }), future, last, lastRow };
  }

  /** One series' model output [predLen * cOut] back to data units, with its dates. */
  finish(output: Float32Array, future: Float64Array): Forecast {
    const { predLen, cOut } = this.model.config;
    if (output.length !== predLen * cOut) throw new ShapeError(`expected ${predLen * cOut} forecast values, got ${output.length}`);
    const C = this.preprocessing.columns.length;
    const off = cOut === C ? 0 : C - 1; // MS: the target's (last column's) statistics
    const values: number[][] = [];
    for (let t = 0; t < predLen; t++) {
      const row = new Array<number>(cOut);
      for (let c = 0; c < cOut; c++) row[c] = output[t * cOut + c]! * this.#std[off + c]! + this.#mean[off + c]!;
      values.push(row);
    }
    const timestamps = Array.from(future);
    return { dates: timestamps.map(formatDate), timestamps, columns: [...this.outputColumns], values };
  }

  /** Releases the onnx session, and the model when this Predictor loaded it. */
  async dispose(): Promise<void> {
    const onnx = this.#onnx;
    this.#onnx = undefined;
    if (this.#ownsModel) this.model.dispose();
    if (onnx !== undefined) await onnx.dispose();
  }
}

/** Epoch ms of one history date: numbers are epoch ms, strings ISO (or numeric), Dates as they are. */
export function toMs(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' || v instanceof Date) return parseDate(v);
  return null;
}

function historyParts(h: History | Table): { dates: ArrayLike<unknown>; values: Record<string, unknown> } {
  if (typeof h !== 'object' || h === null) throw new ValueError('history must be { dates: [...], values: { column: [...] } } or a Table');
  if (isTable(h)) {
    if (h.dates === null) throw new ValueError('the table has no date column; the forecast needs dates (set dateColumn when reading it)');
    return { dates: h.dates, values: h.data };
  }
  const { dates, values } = h as { dates?: unknown; values?: unknown };
  if (!(Array.isArray(dates) || dates instanceof Float64Array))
    throw new ValueError('history.dates must be an array of dates (ISO strings, epoch ms or Date) or a Float64Array of epoch ms');
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    throw new ValueError('history.values must be an object { column: [numbers...] }');
  return { dates: dates as ArrayLike<unknown>, values: values as Record<string, unknown> };
}

/** Concatenates batches of the same model along the batch axis (no copy for a single batch). */
export function concatBatches(batches: readonly Batch[]): Batch {
  if (batches.length === 1) return batches[0]!;
  const keys = ['xEnc', 'xMarkEnc', 'xDec', 'xMarkDec'] as const;
  const B = batches.reduce((s, b) => s + b.xEnc.shape[0]!, 0);
  const out = {} as Batch;
  for (const k of keys) {
    const first = batches[0]![k];
    const data = new Float32Array(batches.reduce((s, b) => s + b[k].data.length, 0));
    let o = 0;
    for (const b of batches) {
      data.set(b[k].data as Float32Array, o);
      o += b[k].data.length;
    }
    out[k] = { data, shape: [B, ...first.shape.slice(1)] };
  }
  return out;
}
