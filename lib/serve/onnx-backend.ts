// onnxruntime-node as an alternative forward engine: the model is exported in memory (or an existing
// model.onnx is used) and run by an InferenceSession. Note that onnxruntime-node's run() executes on
// the JavaScript thread (inside a setImmediate), so it blocks the event loop while it computes.
// onnxruntime-node is imported on first use, so importing the package does not load its binary.

import type * as Ort from 'onnxruntime-node';

import { ConfigError, ShapeError } from '../errors.js';
import { buildOnnxModel } from '../artifact/onnx.js';
import { INPUT_NAMES, OUTPUT_NAME } from '../signature.js';
import type { Batch, Informer } from '../model.js';
import type { Tensor } from '../tensor.js';
import { importLazily } from '../lazy.js';

export interface OnnxBackendOptions {
  /** An existing model.onnx exported from this model; default: export the model in memory. */
  onnxPath?: string;
  /** onnxruntime intra-op threads (default 2; 0 lets onnxruntime choose). */
  intraOpThreads?: number;
}

export class OnnxBackend {
  readonly session: Ort.InferenceSession;
  readonly #ort: typeof Ort;
  readonly #predLen: number;
  readonly #cOut: number;

  private constructor(ort: typeof Ort, session: Ort.InferenceSession, predLen: number, cOut: number) {
    this.#ort = ort;
    this.session = session;
    this.#predLen = predLen;
    this.#cOut = cOut;
  }

  /** A session for `model` (exported in memory unless opts.onnxPath is given). */
  static async create(model: Informer, opts: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const threads = opts.intraOpThreads ?? 2;
    if (!Number.isSafeInteger(threads) || threads < 0)
      throw new ConfigError(`intraOpThreads must be an integer >= 0, got ${String(threads)}`);
    // An optional peer dependency: installed by those who use this backend.
    const ort = await importLazily<typeof Ort>('onnxruntime-node', "the 'onnx' backend");
    const options: Ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    const source = opts.onnxPath ?? buildOnnxModel(model);
    let session: Ort.InferenceSession;
    try {
      session =
        typeof source === 'string'
          ? await ort.InferenceSession.create(source, options)
          : await ort.InferenceSession.create(source, options);
    } catch (e) {
      throw new ConfigError(`onnxruntime could not load ${opts.onnxPath ?? 'the exported model'}: ${(e as Error).message}`, { cause: e });
    }
    const names = [...session.inputNames].sort().join(',');
    if (names !== [...INPUT_NAMES].sort().join(',') || !session.outputNames.includes(OUTPUT_NAME)) {
      await session.release();
      throw new ConfigError(
        `${opts.onnxPath ?? 'model'}: expected inputs ${INPUT_NAMES.join(', ')} and output ${OUTPUT_NAME}, got ${session.inputNames.join(', ')} -> ${session.outputNames.join(', ')}`,
      );
    }
    return new OnnxBackend(ort, session, model.config.predLen, model.config.cOut);
  }

  /** Forecast [B, predLen, cOut] for a batch already shaped for the model. */
  async forward(batch: Batch): Promise<Tensor<Float32Array>> {
    const T = this.#ort.Tensor;
    const f = (t: Tensor): Ort.Tensor => new T('float32', t.data as Float32Array, t.shape);
    const out = await this.session.run({
      x_enc: f(batch.xEnc),
      x_mark_enc: f(batch.xMarkEnc),
      x_dec: f(batch.xDec),
      x_mark_dec: f(batch.xMarkDec),
    });
    const t = out[OUTPUT_NAME];
    const B = batch.xEnc.shape[0]!;
    if (t === undefined || !(t.data instanceof Float32Array) || t.data.length !== B * this.#predLen * this.#cOut) {
      throw new ShapeError(`onnxruntime returned no float32 '${OUTPUT_NAME}' of shape [${B}, ${this.#predLen}, ${this.#cOut}]`);
    }
    return { data: t.data, shape: [B, this.#predLen, this.#cOut] };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
