import { writeFileAtomic } from '../fs/atomic.js';
import { OUTPUT_NAME, onnxSignature, type OnnxSignature, type TensorSpec } from '../signature.js';
import { packageVersion } from '../version.js';

import { toReferenceConfig } from '../config.js';
import { ConfigError, FormatError, StateDictError } from '../errors.js';
import type { Informer, SampleIndexInput } from '../model.js';
import type { Tensor } from '../tensor.js';
import {
  AXES_INPUT_SINCE,
  GraphBuilder,
  InferError,
  MAX_OPSET,
  MIN_OPSET,
  OP_SPECS,
  elemTypeOf,
  inferOutputs,
  onnxProtos,
  type Attrs,
  type ValueType,
  type ProtoTypes as P,
} from './onnx-builder.js';
import { decoderLayer, embedding, encoder, encoderStack, head, type LayerContext } from './onnx-layers.js';
import { denormalizeOutput, normalizeInput, windowStats } from './onnx-normalize.js';

export { MAX_OPSET, MIN_OPSET };
export { BATCH_DIM, INPUT_NAMES, OUTPUT_NAME, onnxSignature } from '../signature.js';
export type { OnnxSignature, TensorSpec } from '../signature.js';
export const DEFAULT_OPSET = 17;

export type ProgressCallback = (stage: string, fraction: number) => void;

export interface OnnxExportOptions {
  /** ONNX opset, MIN_OPSET..MAX_OPSET (default 17). */
  opset?: number;
  /** Called with ('building' | 'serialising' | 'writing', fraction in [0, 1]). */
  onProgress?: ProgressCallback;
  /**
   * Key samples to bake in instead of the model's deterministic inference indices, one matrix per
   * ProbSparse draw in `model.sampleDraws()` order (e.g. the recorded draws of a reference run).
   */
  sampleIndices?: SampleIndexInput[];
}

function checkOpset(opset: unknown): number {
  if (typeof opset !== 'number' || !Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new ConfigError(`opset must be an integer from ${MIN_OPSET} (LayerNormalization) to ${MAX_OPSET}, got ${String(opset)}`);
  }
  return opset;
}

// The key samples baked into the graph: the given ones (checked as forward checks them), else the
// model's deterministic inference samples.
function sampleMap(model: Informer, given?: SampleIndexInput[]): Map<string, Int32Array> {
  const list = given === undefined ? model.inferenceSampleIndices().map((t) => t.data) : model.checkSampleIndices(given);
  return new Map(model.sampleDraws().map((d, i) => [d.layer, list[i] as Int32Array]));
}

/** The serialised ONNX model of `model` (eval mode), without touching the file system. */
export function buildOnnxModel(model: Informer, opts: OnnxExportOptions = {}): Uint8Array {
  const opset = checkOpset(opts.opset ?? DEFAULT_OPSET);
  const progress = opts.onProgress ?? (() => undefined);
  const cfg = model.config;
  const state = model.stateDict();
  const c: LayerContext = {
    g: new GraphBuilder(opset),
    cfg,
    param(name) {
      const t = state[name];
      if (t === undefined || !(t.data instanceof Float32Array)) throw new StateDictError(`the model has no float tensor '${name}'`);
      return t as Tensor<Float32Array>;
    },
    samples: sampleMap(model, opts.sampleIndices),
    masks: new Map(),
  };
  const { g } = c;
  const sig = onnxSignature(cfg);
  const [xEnc, xMarkEnc, xDec, xMarkDec] = sig.inputs.map((s) => g.input(s.name, s.dtype, s.shape));
  const Ld = cfg.labelLen + cfg.predLen;
  const steps = (cfg.model === 'informerstack' ? cfg.sLayers.length : 1) + cfg.dLayers + 1;
  let done = 0;
  progress('building', 0);

  const stats = cfg.normalize === 'none' ? null : windowStats(c, xEnc!);
  const encIn = stats ? normalizeInput(c, xEnc!, stats, cfg.seqLen, cfg.seqLen) : xEnc!;
  const decIn = stats ? normalizeInput(c, xDec!, stats, Ld, cfg.labelLen) : xDec!;
  const x = embedding(c, 'enc_embedding', encIn, xMarkEnc!, cfg.seqLen);
  let enc: { out: typeof x; L: number };
  if (cfg.model === 'informerstack') {
    enc = encoderStack(c, x, cfg.seqLen, cfg.sLayers);
    done += cfg.sLayers.length;
  } else {
    enc = encoder(c, 'encoder', x, cfg.seqLen, cfg.eLayers);
    done += 1;
  }
  progress('building', done / steps);
  let h = embedding(c, 'dec_embedding', decIn, xMarkDec!, Ld);
  for (let i = 0; i < cfg.dLayers; i++) {
    const last = i === cfg.dLayers - 1; // computes the forecast rows only
    h = decoderLayer(c, `decoder.layers.${i}`, h, enc.out, Ld, enc.L, last ? cfg.predLen : Ld);
    progress('building', ++done / steps);
  }
  head(c, h, cfg.predLen, OUTPUT_NAME, stats ? (y, name) => denormalizeOutput(c, y, stats, name) : undefined);
  progress('building', 1);

  // A protobuf message is limited to 2 GiB; a self-contained model.onnx must fit in one.
  if (g.initializerBytes > 2 ** 31 - 2 ** 24) {
    throw new ConfigError(
      `the model's ${(g.initializerBytes / 2 ** 30).toFixed(2)} GiB of weights do not fit a single-file ONNX model (2 GiB protobuf limit)`,
    );
  }
  progress('serialising', 0);
  const shapes = (specs: TensorSpec[]) => specs.map((s) => `${s.name} [${s.shape.join(', ')}]`).join(', ');
  const proto = g.toModel({
    producerVersion: packageVersion(),
    graphName: 'informer',
    docString: `Informer forecast (eval mode). Inputs: ${shapes(sig.inputs)}. Output: ${shapes(sig.outputs)}.`,
    metadata: {
      'informer.config': JSON.stringify(toReferenceConfig(cfg)),
      'informer.sampling': opts.sampleIndices === undefined ? 'deterministic' : 'given',
    },
  });
  const bytes = onnxProtos().ModelProto.encode(proto).finish();
  progress('serialising', 1);
  return bytes;
}

export interface OnnxExportResult {
  path: string;
  bytes: number;
  opset: number;
  signature: OnnxSignature;
}

/** Writes `model` as one self-contained ONNX file (atomically). */
export function exportOnnx(model: Informer, path: string, opts: OnnxExportOptions = {}): OnnxExportResult {
  const bytes = buildOnnxModel(model, opts);
  opts.onProgress?.('writing', 0);
  writeFileAtomic(path, bytes);
  opts.onProgress?.('writing', 1);
  return { path, bytes: bytes.length, opset: opts.opset ?? DEFAULT_OPSET, signature: onnxSignature(model.config) };
}

// ---------------------------------------------------------------------------------------------------
// Checker

export interface OnnxCheckReport {
  irVersion: number;
  opset: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  nodeCount: number;
  initializerCount: number;
  /** Node count per op type. */
  ops: Record<string, number>;
  /** Free text of metadata_props. */
  metadata: Record<string, string>;
}

type LongLike = number | { toNumber(): number };
const toNum = (v: LongLike | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

function decodeAttrs(attrs: P.IAttributeProto[]): Attrs {
  const T = onnxProtos().AttributeProto.AttributeType;
  const out: Attrs = {};
  for (const a of attrs) {
    const name = a.name ?? '';
    if (a.type === T.INT) out[name] = toNum(a.i as LongLike);
    else if (a.type === T.FLOAT) out[name] = a.f ?? 0;
    else if (a.type === T.INTS) out[name] = (a.ints ?? []).map((v) => toNum(v as LongLike));
    else if (a.type === T.STRING) out[name] = new TextDecoder().decode(a.s ?? new Uint8Array());
    else throw new InferError(`attribute ${name} has unsupported type ${String(a.type)}`);
  }
  return out;
}

function typeOf(t: P.ITypeProto | null | undefined, what: string): ValueType {
  const tt = t?.tensorType;
  const dtype = elemTypeOf(tt?.elemType ?? 0);
  if (!tt || dtype === undefined || !tt.shape) throw new InferError(`${what} must be a float32 or int64 tensor with a shape`);
  return {
    dtype,
    shape: (tt.shape.dim ?? []).map((d) =>
      typeof d.dimParam === 'string' && d.dimParam !== '' ? d.dimParam : toNum(d.dimValue as LongLike),
    ),
  };
}

function initializerType(t: P.ITensorProto): ValueType {
  const dtype = elemTypeOf(t.dataType ?? 0);
  const shape = (t.dims ?? []).map((d) => toNum(d as LongLike));
  if (dtype === undefined) throw new InferError(`initializer ${t.name} has unsupported data type ${String(t.dataType)}`);
  const n = shape.reduce((a, d) => a * d, 1);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const count = raw
    ? raw.length / (dtype === 'int64' ? 8 : 4)
    : dtype === 'int64'
      ? (t.int64Data ?? []).length
      : (t.floatData ?? []).length;
  if (count !== n) throw new InferError(`initializer ${t.name} holds ${count} values for shape [${shape.join(', ')}]`);
  if (t.dataLocation === onnxProtos().TensorProto.DataLocation.EXTERNAL) throw new InferError(`initializer ${t.name} uses external data`);
  const v: ValueType = { dtype, shape };
  if (dtype === 'int64' && shape.length <= 1 && n <= 16) {
    if (raw) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      v.known = Array.from({ length: n }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    } else {
      v.known = (t.int64Data ?? []).map((x) => toNum(x as LongLike));
    }
  }
  return v;
}

const sameType = (a: ValueType, b: ValueType) =>
  a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
const showType = (v: ValueType) => `${v.dtype} [${v.shape.join(', ')}]`;

/**
 * Structural check of an ONNX model written by exportOnnx: it decodes; the default-domain opset is
 * MIN_OPSET..MAX_OPSET; every node input is a graph input, an initializer or an earlier node output
 * (topological order, single assignment); every op is in the exporter's allow-list, valid at the opset,
 * with allowed input / output counts; shapes infer through the whole graph and agree with the declared
 * value_info and outputs; graph inputs and outputs are float32 with a symbolic first (batch) dim.
 * Returns a summary or throws FormatError listing every problem found (up to 20).
 */
export function checkOnnxModel(bytes: Uint8Array): OnnxCheckReport {
  let model: P.ModelProto;
  try {
    model = onnxProtos().ModelProto.decode(bytes);
  } catch (e) {
    throw new FormatError(`not an ONNX model: ${(e as Error).message}`, { cause: e });
  }
  const problems: string[] = [];
  const fail = (msg: string) => {
    if (problems.length < 20) problems.push(msg);
  };
  const graph = model.graph;
  if (!graph) throw new FormatError('ONNX model has no graph');
  const defaults = (model.opsetImport ?? []).filter((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  const opset = toNum(defaults[0]?.version as LongLike);
  if (defaults.length !== 1) fail('the model must import exactly one default-domain (ai.onnx) opset');
  else if (opset < MIN_OPSET || opset > MAX_OPSET) fail(`opset ${opset} is outside ${MIN_OPSET}..${MAX_OPSET}`);
  for (const o of model.opsetImport ?? [])
    if (o.domain && o.domain !== 'ai.onnx') fail(`custom opset domain '${o.domain}' (the model must be self-contained)`);
  const irVersion = toNum(model.irVersion as LongLike);
  if (irVersion < 8) fail(`IR version ${irVersion} is too old for opset ${opset}`);

  const values = new Map<string, ValueType>();
  const define = (name: string, v: ValueType, what: string) => {
    if (!name) fail(`${what} has an empty name`);
    else if (values.has(name)) fail(`'${name}' is defined twice (${what})`);
    else values.set(name, v);
  };
  const io = (list: typeof graph.input, what: string): TensorSpec[] =>
    (list ?? []).map((vi) => {
      const name = vi.name ?? '';
      try {
        const t = typeOf(vi.type, `${what} '${name}'`);
        if (t.dtype !== 'float32') fail(`${what} '${name}' must be float32`);
        if (typeof t.shape[0] !== 'string')
          fail(`${what} '${name}' must have a symbolic (dynamic) batch dim first, got [${t.shape.join(', ')}]`);
        return { name, dtype: 'float32', shape: t.shape } as TensorSpec;
      } catch (e) {
        fail((e as Error).message);
        return { name, dtype: 'float32', shape: [] } as TensorSpec;
      }
    });
  const inputs = io(graph.input, 'graph input');
  const outputs = io(graph.output, 'graph output');
  if (inputs.length === 0 || outputs.length === 0) fail('the graph needs inputs and outputs');
  for (const s of inputs) define(s.name, { dtype: 'float32', shape: s.shape }, 'graph input');
  for (const t of graph.initializer ?? []) {
    try {
      define(t.name ?? '', initializerType(t), 'initializer');
    } catch (e) {
      fail((e as Error).message);
    }
  }
  const declared = new Map<string, ValueType>();
  for (const vi of graph.valueInfo ?? []) {
    try {
      declared.set(vi.name ?? '', typeOf(vi.type, `value_info '${vi.name}'`));
    } catch (e) {
      fail((e as Error).message);
    }
  }

  const ops: Record<string, number> = {};
  const nodeNames = new Set<string>();
  for (const [i, node] of (graph.node ?? []).entries()) {
    const op = node.opType ?? '';
    const where = `node ${i} '${node.name ?? ''}' (${op})`;
    ops[op] = (ops[op] ?? 0) + 1;
    if (node.name) {
      if (nodeNames.has(node.name)) fail(`${where}: duplicate node name`);
      nodeNames.add(node.name);
    }
    if (node.domain && node.domain !== 'ai.onnx') {
      fail(`${where}: custom domain '${node.domain}'`);
      continue;
    }
    const spec = OP_SPECS[op];
    if (!spec) {
      fail(`${where}: op is not in the allow-list`);
      continue;
    }
    if (opset < spec.since) fail(`${where}: not valid at opset ${opset}`);
    const inNames = node.input ?? [];
    const outNames = node.output ?? [];
    let maxIn = spec.inputs[1];
    if (op in AXES_INPUT_SINCE && opset < (AXES_INPUT_SINCE[op] as number)) maxIn = 1;
    if (inNames.length < spec.inputs[0] || inNames.length > maxIn)
      fail(`${where}: ${inNames.length} inputs, expected ${spec.inputs[0]}..${maxIn}`);
    if (outNames.length < spec.outputs[0] || outNames.length > spec.outputs[1]) fail(`${where}: ${outNames.length} outputs`);
    const ins: (ValueType | undefined)[] = [];
    let ok = true;
    for (const n of inNames) {
      if (n === '') {
        ins.push(undefined);
        continue;
      }
      const v = values.get(n);
      if (!v) {
        fail(`${where}: input '${n}' is not defined by a graph input, an initializer or an earlier node`);
        ok = false;
      }
      ins.push(v);
    }
    if (!ok) continue;
    let types: ValueType[];
    try {
      types = inferOutputs(op, ins, decodeAttrs(node.attribute ?? []), opset);
    } catch (e) {
      fail(`${where}: shape inference failed: ${(e as Error).message}`);
      continue;
    }
    outNames.forEach((n, k) => {
      const t = types[k];
      if (n === '' || !t) return;
      const d = declared.get(n);
      if (d && !sameType(d, t)) fail(`${where}: output '${n}' is declared ${showType(d)} but infers to ${showType(t)}`);
      define(n, t, where);
    });
  }
  for (const s of outputs) {
    const v = values.get(s.name);
    if (!v) fail(`graph output '${s.name}' is never produced`);
    else if (!sameType(v, { dtype: 'float32', shape: s.shape }))
      fail(`graph output '${s.name}' is declared float32 [${s.shape.join(', ')}] but infers to ${showType(v)}`);
  }
  if (problems.length > 0) throw new FormatError(`invalid ONNX model:\n  ${problems.join('\n  ')}`);
  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  return {
    irVersion,
    opset,
    inputs,
    outputs,
    nodeCount: (graph.node ?? []).length,
    initializerCount: (graph.initializer ?? []).length,
    ops,
    metadata,
  };
}
