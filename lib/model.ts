// The Informer model: a TypeScript handle on the native core. One native call per forward pass;
// async forwards run on the libuv pool, forwardSync serves microsecond-scale inference.
import type { NativeCapture, NativeInputs, NativeModel, NativeSampleDraw } from './binding.js';
import { resolveConfig, toNativeConfig, configFromReference, toReferenceConfig, markColumns } from './config.js';
import type { InformerConfig } from './config.js';
import { ConfigError, DisposedError, FormatError, ShapeError, StateDictError, ValueError } from './errors.js';
import { loadAddon } from './native.js';
import { Adam } from './optim.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { BATCH_KEYS, modelSignature, type ModelSignature } from './signature.js';
import { assertDtype, assertShape, formatShape, type Tensor } from './tensor.js';

/** The four model inputs (row-major Float32 tensors). */
export interface Batch {
  /** [B, seqLen, encIn] */
  xEnc: Tensor;
  /** [B, seqLen, nMark] time features of the encoder window */
  xMarkEnc: Tensor;
  /** [B, labelLen + predLen, decIn]: the last labelLen steps, then predLen padding steps */
  xDec: Tensor;
  /** [B, labelLen + predLen, nMark] */
  xMarkDec: Tensor;
}

/** A ProbSparse key-sample matrix [Lq, sampleK]: Int32Array / BigInt64Array data or a Tensor of them. */
export type SampleIndexInput = Int32Array | BigInt64Array | Tensor;

export interface ForwardOptions {
  /** 'eval' (default): no dropout, BatchNorm running stats. 'train': dropout, batch statistics, and the
   * BatchNorm running stats are updated as in PyTorch. */
  mode?: 'train' | 'eval';
  /** Replaces the i-th ProbSparse key-sample draw of this pass (execution order: encoder layers, then
   * decoder self-attention layers); see `sampleDraws()` for the expected shapes. */
  sampleIndices?: SampleIndexInput[];
  /** Eval mode only: 'deterministic' (default) uses fixed per-layer indices derived from the seed, so the
   * same input always gives the same forecast; 'random' draws afresh every call, like the reference. */
  sampling?: 'deterministic' | 'random';
}

export interface TrainOptions extends Omit<ForwardOptions, 'mode'> {
  /** 'train' (default): dropout and batch statistics, as the reference training loop. */
  mode?: 'train' | 'eval';
}

export interface LossAndGrad {
  /** Mean squared error over [B, predLen, cOut] (nn.MSELoss). */
  loss: number;
  /** d loss / d parameter for every trainable parameter, by reference name. */
  grads: Record<string, Float32Array>;
}

/** Optimizer state for checkpoints: the Adam step count and moments in the parameter-arena layout. */
export interface OptimizerState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

export interface ForwardWithActivations {
  output: Tensor<Float32Array>;
  /** Intermediate outputs by module path (enc_embedding, encoder.attn_layers.0, ..., projection). */
  activations: Record<string, Tensor<Float32Array>>;
}

/** One ProbSparse draw of a forward pass: the layer and the [lq, sampleK] shape of its indices in [0, lk). */
export type SampleDraw = NativeSampleDraw;

const STATE_PREFIX = 'param.';

/** Where a model computes: 'cpu', 'cuda' (an NVIDIA GPU; the addon must be built with CUDA), or 'auto'
 * (the GPU when `backends()` lists 'cuda', else the CPU). */
export type DeviceName = 'cpu' | 'cuda' | 'auto';

export interface ModelOptions {
  /** Default 'cpu'. */
  device?: DeviceName;
}

function resolveDevice(device: unknown): 'cpu' | 'cuda' {
  if (device === undefined || device === 'cpu') return 'cpu';
  if (device === 'cuda') return 'cuda';
  if (device === 'auto') return loadAddon().info().backends.includes('cuda') ? 'cuda' : 'cpu';
  throw new ConfigError(`device must be 'cpu', 'cuda' or 'auto', got ${JSON.stringify(device)}`);
}

export class Informer {
  readonly config: InformerConfig;
  readonly nMark: number;
  #native: NativeModel | undefined;
  #draws: SampleDraw[];
  readonly #signature: ModelSignature;

  constructor(config: Partial<InformerConfig> = {}, options: ModelOptions = {}) {
    this.config = resolveConfig(config);
    this.nMark = markColumns(this.config.freq, this.config.embed);
    this.#signature = modelSignature(this.config);
    const device = resolveDevice(options.device);
    const { NativeModel } = loadAddon();
    this.#native = new NativeModel(toNativeConfig(this.config));
    this.#draws = this.#native.sampleDraws();
    if (device !== 'cpu') {
      try {
        this.#native.setDevice(device);
      } catch (e) {
        this.dispose();
        throw e;
      }
    }
  }

  /** The device the model computes on. */
  get device(): 'cpu' | 'cuda' {
    return this.#model().device();
  }

  /**
   * Moves the model to another device, keeping its parameters, BatchNorm statistics and optimizer
   * state. Throws ConfigError (naming the reason) when the device is not available. Returns `this`.
   */
  to(device: DeviceName): this {
    this.#model().setDevice(resolveDevice(device));
    return this;
  }

  /**
   * A model holding the given parameters and buffers, named as the reference PyTorch state_dict (a
   * checkpoint saved with safetensors loads unchanged). Tensors named `param.<name>` (the golden fixture
   * files) are accepted too. Missing, unexpected or misshaped tensors throw StateDictError.
   */
  static fromStateDict(config: Partial<InformerConfig>, tensors: Record<string, Tensor>, options: ModelOptions = {}): Informer {
    const model = new Informer(config);
    try {
      model.loadStateDict(tensors);
      if (options.device !== undefined) model.to(options.device);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  /** Loads a model saved by `save()` (config in `__metadata__.config`, reference snake_case). */
  static load(pathOrBytes: string | Uint8Array, options: ModelOptions = {}): Informer {
    const { tensors, metadata } = readSafetensors(pathOrBytes);
    const where = typeof pathOrBytes === 'string' ? pathOrBytes : '<bytes>';
    if (metadata.config === undefined) {
      throw new FormatError(`${where}: no __metadata__.config; save models with model.save() or pass the config to Informer.fromStateDict`);
    }
    let args: unknown;
    try {
      args = JSON.parse(metadata.config);
    } catch (e) {
      throw new FormatError(`${where}: __metadata__.config is not valid JSON`, { cause: e });
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new FormatError(`${where}: __metadata__.config must be a JSON object`);
    }
    return Informer.fromStateDict(configFromReference(args as Record<string, unknown>), tensors, options);
  }

  /** Writes the state dict and config as one safetensors file (atomically: temp file, then rename). */
  save(path: string, metadata: Record<string, string> = {}): void {
    const meta = { ...metadata, format: 'informer-node-v1', config: JSON.stringify(toReferenceConfig(this.config)) };
    writeSafetensors(path, this.stateDict(), meta);
  }

  /** Every parameter and buffer by reference name (copies). */
  stateDict(): Record<string, Tensor> {
    const native = this.#model();
    const { floats, ints } = native.readState();
    const out: Record<string, Tensor> = {};
    for (const p of native.paramInfo()) {
      const data = p.kind === 'int_buffer' ? ints.slice(p.offset, p.offset + p.numel) : floats.slice(p.offset, p.offset + p.numel);
      out[p.name] = { data, shape: p.shape.slice() };
    }
    return out;
  }

  /** Replaces every parameter and buffer (all-or-nothing). */
  loadStateDict(tensors: Record<string, Tensor>): void {
    if (typeof tensors !== 'object' || tensors === null) throw new StateDictError('state dict must be an object of tensors');
    const native = this.#model();
    const expected = native.paramInfo();
    let names = Object.keys(tensors);
    let prefix = '';
    if (!expected.some((p) => p.name in tensors) && names.some((n) => n.startsWith(STATE_PREFIX))) {
      prefix = STATE_PREFIX;
      names = names.filter((n) => n.startsWith(STATE_PREFIX));
    }
    const known = new Map(expected.map((p) => [p.name, p]));
    const unexpected = names.filter((n) => !known.has(n.slice(prefix.length)));
    const missing = expected.filter((p) => !(prefix + p.name in tensors)).map((p) => p.name);
    if (unexpected.length || missing.length) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing ${missing.length} tensor(s): ${listNames(missing)}`);
      if (unexpected.length) parts.push(`unexpected ${unexpected.length} tensor(s): ${listNames(unexpected)}`);
      throw new StateDictError(`state dict does not match this configuration: ${parts.join('; ')}`);
    }
    const entries = expected.map((p) => {
      const t = tensors[prefix + p.name];
      if (typeof t !== 'object' || t === null || !Array.isArray(t.shape)) {
        throw new StateDictError(`tensor '${p.name}' is not a Tensor { data, shape }`);
      }
      if (formatShape(t.shape) !== formatShape(p.shape)) {
        throw new StateDictError(`tensor '${p.name}' has shape ${formatShape(t.shape)}, expected ${formatShape(p.shape)}`);
      }
      let data = t.data;
      if (p.kind === 'int_buffer') {
        if (data instanceof Int32Array) data = BigInt64Array.from(data, (v) => BigInt(v));
        if (!(data instanceof BigInt64Array)) throw new StateDictError(`tensor '${p.name}' must hold int64 (BigInt64Array) data`);
      } else if (!(data instanceof Float32Array)) {
        throw new StateDictError(`tensor '${p.name}' must hold float32 (Float32Array) data`);
      }
      return { name: p.name, shape: t.shape, data };
    });
    native.loadState(entries);
  }

  /** Names of the parameters that get gradients. */
  parameterNames(): string[] {
    return this.#model()
      .paramInfo()
      .filter((p) => p.kind === 'trainable')
      .map((p) => p.name);
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.#model()
      .paramInfo()
      .filter((p) => p.kind === 'trainable')
      .reduce((s, p) => s + p.numel, 0);
  }

  /** The ProbSparse key-sample draws of one pass, in execution order (empty with attn 'full'). */
  sampleDraws(): SampleDraw[] {
    return this.#draws.map((d) => ({ ...d }));
  }

  /** The fixed key samples used at inference with sampling 'deterministic' (one [lq, sampleK] matrix per draw). */
  inferenceSampleIndices(): Tensor<Int32Array>[] {
    const native = this.#model();
    return this.#draws.map((d, i) => ({ data: native.deterministicSamples(i), shape: [d.lq, d.sampleK] }));
  }

  /** Forecast [B, predLen, cOut], computed off the main thread. */
  async forward(batch: Batch, opts: ForwardOptions = {}): Promise<Tensor<Float32Array>> {
    const [inputs, B, nativeOpts] = this.#prepare(batch, opts, false);
    const out = (await this.#model().forward(inputs, B, nativeOpts)) as Float32Array;
    return { data: out, shape: [B, this.config.predLen, this.config.cOut] };
  }

  /** Forecast [B, predLen, cOut] on the calling thread (for small models and latency-critical paths). */
  forwardSync(batch: Batch, opts: ForwardOptions = {}): Tensor<Float32Array> {
    const [inputs, B, nativeOpts] = this.#prepare(batch, opts, false);
    const out = this.#model().forwardSync(inputs, B, nativeOpts) as Float32Array;
    return { data: out, shape: [B, this.config.predLen, this.config.cOut] };
  }

  /** The forecast plus every intermediate activation (for debugging and parity checks). */
  async forwardWithActivations(batch: Batch, opts: ForwardOptions = {}): Promise<ForwardWithActivations> {
    const [inputs, B, nativeOpts] = this.#prepare(batch, opts, true);
    const r = (await this.#model().forward(inputs, B, nativeOpts)) as NativeCapture;
    const activations: Record<string, Tensor<Float32Array>> = {};
    for (const [name, t] of Object.entries(r.activations)) activations[name] = { data: t.data, shape: t.shape };
    return { output: { data: r.output, shape: [B, this.config.predLen, this.config.cOut] }, activations };
  }

  /** Loss and gradients for one batch (one native call, off the main thread). Parameters are unchanged. */
  async lossAndGrad(batch: Batch, target: Tensor, opts: TrainOptions = {}): Promise<LossAndGrad> {
    const [inputs, B, nativeOpts] = this.#prepareTrain(batch, target, opts);
    const r = await this.#model().lossAndGrad(inputs, B, target.data as Float32Array, nativeOpts);
    return { loss: r.loss, grads: this.#gradRecord(r.grads) };
  }

  /** lossAndGrad on the calling thread. */
  lossAndGradSync(batch: Batch, target: Tensor, opts: TrainOptions = {}): LossAndGrad {
    const [inputs, B, nativeOpts] = this.#prepareTrain(batch, target, opts);
    const r = this.#model().lossAndGradSync(inputs, B, target.data as Float32Array, nativeOpts);
    return { loss: r.loss, grads: this.#gradRecord(r.grads) };
  }

  /**
   * One training step in one native call off the main thread: forward (train mode), MSE loss,
   * backward and an Adam update. Resolves to the batch loss before the update.
   */
  async trainStep(batch: Batch, target: Tensor, optimizer: Adam, opts: TrainOptions = {}): Promise<number> {
    if (!(optimizer instanceof Adam)) throw new ConfigError('trainStep needs an Adam optimizer (new Adam({ lr }))');
    const [inputs, B, nativeOpts] = this.#prepareTrain(batch, target, opts);
    return this.#model().trainStep(inputs, B, target.data as Float32Array, optimizer.native(), nativeOpts);
  }

  /** trainStep on the calling thread. */
  trainStepSync(batch: Batch, target: Tensor, optimizer: Adam, opts: TrainOptions = {}): number {
    if (!(optimizer instanceof Adam)) throw new ConfigError('trainStep needs an Adam optimizer (new Adam({ lr }))');
    const [inputs, B, nativeOpts] = this.#prepareTrain(batch, target, opts);
    return this.#model().trainStepSync(inputs, B, target.data as Float32Array, optimizer.native(), nativeOpts);
  }

  /** Adam step count and moments (copies), e.g. to checkpoint a training run. */
  optimizerState(): OptimizerState {
    return this.#model().getOptimizerState();
  }

  setOptimizerState(state: OptimizerState): void {
    if (typeof state !== 'object' || state === null) throw new ShapeError('optimizer state must be { step, m, v }');
    this.#model().setOptimizerState(state.step, state.m, state.v);
  }

  /** Forgets the Adam moments (the next trainStep starts at step 1). */
  resetOptimizer(): void {
    this.#model().resetOptimizer();
  }

  /** Bytes held by the activation workspace (grows to the largest batch seen). */
  workspaceBytes(): number {
    return this.#model().workspaceBytes();
  }

  /** Frees the native memory now; later calls throw DisposedError. Safe to call twice. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  #model(): NativeModel {
    if (!this.#native) throw new DisposedError('the model has been disposed');
    return this.#native;
  }

  #prepare(batch: Batch, opts: ForwardOptions, capture: boolean): [NativeInputs, number, object] {
    if (typeof batch !== 'object' || batch === null) throw new ShapeError('batch must be { xEnc, xMarkEnc, xDec, xMarkDec }');
    if (typeof opts !== 'object' || opts === null) throw new ConfigError('forward options must be an object');
    // Each input against the signature; the first fixes the batch size B the others must share.
    let B: number | null = null;
    const [xEnc, xMarkEnc, xDec, xMarkDec] = this.#signature.inputs.map((spec, i) => {
      const key = BATCH_KEYS[i]!;
      const data = float32(key, batch[key], [B, ...spec.dims], ['B', ...spec.labels]);
      B ??= batch[key].shape[0]!;
      return data;
    }) as [Float32Array, Float32Array, Float32Array, Float32Array];
    if (B === null || B < 1) throw new ShapeError('batch size must be at least 1');
    const mode = opts.mode ?? 'eval';
    if (mode !== 'train' && mode !== 'eval') throw new ConfigError(`mode must be 'train' or 'eval', got ${String(mode)}`);
    const sampling = opts.sampling ?? 'deterministic';
    if (sampling !== 'deterministic' && sampling !== 'random') {
      throw new ConfigError(`sampling must be 'deterministic' or 'random', got ${String(sampling)}`);
    }
    const nativeOpts: { train: boolean; sampling: boolean; capture: boolean; sampleIndices?: Int32Array[] } = {
      train: mode === 'train',
      sampling: sampling === 'random',
      capture,
    };
    if (opts.sampleIndices !== undefined) nativeOpts.sampleIndices = this.checkSampleIndices(opts.sampleIndices);
    return [{ xEnc, xMarkEnc, xDec, xMarkDec }, B, nativeOpts];
  }

  #prepareTrain(batch: Batch, target: Tensor, opts: TrainOptions): [NativeInputs, number, object] {
    if (typeof opts !== 'object' || opts === null) throw new ConfigError('training options must be an object');
    const [inputs, B, nativeOpts] = this.#prepare(batch, { ...opts, mode: opts.mode ?? 'train' }, false);
    float32('target', target, [B, this.config.predLen, this.config.cOut], ['B', 'predLen', 'cOut']);
    return [inputs, B, nativeOpts];
  }

  #gradRecord(flat: Float32Array): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const p of this.#model().paramInfo()) {
      if (p.kind === 'trainable') out[p.name] = flat.slice(p.offset, p.offset + p.numel);
    }
    return out;
  }

  /**
   * Checks key-sample matrices for this model's draws (ShapeError for a wrong count or shape,
   * ValueError for an index outside [0, Lk)) and returns them as Int32Arrays.
   */
  checkSampleIndices(list: SampleIndexInput[]): Int32Array[] {
    if (!Array.isArray(list)) throw new ShapeError('sampleIndices must be an array of index matrices');
    if (list.length !== this.#draws.length) {
      throw new ShapeError(
        `sampleIndices has ${list.length} matrices, this model draws ${this.#draws.length} per pass ` +
          `(${this.#draws.map((d) => `${d.layer} [${d.lq}, ${d.sampleK}]`).join(', ') || 'attn full draws none'})`,
      );
    }
    return list.map((item, i) => {
      const d = this.#draws[i];
      let data: unknown = item;
      if (!(item instanceof Int32Array) && !(item instanceof BigInt64Array)) {
        assertShape(`sampleIndices[${i}]`, item, [d.lq, d.sampleK], ['Lq', 'sampleK']);
        data = (item as Tensor).data;
      }
      if (!(data instanceof Int32Array) && !(data instanceof BigInt64Array)) {
        throw new ShapeError(`sampleIndices[${i}] must hold Int32Array or BigInt64Array data`);
      }
      if (data.length !== d.lq * d.sampleK) {
        throw new ShapeError(`sampleIndices[${i}] (${d.layer}) has ${data.length} elements, expected [${d.lq}, ${d.sampleK}]`);
      }
      const out = new Int32Array(data.length);
      for (let j = 0; j < data.length; j++) {
        const v = Number(data[j]);
        if (!(v >= 0 && v < d.lk)) {
          throw new ValueError(`sampleIndices[${i}] (${d.layer}) has index ${v} at flat position ${j}, outside [0, ${d.lk})`);
        }
        out[j] = v;
      }
      return out;
    });
  }
}

function float32(name: string, t: Tensor, expected: (number | null)[], labels: string[]): Float32Array {
  assertShape(name, t, expected, labels);
  assertDtype(name, t, 'F32');
  return t.data as Float32Array;
}

function listNames(names: string[]): string {
  const shown = names
    .slice(0, 5)
    .map((n) => `'${n}'`)
    .join(', ');
  return names.length > 5 ? `${shown}, ... (${names.length - 5} more)` : shown;
}
