// A small ONNX graph builder over onnx-proto (protobufjs): graph inputs, initializers (raw little-endian
// data), nodes with unique names, and value_info for every intermediate value. Shapes are inferred as
// nodes are added (inferOutputs, shared with the checker in onnx.ts), so a wrongly wired graph fails
// at build time instead of inside a runtime.
import type OnnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

import { ShapeError } from '../errors.js';
import { requireLazily } from '../lazy.js';

let protos: typeof OnnxProto.onnx | undefined;
/** The onnx-proto message classes, loaded on first use (protobufjs is not needed to import the package). */
export function onnxProtos(): typeof OnnxProto.onnx {
  protos ??= requireLazily<typeof OnnxProto>('onnx-proto', 'ONNX export and checking').onnx;
  return protos;
}
/** The generated protobuf message types (onnx-proto). */
export type { onnx as ProtoTypes } from 'onnx-proto';

/** A dimension: a size, or a symbolic name ('batch'). */
export type Dim = number | string;
export type ElemType = 'float32' | 'int64';

/** Type and shape of a value; `known` holds the contents of small int64 vectors (Shape outputs, constants). */
export interface ValueType {
  dtype: ElemType;
  shape: Dim[];
  known?: Dim[];
}

export interface Value extends ValueType {
  name: string;
}

export type AttrValue = number | number[] | string;
export type Attrs = Record<string, AttrValue>;

/** Lowest and highest opsets the exporter writes (LayerNormalization needs 17). */
export const MIN_OPSET = 17;
export const MAX_OPSET = 21;

/** IR version matching an opset (the lowest IR that declares it, so older runtimes still load it). */
export function irVersionFor(opset: number): number {
  return opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

interface OpSpec {
  /** First opset in which the op exists in the form written here. */
  since: number;
  inputs: [number, number];
  outputs: [number, number];
}

/** Every op the exporter emits (the checker's allow-list), per opset form. */
export const OP_SPECS: Readonly<Record<string, OpSpec>> = Object.freeze({
  Add: { since: 14, inputs: [2, 2], outputs: [1, 1] },
  Sub: { since: 14, inputs: [2, 2], outputs: [1, 1] },
  Mul: { since: 14, inputs: [2, 2], outputs: [1, 1] },
  Div: { since: 14, inputs: [2, 2], outputs: [1, 1] },
  MatMul: { since: 13, inputs: [2, 2], outputs: [1, 1] },
  Erf: { since: 13, inputs: [1, 1], outputs: [1, 1] },
  Sqrt: { since: 13, inputs: [1, 1], outputs: [1, 1] },
  Relu: { since: 14, inputs: [1, 1], outputs: [1, 1] },
  Elu: { since: 6, inputs: [1, 1], outputs: [1, 1] },
  Softmax: { since: 13, inputs: [1, 1], outputs: [1, 1] },
  Cast: { since: 13, inputs: [1, 1], outputs: [1, 1] },
  CumSum: { since: 14, inputs: [2, 2], outputs: [1, 1] },
  LayerNormalization: { since: 17, inputs: [2, 3], outputs: [1, 3] },
  BatchNormalization: { since: 15, inputs: [5, 5], outputs: [1, 1] },
  MaxPool: { since: 12, inputs: [1, 1], outputs: [1, 2] },
  Transpose: { since: 13, inputs: [1, 1], outputs: [1, 1] },
  Reshape: { since: 14, inputs: [2, 2], outputs: [1, 1] },
  Concat: { since: 13, inputs: [1, Infinity], outputs: [1, 1] },
  Slice: { since: 13, inputs: [3, 5], outputs: [1, 1] },
  Gather: { since: 13, inputs: [2, 2], outputs: [1, 1] },
  GatherElements: { since: 13, inputs: [2, 2], outputs: [1, 1] },
  GatherND: { since: 13, inputs: [2, 2], outputs: [1, 1] },
  ScatterElements: { since: 16, inputs: [3, 3], outputs: [1, 1] },
  Expand: { since: 13, inputs: [2, 2], outputs: [1, 1] },
  Shape: { since: 15, inputs: [1, 1], outputs: [1, 1] },
  Unsqueeze: { since: 13, inputs: [2, 2], outputs: [1, 1] },
  TopK: { since: 11, inputs: [2, 2], outputs: [2, 2] },
  ReduceSum: { since: 13, inputs: [1, 2], outputs: [1, 1] },
  ReduceMax: { since: 13, inputs: [1, 2], outputs: [1, 1] },
  ReduceMean: { since: 13, inputs: [1, 2], outputs: [1, 1] },
});

/** Ops whose `axes` moved from an attribute to an input in opset 18. */
export const AXES_INPUT_SINCE: Readonly<Record<string, number>> = { ReduceSum: 13, ReduceMax: 18, ReduceMean: 18 };

/** Attribute names written as FLOAT (every other number is INT). */
const FLOAT_ATTRS = new Set(['epsilon', 'alpha', 'momentum']);

const ONNX_TYPE: Record<ElemType, number> = { float32: 1, int64: 7 };
export function elemTypeOf(code: number): ElemType | undefined {
  return code === 1 ? 'float32' : code === 7 ? 'int64' : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Shape inference for the ops above (symbolic dims are compared by name).

export class InferError extends ShapeError {}

const fmt = (s: readonly Dim[]): string => `[${s.join(', ')}]`;

function broadcast(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else throw new InferError(`cannot broadcast ${fmt(a)} with ${fmt(b)}`);
  }
  return out;
}

function axisOf(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new InferError(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

function num(d: Dim | undefined, what: string): number {
  if (typeof d !== 'number') throw new InferError(`${what} must be a known size, got ${String(d)}`);
  return d;
}

function knownInts(v: ValueType | undefined, what: string): number[] {
  if (v?.known === undefined) throw new InferError(`${what} must be a constant`);
  return v.known.map((d) => num(d, what));
}

function intAttr(attrs: Attrs, name: string, dflt: number): number {
  const v = attrs[name];
  return typeof v === 'number' ? v : dflt;
}

/** Output types of one node, or InferError. `ins[i]` undefined marks an omitted optional input. */
export function inferOutputs(op: string, ins: (ValueType | undefined)[], attrs: Attrs, opset: number): ValueType[] {
  const x = ins[0] as ValueType;
  const same = (dtype = x.dtype): ValueType[] => [{ dtype, shape: x.shape.slice() }];
  switch (op) {
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      const y = ins[1] as ValueType;
      if (x.dtype !== y.dtype) throw new InferError(`${op} of ${x.dtype} and ${y.dtype}`);
      return [{ dtype: x.dtype, shape: broadcast(x.shape, y.shape) }];
    }
    case 'Erf':
    case 'Sqrt':
    case 'Relu':
    case 'Elu':
    case 'Softmax':
    case 'BatchNormalization':
      return same();
    case 'LayerNormalization':
      return same();
    case 'CumSum':
      knownInts(ins[1], 'CumSum axis');
      return same();
    case 'Cast': {
      const to = elemTypeOf(intAttr(attrs, 'to', 0));
      if (to === undefined) throw new InferError(`Cast to unsupported type ${String(attrs.to)}`);
      return [{ dtype: to, shape: x.shape.slice(), ...(x.known ? { known: x.known.slice() } : {}) }];
    }
    case 'MatMul': {
      const y = ins[1] as ValueType;
      if (x.shape.length < 2 || y.shape.length < 2) throw new InferError('MatMul needs rank >= 2');
      const k1 = x.shape[x.shape.length - 1];
      const k2 = y.shape[y.shape.length - 2];
      if (k1 !== k2) throw new InferError(`MatMul inner dims ${fmt(x.shape)} x ${fmt(y.shape)}`);
      const batch = broadcast(x.shape.slice(0, -2), y.shape.slice(0, -2));
      return [{ dtype: x.dtype, shape: [...batch, x.shape[x.shape.length - 2] as Dim, y.shape[y.shape.length - 1] as Dim] }];
    }
    case 'Transpose': {
      const p = (attrs.perm as number[] | undefined) ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      if (p.length !== x.shape.length) throw new InferError(`Transpose perm ${fmt(p)} for rank ${x.shape.length}`);
      return [{ dtype: x.dtype, shape: p.map((i) => x.shape[i] as Dim) }];
    }
    case 'Reshape': {
      const target = knownInts(ins[1], 'Reshape shape');
      const shape: Dim[] = target.map((d, i) => (d === 0 ? (x.shape[i] as Dim) : d));
      const total = (s: Dim[]) => s.reduce<number>((a, d) => a * num(d, 'Reshape size'), 1);
      const sym = (s: Dim[]) =>
        s
          .filter((d) => typeof d === 'string')
          .sort()
          .join();
      if (shape.includes(-1) || sym(shape) !== sym(x.shape)) throw new InferError(`Reshape ${fmt(x.shape)} to ${fmt(target)}`);
      const numeric = (s: Dim[]) => s.filter((d) => typeof d === 'number');
      if (total(numeric(shape)) !== total(numeric(x.shape))) throw new InferError(`Reshape ${fmt(x.shape)} to ${fmt(target)}`);
      return [{ dtype: x.dtype, shape }];
    }
    case 'Concat': {
      const axis = axisOf(intAttr(attrs, 'axis', 0), x.shape.length);
      let size = 0;
      for (const v of ins as ValueType[]) {
        if (v.dtype !== x.dtype || v.shape.length !== x.shape.length) throw new InferError('Concat of mismatched inputs');
        v.shape.forEach((d, i) => {
          if (i !== axis && d !== x.shape[i]) throw new InferError(`Concat ${fmt(x.shape)} with ${fmt(v.shape)}`);
        });
        size += num(v.shape[axis], 'Concat axis');
      }
      const shape = x.shape.slice();
      shape[axis] = size;
      const all = (ins as ValueType[]).every((v) => v.known !== undefined);
      return [{ dtype: x.dtype, shape, ...(all ? { known: (ins as ValueType[]).flatMap((v) => v.known as Dim[]) } : {}) }];
    }
    case 'Slice': {
      const starts = knownInts(ins[1], 'Slice starts');
      const ends = knownInts(ins[2], 'Slice ends');
      const axes = ins[3] ? knownInts(ins[3], 'Slice axes') : starts.map((_, i) => i);
      const steps = ins[4] ? knownInts(ins[4], 'Slice steps') : starts.map(() => 1);
      const shape = x.shape.slice();
      axes.forEach((a0, i) => {
        const a = axisOf(a0, shape.length);
        if (steps[i] !== 1) throw new InferError('Slice steps other than 1 are not used');
        const n = num(x.shape[a], 'sliced dim');
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
        shape[a] = Math.max(0, clamp(ends[i] as number) - clamp(starts[i] as number));
      });
      return [{ dtype: x.dtype, shape }];
    }
    case 'Gather': {
      const idx = ins[1] as ValueType;
      if (idx.dtype !== 'int64') throw new InferError('Gather indices must be int64');
      const axis = axisOf(intAttr(attrs, 'axis', 0), x.shape.length);
      const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
      let known: Dim[] | undefined;
      if (x.known && idx.known && x.shape.length === 1) {
        known = idx.known.map((i) => x.known?.[num(i, 'index')] as Dim);
      }
      return [{ dtype: x.dtype, shape, ...(known ? { known } : {}) }];
    }
    case 'GatherElements': {
      const idx = ins[1] as ValueType;
      if (idx.dtype !== 'int64' || idx.shape.length !== x.shape.length) throw new InferError('GatherElements indices rank');
      return [{ dtype: x.dtype, shape: idx.shape.slice() }];
    }
    case 'GatherND': {
      const idx = ins[1] as ValueType;
      const b = intAttr(attrs, 'batch_dims', 0);
      const last = num(idx.shape[idx.shape.length - 1], 'GatherND index depth');
      for (let i = 0; i < b; i++) {
        if (idx.shape[i] !== x.shape[i]) throw new InferError(`GatherND batch dims ${fmt(x.shape)} / ${fmt(idx.shape)}`);
      }
      return [{ dtype: x.dtype, shape: [...idx.shape.slice(0, -1), ...x.shape.slice(b + last)] }];
    }
    case 'ScatterElements': {
      const idx = ins[1] as ValueType;
      const upd = ins[2] as ValueType;
      if (fmt(idx.shape) !== fmt(upd.shape) || idx.shape.length !== x.shape.length) {
        throw new InferError(`ScatterElements indices ${fmt(idx.shape)} / updates ${fmt(upd.shape)}`);
      }
      return same();
    }
    case 'Expand': {
      const target = ins[1]?.known;
      if (target === undefined) throw new InferError('Expand shape must be known');
      return [{ dtype: x.dtype, shape: broadcast(x.shape, target) }];
    }
    case 'Shape': {
      const r = x.shape.length;
      const start = Math.min(Math.max(intAttr(attrs, 'start', 0) + (intAttr(attrs, 'start', 0) < 0 ? r : 0), 0), r);
      const endA = intAttr(attrs, 'end', r);
      const end = Math.min(Math.max(endA < 0 ? endA + r : endA, 0), r);
      const known = x.shape.slice(start, Math.max(start, end));
      return [{ dtype: 'int64', shape: [known.length], known }];
    }
    case 'Unsqueeze': {
      const axes = knownInts(ins[1], 'Unsqueeze axes');
      const r = x.shape.length + axes.length;
      const norm = axes.map((a) => axisOf(a, r)).sort((a, b) => a - b);
      const shape = x.shape.slice();
      for (const a of norm) shape.splice(a, 0, 1);
      return [{ dtype: x.dtype, shape }];
    }
    case 'TopK': {
      const [k] = knownInts(ins[1], 'TopK k');
      const axis = axisOf(intAttr(attrs, 'axis', -1), x.shape.length);
      if ((k as number) > num(x.shape[axis], 'TopK axis')) throw new InferError(`TopK k ${k} > ${String(x.shape[axis])}`);
      const shape = x.shape.slice();
      shape[axis] = k as number;
      return [
        { dtype: x.dtype, shape },
        { dtype: 'int64', shape: shape.slice() },
      ];
    }
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMean': {
      const axesFromInput = opset >= (AXES_INPUT_SINCE[op] as number);
      if (!axesFromInput && ins.length > 1) throw new InferError(`${op} takes axes as an attribute before opset 18`);
      if (axesFromInput && attrs.axes !== undefined) throw new InferError(`${op} takes axes as an input at opset ${opset}`);
      const raw = axesFromInput ? (ins[1] ? knownInts(ins[1], `${op} axes`) : undefined) : (attrs.axes as number[] | undefined);
      const axes = (raw ?? x.shape.map((_, i) => i)).map((a) => axisOf(a, x.shape.length));
      const keep = intAttr(attrs, 'keepdims', 1) !== 0;
      const shape: Dim[] = [];
      x.shape.forEach((d, i) => {
        if (!axes.includes(i)) shape.push(d);
        else if (keep) shape.push(1);
      });
      return [{ dtype: x.dtype, shape }];
    }
    case 'MaxPool': {
      const k = attrs.kernel_shape as number[];
      const s = (attrs.strides as number[] | undefined) ?? k.map(() => 1);
      const p = (attrs.pads as number[] | undefined) ?? [...k, ...k].map(() => 0);
      const shape = x.shape.slice(0, 2);
      k.forEach((ki, i) => {
        const n = num(x.shape[2 + i], 'MaxPool spatial dim');
        shape.push(Math.floor((n + (p[i] as number) + (p[i + k.length] as number) - ki) / (s[i] as number)) + 1);
      });
      return [{ dtype: x.dtype, shape }];
    }
    default:
      throw new InferError(`no shape rule for op ${op}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Proto helpers

export function tensorType(dtype: ElemType, shape: readonly Dim[]): P.ITypeProto {
  return {
    tensorType: {
      elemType: ONNX_TYPE[dtype],
      shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  };
}

function attribute(name: string, v: AttrValue): P.IAttributeProto {
  const T = onnxProtos().AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (FLOAT_ATTRS.has(name)) return { name, type: T.FLOAT, f: v };
  return { name, type: T.INT, i: v };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** ONNX raw_data is little-endian whatever the host. */
function rawBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The builder

export class GraphBuilder {
  readonly opset: number;
  #nodes: P.INodeProto[] = [];
  #inits: P.ITensorProto[] = [];
  #inputs: Value[] = [];
  #outputs: Value[] = [];
  #inner: Value[] = [];
  #names = new Set<string>();
  #consts = new Map<string, Value>();
  #count = new Map<string, number>();
  #scope: string[] = [];
  #bytes = 0;

  constructor(opset: number) {
    this.opset = opset;
  }

  /** Runs `fn` with node and value names prefixed by `name/` (the innermost module path; readable in Netron). */
  scope<T>(name: string, fn: () => T): T {
    this.#scope.push(name);
    try {
      return fn();
    } finally {
      this.#scope.pop();
    }
  }

  #unique(base: string): string {
    let name = base;
    if (this.#names.has(name)) {
      let n = this.#count.get(base) ?? 1;
      while (this.#names.has(`${base}_${n}`)) n++;
      this.#count.set(base, n + 1);
      name = `${base}_${n}`;
    }
    this.#names.add(name);
    return name;
  }

  input(name: string, dtype: ElemType, shape: Dim[]): Value {
    const v = { name: this.#unique(name), dtype, shape };
    this.#inputs.push(v);
    return v;
  }

  /** Marks a value as a graph output (it must have been created with that exact name). */
  output(v: Value): void {
    this.#outputs.push(v);
  }

  /** A float32 initializer (weights); `name` is kept readable (reference parameter names). */
  initializer(name: string, data: Float32Array, shape: number[]): Value {
    if (data.length !== shape.reduce((a, d) => a * d, 1))
      throw new ShapeError(`initializer ${name}: ${data.length} values for [${shape.join(', ')}]`);
    const v: Value = { name: this.#unique(name), dtype: 'float32', shape };
    this.#inits.push({ name: v.name, dims: shape, dataType: ONNX_TYPE.float32, rawData: rawBytes(data) });
    this.#bytes += data.byteLength;
    return v;
  }

  /** An int64 initializer; small 1-D ones keep their contents for shape inference. */
  int64(name: string, values: ArrayLike<number>, shape: number[] = [values.length]): Value {
    const data = BigInt64Array.from(Array.from(values, (x) => BigInt(x)));
    const known = shape.length <= 1 && values.length <= 16 ? Array.from(values) : undefined;
    const v: Value = { name: this.#unique(name), dtype: 'int64', shape, ...(known ? { known } : {}) };
    this.#inits.push({ name: v.name, dims: shape, dataType: ONNX_TYPE.int64, rawData: rawBytes(data) });
    return v;
  }

  /** A shared small int64 constant (vector, or scalar with `scalar`). */
  ints(values: number[], scalar = false): Value {
    const key = `i${scalar ? 's' : 'v'}:${values.join(',')}`;
    let v = this.#consts.get(key);
    if (!v) {
      v = this.int64(`const_i64_${scalar ? 's' : ''}${values.join('_').replace(/-/g, 'm')}`, values, scalar ? [] : [values.length]);
      this.#consts.set(key, v);
    }
    return v;
  }

  /** A shared float32 scalar constant. */
  scalar(value: number): Value {
    const key = `f:${value}`;
    let v = this.#consts.get(key);
    if (!v) {
      v = this.initializer(`const_f32_${this.#consts.size}`, new Float32Array([value]), []);
      this.#consts.set(key, v);
    }
    return v;
  }

  /** Adds a node; returns its outputs (typed by inferOutputs). `names` fixes output names (graph outputs). */
  node(op: string, inputs: Value[], attrs: Attrs = {}, names?: string[]): Value[] {
    const spec = OP_SPECS[op];
    if (!spec) throw new InferError(`op ${op} is not in the exporter's allow-list`);
    const types = inferOutputs(op, inputs, attrs, this.opset);
    const top = this.#scope[this.#scope.length - 1];
    const prefix = top !== undefined ? `${top}/` : '';
    const nodeName = this.#unique(`${prefix}${op}`);
    const outs = types.map((t, i) => {
      const name = names?.[i] !== undefined ? this.#unique(names[i] as string) : this.#unique(`${nodeName}_out${i}`);
      return { name, ...t };
    });
    this.#nodes.push({
      name: nodeName,
      opType: op,
      input: inputs.map((v) => v.name),
      output: outs.map((v) => v.name),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    for (const o of outs) if (names === undefined) this.#inner.push(o);
    return outs;
  }

  /** Single-output node. */
  op(op: string, inputs: Value[], attrs: Attrs = {}): Value {
    return this.node(op, inputs, attrs)[0] as Value;
  }

  /** ReduceSum / ReduceMax / ReduceMean with `axes` as an input or attribute, as the opset wants. */
  reduce(op: 'ReduceSum' | 'ReduceMax' | 'ReduceMean', x: Value, axes: number[], keepdims: boolean): Value {
    const k = keepdims ? 1 : 0;
    if (this.opset >= (AXES_INPUT_SINCE[op] as number)) return this.op(op, [x, this.ints(axes)], { keepdims: k });
    return this.op(op, [x], { axes, keepdims: k });
  }

  /** Bytes of float initializer data so far (protobuf caps a single-file model at 2 GiB). */
  get initializerBytes(): number {
    return this.#bytes;
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }

  toModel(meta: { producerVersion: string; docString: string; metadata: Record<string, string>; graphName: string }): P.ModelProto {
    const info = (v: Value) => ({ name: v.name, type: tensorType(v.dtype, v.shape) });
    return onnxProtos().ModelProto.create({
      irVersion: irVersionFor(this.opset),
      opsetImport: [{ domain: '', version: this.opset }],
      producerName: 'informer-node',
      producerVersion: meta.producerVersion,
      docString: meta.docString,
      metadataProps: Object.entries(meta.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: meta.graphName,
        node: this.#nodes,
        initializer: this.#inits,
        input: this.#inputs.map(info),
        output: this.#outputs.map(info),
        valueInfo: this.#inner.map(info),
      },
    });
  }
}
