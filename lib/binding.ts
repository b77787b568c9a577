// The raw surface of the native addon (native/addon), typed by hand. Only lib/native.ts loads it;
// everything public goes through lib/model.ts.
import type { NativeConfig } from './config.js';

export interface NativeParamInfo {
  name: string;
  shape: number[];
  kind: 'trainable' | 'frozen' | 'buffer' | 'int_buffer';
  offset: number;
  numel: number;
}

export interface NativeSampleDraw {
  layer: string;
  lq: number;
  sampleK: number;
  lk: number;
}

export interface NativeInputs {
  xEnc: Float32Array;
  xMarkEnc: Float32Array;
  xDec: Float32Array;
  xMarkDec: Float32Array;
}

export interface NativeForwardOptions {
  train?: boolean;
  /** true: a fresh key-sample draw each pass; false: the model's fixed inference indices. */
  sampling?: boolean;
  sampleIndices?: Int32Array[];
  capture?: boolean;
}

export interface NativeCapture {
  output: Float32Array;
  activations: Record<string, { data: Float32Array; shape: number[] }>;
}

export interface NativeLossAndGrad {
  loss: number;
  /** Gradients in the float-arena layout (see paramInfo offsets). */
  grads: Float32Array;
}

export interface NativeAdam {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface NativeModel {
  paramInfo(): NativeParamInfo[];
  readState(): { floats: Float32Array; ints: BigInt64Array };
  loadState(tensors: { name: string; shape: number[]; data: Float32Array | BigInt64Array }[]): void;
  sampleDraws(): NativeSampleDraw[];
  deterministicSamples(draw: number): Int32Array;
  forwardSync(inputs: NativeInputs, batch: number, opts?: NativeForwardOptions): Float32Array | NativeCapture;
  forward(inputs: NativeInputs, batch: number, opts?: NativeForwardOptions): Promise<Float32Array | NativeCapture>;
  lossAndGrad(inputs: NativeInputs, batch: number, target: Float32Array, opts?: NativeForwardOptions): Promise<NativeLossAndGrad>;
  lossAndGradSync(inputs: NativeInputs, batch: number, target: Float32Array, opts?: NativeForwardOptions): NativeLossAndGrad;
  trainStep(inputs: NativeInputs, batch: number, target: Float32Array, adam: NativeAdam, opts?: NativeForwardOptions): Promise<number>;
  trainStepSync(inputs: NativeInputs, batch: number, target: Float32Array, adam: NativeAdam, opts?: NativeForwardOptions): number;
  getOptimizerState(): { step: number; m: Float32Array; v: Float32Array };
  setOptimizerState(step: number, m: Float32Array, v: Float32Array): void;
  resetOptimizer(): void;
  workspaceBytes(): number;
  device(): 'cpu' | 'cuda';
  setDevice(device: 'cpu' | 'cuda'): void;
  dispose(): void;
}

export interface NativeInfo {
  gemmKernel: string;
  threads: number;
  backends: string[];
  cudaBuilt: boolean;
  /** The GPU the CUDA backend uses, or why none can be used; null when built without CUDA. */
  cudaDevice: string | null;
  /** GPU GEMM engine ('cublas' or 'tiled') and its precision; null when built without CUDA. */
  gpuGemm: string | null;
  gpuMatmulPrecision: GpuMatmulPrecision | null;
}

export type GpuMatmulPrecision = 'fp32' | 'tf32' | 'bf16';

export interface NativeAddon {
  NativeModel: new (config: NativeConfig) => NativeModel;
  setErrorClasses(classes: Record<number, new (message: string) => Error>): void;
  info(): NativeInfo;
  /** [lo, hi] of every integer setting by reference name, and max_stacked_encoders (native/core/config.h). */
  configLimits(): Record<string, [number, number]> & { max_stacked_encoders: number };
  setGpuMatmulPrecision(precision: GpuMatmulPrecision): void;
  kernels: {
    sgemm(
      transA: boolean,
      transB: boolean,
      M: number,
      N: number,
      K: number,
      A: Float32Array,
      B: Float32Array,
      C: Float32Array,
      threaded: boolean,
    ): void;
    attention(
      kind: 'prob' | 'full',
      B: number,
      H: number,
      L: number,
      d: number,
      q: Float32Array,
      k: Float32Array,
      v: Float32Array,
      out: Float32Array,
      masked: boolean,
    ): void;
  };
}
