// Plain row-major tensors ({ data, shape }) and the shape / dtype / finiteness checks used at every
// public entry point. Nothing here copies data except where documented.

import { ShapeError, ValueError } from './errors.js';

/** Element storage of a Tensor. */
export type TensorData = Float32Array | Int32Array | BigInt64Array;

/** Element type names, as in safetensors: F32 (Float32Array), I32 (Int32Array), I64 (BigInt64Array). */
export type DType = 'F32' | 'I32' | 'I64';

/** A dense row-major (C-order) tensor: `data.length === numel(shape)`. */
export interface Tensor<D extends TensorData = TensorData> {
  data: D;
  shape: number[];
}

const TAG_TO_DTYPE: Readonly<Record<string, DType>> = Object.freeze({
  Float32Array: 'F32',
  Int32Array: 'I32',
  BigInt64Array: 'I64',
});

const DTYPE_TO_CTOR: Readonly<Record<DType, string>> = Object.freeze({
  F32: 'Float32Array',
  I32: 'Int32Array',
  I64: 'BigInt64Array',
});

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = Object.freeze({ F32: 4, I32: 4, I64: 8 });

// %TypedArray%.prototype[Symbol.toStringTag] reads the internal slot, so it also recognises typed arrays
// from another realm (vm contexts, some worker setups) where instanceof fails, and cannot be spoofed.
const typedArrayTagGetter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, Symbol.toStringTag)?.get;

function typedArrayTag(x: unknown): string | undefined {
  if (!ArrayBuffer.isView(x) || typedArrayTagGetter === undefined) return undefined;
  const tag: unknown = typedArrayTagGetter.call(x); // undefined for DataView
  return typeof tag === 'string' ? tag : undefined;
}

/** The dtype of a tensor's data array, or undefined when it is not a supported typed array. */
export function dtypeOf(data: unknown): DType | undefined {
  const tag = typedArrayTag(data);
  return tag !== undefined ? TAG_TO_DTYPE[tag] : undefined;
}

/** A short description of any value for error messages ("Float64Array(12)", "number 3", "null"). */
export function describeValue(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  const tag = typedArrayTag(x);
  if (tag !== undefined) return `${tag}(${(x as ArrayLike<unknown>).length})`;
  if (Array.isArray(x)) return `Array(${x.length})`;
  if (typeof x === 'object') {
    const ctor = (x as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof ctor === 'string' && ctor !== '' ? ctor : 'object';
  }
  if (typeof x === 'string') return `string ${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)}`;
  if (typeof x === 'bigint') return `bigint ${String(x)}n`;
  return `${typeof x} ${String(x)}`;
}

/** "[32, 12, 7]"; entries that are not numbers are printed as given ("[B, 12, 1]"). */
export function formatShape(shape: readonly unknown[]): string {
  return `[${shape.map((d) => (typeof d === 'string' ? d : String(d))).join(', ')}]`;
}

function isDim(d: unknown): d is number {
  return typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
}

/** True when `shape` is an array of non-negative safe integers. */
export function isValidShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every(isDim);
}

function checkShape(shape: unknown, what: string): asserts shape is number[] {
  if (!Array.isArray(shape)) {
    throw new ShapeError(`${what}: shape must be an array of non-negative integers, got ${describeValue(shape)}`);
  }
  for (let i = 0; i < shape.length; i++) {
    if (!isDim(shape[i])) {
      throw new ShapeError(
        `${what}: shape entries must be non-negative integers, got ${describeValue(shape[i])} at dim ${i} of ${formatShape(shape)}`,
      );
    }
  }
}

/**
 * Number of elements of a shape (1 for the scalar shape []). Throws ShapeError when an entry is not a
 * non-negative integer or the product is not a safe integer.
 */
export function numel(shape: readonly number[]): number {
  checkShape(shape, 'numel');
  let n = 1;
  for (const d of shape) n *= d;
  if (!Number.isSafeInteger(n)) {
    throw new ShapeError(`numel: shape ${formatShape(shape)} has too many elements (${n})`);
  }
  return n;
}

/**
 * Builds a Tensor over `data` (not copied) with a copy of `shape`. Throws ShapeError unless `data` is a
 * Float32Array / Int32Array / BigInt64Array, every shape entry is a non-negative integer, and the product
 * of the shape equals data.length. `name` only labels the error messages.
 */
export function tensor<D extends TensorData>(data: D, shape: readonly number[], name = 'tensor'): Tensor<D> {
  if (dtypeOf(data) === undefined) {
    throw new ShapeError(`${name}: data must be a Float32Array, Int32Array or BigInt64Array, got ${describeValue(data)}`);
  }
  checkShape(shape, name);
  const n = numel(shape);
  if (n !== data.length) {
    throw new ShapeError(`${name}: shape ${formatShape(shape)} has ${n} element${n === 1 ? '' : 's'} but data has ${data.length}`);
  }
  return { data, shape: shape.slice() };
}

/**
 * True when `x` is a valid Tensor: `data` a supported typed array, `shape` an array of non-negative
 * integers whose product equals data.length.
 */
export function isTensor(x: unknown): x is Tensor {
  if (typeof x !== 'object' || x === null) return false;
  const { data, shape } = x as { data?: unknown; shape?: unknown };
  if (dtypeOf(data) === undefined || !isValidShape(shape)) return false;
  let n = 1;
  for (const d of shape) n *= d;
  return n === (data as TensorData).length;
}

/**
 * Checks that `t` is a valid Tensor whose shape matches `expected` (null = any size). `labels` names the
 * dims in the message (and stands in for null dims):
 *   assertShape('xEnc', t, [null, 12, 1], ['B', 'seqLen', 'encIn'])
 *   → ShapeError "xEnc: expected shape [B, 12, 1], got [32, 12, 7] (encIn: expected 1, got 7)".
 * Returns the tensor's shape.
 */
export function assertShape(
  name: string,
  t: Tensor | unknown,
  expected: readonly (number | null)[],
  labels?: readonly (string | undefined)[],
): number[] {
  const want = formatShape(expected.map((d, i) => (d === null ? (labels?.[i] ?? '*') : d)));
  if (typeof t !== 'object' || t === null || !('data' in t) || !('shape' in t)) {
    throw new ShapeError(`${name}: expected a Tensor { data, shape } of shape ${want}, got ${describeValue(t)}`);
  }
  const { data, shape } = t as { data: unknown; shape: unknown };
  const dtype = dtypeOf(data);
  if (dtype === undefined) {
    throw new ShapeError(`${name}: data must be a Float32Array, Int32Array or BigInt64Array, got ${describeValue(data)}`);
  }
  checkShape(shape, name);
  const n = numel(shape);
  const len = (data as TensorData).length;
  if (n !== len) {
    throw new ShapeError(`${name}: shape ${formatShape(shape)} has ${n} elements but data has ${len}`);
  }
  const bad: string[] = [];
  if (shape.length === expected.length) {
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i];
      if (e !== null && e !== undefined && shape[i] !== e) {
        bad.push(`${labels?.[i] ?? `dim ${i}`}: expected ${e}, got ${shape[i]}`);
      }
    }
    if (bad.length === 0) return shape;
  } else {
    bad.push(`expected ${expected.length} dims, got ${shape.length}`);
  }
  throw new ShapeError(`${name}: expected shape ${want}, got ${formatShape(shape)} (${bad.join('; ')})`);
}

/** Checks the dtype of a tensor's data (ShapeError naming the tensor, the wanted and the actual dtype). */
export function assertDtype(name: string, t: Tensor, dtype: DType | readonly DType[]): DType {
  const allowed = typeof dtype === 'string' ? [dtype] : dtype;
  const actual = dtypeOf(t?.data);
  if (actual === undefined || !allowed.includes(actual)) {
    const want = allowed.map((d) => `${d} (${DTYPE_TO_CTOR[d]})`).join(' or ');
    const got = actual !== undefined ? `${actual} (${DTYPE_TO_CTOR[actual]})` : describeValue(t?.data);
    throw new ShapeError(`${name}: expected dtype ${want}, got ${got}`);
  }
  return actual;
}

/** Row-major multi-index of a flat index, e.g. unravelIndex(17, [2, 3, 4]) → [1, 1, 1]. */
export function unravelIndex(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  let rest = flat;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i] as number;
    if (d > 0) {
      idx[i] = rest % d;
      rest = Math.floor(rest / d);
    }
  }
  return idx;
}

/**
 * Throws ValueError when `data` holds a NaN or ±Infinity, naming the tensor, the first bad flat index
 * and its value (and the multi-index when `shape` is given).
 */
export function assertFinite(name: string, data: Float32Array | Float64Array, shape?: readonly number[]): void {
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i] as number;
    // v - v is 0 for every finite v and NaN for NaN and ±Infinity.
    if (v - v !== 0) {
      let where = `flat index ${i}`;
      if (shape !== undefined && isValidShape(shape) && shape.length > 1) {
        where += ` (index ${formatShape(unravelIndex(i, shape))})`;
      }
      let count = 0;
      for (let j = i; j < n; j++) {
        const w = data[j] as number;
        if (w - w !== 0) count++;
      }
      throw new ValueError(
        `${name}: contains a non-finite value ${String(v)} at ${where}${count > 1 ? ` (${count} non-finite values in total)` : ''}`,
      );
    }
  }
}
