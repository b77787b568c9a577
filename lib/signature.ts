// The model's inputs and output, defined once: names, per-example dims, what each dim means, dtype.
// Everything that describes them derives from modelSignature(): the model's own shape checks, the ONNX
// graph inputs, the MLflow tensor signature, the Open Inference Protocol metadata and the Triton config.
import { markColumns, type InformerConfig } from './config.js';

/** Names of the four inputs in the ONNX graph, the OIP, MLflow and Triton (reference argument names). */
export const INPUT_NAMES = ['x_enc', 'x_mark_enc', 'x_dec', 'x_mark_dec'] as const;
/** Name of the output. */
export const OUTPUT_NAME = 'forecast';
/** Name of the symbolic batch dimension in the ONNX graph. */
export const BATCH_DIM = 'batch';
/** The Batch object's key of each input, in INPUT_NAMES order. */
export const BATCH_KEYS = ['xEnc', 'xMarkEnc', 'xDec', 'xMarkDec'] as const;

export type InputName = (typeof INPUT_NAMES)[number];
export type BatchKey = (typeof BATCH_KEYS)[number];

/** One tensor of the signature: float32 [batch, ...dims]. */
export interface SignatureTensor {
  name: string;
  dtype: 'float32';
  /** Per-example dims (the batch dimension excluded). */
  dims: number[];
  /** What each of `dims` is (e.g. 'seqLen', 'encIn'), for error messages. */
  labels: string[];
}

export interface ModelSignature {
  /** In INPUT_NAMES (and BATCH_KEYS) order. */
  inputs: SignatureTensor[];
  output: SignatureTensor;
}

/** The inputs and output of a model of this configuration. */
export function modelSignature(c: InformerConfig): ModelSignature {
  const T = markColumns(c.freq, c.embed);
  const Ld = c.labelLen + c.predLen;
  const t = (name: string, dims: number[], labels: string[]): SignatureTensor => ({ name, dtype: 'float32', dims, labels });
  return {
    inputs: [
      t('x_enc', [c.seqLen, c.encIn], ['seqLen', 'encIn']),
      t('x_mark_enc', [c.seqLen, T], ['seqLen', 'nMark']),
      t('x_dec', [Ld, c.decIn], ['labelLen+predLen', 'decIn']),
      t('x_mark_dec', [Ld, T], ['labelLen+predLen', 'nMark']),
    ],
    output: t(OUTPUT_NAME, [c.predLen, c.cOut], ['predLen', 'cOut']),
  };
}

// ---- its forms ----

/** One ONNX graph input or output: float32, the first dim the symbolic batch. */
export interface TensorSpec {
  name: string;
  dtype: 'float32';
  shape: (number | string)[];
}

export interface OnnxSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** The graph inputs and output of an exported model of this configuration. */
export function onnxSignature(cfg: InformerConfig): OnnxSignature {
  const sig = modelSignature(cfg);
  const spec = (s: SignatureTensor): TensorSpec => ({ name: s.name, dtype: s.dtype, shape: [BATCH_DIM, ...s.dims] });
  return { inputs: sig.inputs.map(spec), outputs: [spec(sig.output)] };
}

/** One side of an MLflow tensor signature, keys in the order MLflow's TensorSpec.to_dict writes them. */
export interface MlflowTensorSpec {
  name?: string;
  type: 'tensor';
  'tensor-spec': { dtype: string; shape: number[] };
}

/** MLflow's form of a list of ONNX tensor specs (a symbolic dim becomes -1). */
export function mlflowTensorSpecs(specs: readonly TensorSpec[]): MlflowTensorSpec[] {
  return specs.map((s) => ({
    name: s.name,
    type: 'tensor',
    'tensor-spec': { dtype: s.dtype, shape: s.shape.map((d) => (typeof d === 'number' ? d : -1)) },
  }));
}

/** The MLflow tensor signature of a model of this configuration. */
export function mlflowSignature(cfg: InformerConfig): { inputs: MlflowTensorSpec[]; outputs: MlflowTensorSpec[] } {
  const sig = onnxSignature(cfg);
  return { inputs: mlflowTensorSpecs(sig.inputs), outputs: mlflowTensorSpecs(sig.outputs) };
}

/** The Open Inference Protocol model metadata response (-1 for the batch dimension). */
export function oipModelMetadata(name: string, versions: string[], sig: ModelSignature): object {
  const meta = (s: SignatureTensor) => ({ name: s.name, datatype: 'FP32', shape: [-1, ...s.dims] });
  return { name, versions, platform: 'informer-node', inputs: sig.inputs.map(meta), outputs: [meta(sig.output)] };
}
