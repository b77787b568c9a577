// safetensors reader / writer (https://github.com/huggingface/safetensors), written by hand:
//   [u64 little-endian N][N bytes UTF-8 JSON header, right-padded with spaces to a multiple of 8][data]
// The header maps tensor names to { dtype, shape, data_offsets: [begin, end] } (offsets relative to the
// first data byte) plus an optional "__metadata__" object of string -> string.
// Supported dtypes: F32 (Float32Array), I32 (Int32Array), I64 (BigInt64Array).

import * as fs from 'node:fs';

import { FormatError, ShapeError } from './errors.js';
import { writeFileAtomic } from './fs/atomic.js';
import { DTYPE_SIZE, describeValue, dtypeOf, formatShape, type DType, type Tensor, type TensorData } from './tensor.js';

/** What readSafetensors / decodeSafetensors return. */
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** Largest header accepted (as the reference Rust implementation: 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

/** dtypes that exist in the safetensors format but that this library does not load. */
const KNOWN_UNSUPPORTED = new Set([
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'I16',
  'U16',
  'F16',
  'BF16',
  'U32',
  'U64',
  'F64',
  'C64',
]);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Sets a property even when the key is "__proto__" (plain assignment would change the prototype). */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isOffset(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function allocate(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case 'F32':
      return new Float32Array(n);
    case 'I32':
      return new Int32Array(n);
    case 'I64':
      return new BigInt64Array(n);
  }
}

/** Copies little-endian bytes into a freshly allocated (hence aligned) typed array. */
function copyIn(dtype: DType, src: Uint8Array, n: number): TensorData {
  const out = allocate(dtype, n);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(src);
  } else {
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    for (let i = 0; i < n; i++) {
      if (dtype === 'F32') (out as Float32Array)[i] = dv.getFloat32(i * 4, true);
      else if (dtype === 'I32') (out as Int32Array)[i] = dv.getInt32(i * 4, true);
      else (out as BigInt64Array)[i] = dv.getBigInt64(i * 8, true);
    }
  }
  return out;
}

/** The little-endian bytes of a typed array (a view when the host is little-endian, else a copy). */
function bytesOf(data: TensorData): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) dv.setFloat32(i * 4, data[i] as number, true);
    else if (data instanceof Int32Array) dv.setInt32(i * 4, data[i] as number, true);
    else dv.setBigInt64(i * 8, data[i] as bigint, true);
  }
  return out;
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  numel: number;
  begin: number;
  end: number;
}

/**
 * Parses safetensors bytes. `source` (a file name) prefixes every error message. Tensor data is copied
 * into new, properly aligned typed arrays, so the result does not keep `bytes` alive.
 * Throws FormatError for anything malformed (truncation, bad header, bad entries, bad offsets,
 * unsupported dtype, non-string metadata).
 */
export function decodeSafetensors(bytes: Uint8Array | ArrayBuffer, source = '<bytes>'): SafetensorsContents {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const fail = (msg: string): never => {
    throw new FormatError(`${source}: ${msg}`);
  };
  if (buf.byteLength < 8) {
    fail(
      `file is ${buf.byteLength} byte${buf.byteLength === 1 ? '' : 's'}, shorter than the 8-byte header length ` +
        'prefix (truncated, or not a safetensors file)',
    );
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt file, or not a safetensors file)`);
  }
  const headerLen = Number(n64);
  if (8 + headerLen > buf.byteLength) {
    fail(
      `header length ${headerLen} is larger than the ${buf.byteLength - 8} bytes after the length prefix ` +
        '(truncated file, or not a safetensors file)',
    );
  }
  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) {
    return fail(`header must be a JSON object, got ${Array.isArray(header) ? 'an array' : describeValue(header)}`);
  }

  const metadata: Record<string, string> = {};
  const rawMeta = header[METADATA_KEY];
  if (rawMeta !== undefined && rawMeta !== null) {
    if (!isPlainObject(rawMeta)) {
      fail(`"${METADATA_KEY}" must be an object of string values, got ${describeValue(rawMeta)}`);
    }
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== 'string') {
        fail(`"${METADATA_KEY}" value for key ${JSON.stringify(k)} must be a string, got ${describeValue(v)}`);
      }
      setOwn(metadata, k, v as string);
    }
  }

  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const where = `tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(raw)) fail(`${where}: entry must be an object, got ${describeValue(raw)}`);
    const info = raw as Record<string, unknown>;
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      if (!(field in info)) fail(`${where}: entry is missing "${field}"`);
    }
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string') fail(`${where}: "dtype" must be a string, got ${describeValue(dtype)}`);
    if (!(dtype === 'F32' || dtype === 'I32' || dtype === 'I64')) {
      fail(
        `${where}: ${KNOWN_UNSUPPORTED.has(dtype as string) ? 'unsupported' : 'unknown'} dtype ` +
          `${JSON.stringify(dtype)} (supported: F32, I32, I64)`,
      );
    }
    if (!Array.isArray(shape)) fail(`${where}: "shape" must be an array, got ${describeValue(shape)}`);
    const dims = shape as unknown[];
    let count = 1;
    for (let i = 0; i < dims.length; i++) {
      const d = dims[i];
      if (!isOffset(d)) {
        fail(`${where}: shape entries must be non-negative integers, got ${describeValue(d)} at dim ${i}`);
      }
      count *= d as number;
    }
    if (!Array.isArray(offsets) || offsets.length !== 2) {
      fail(`${where}: "data_offsets" must be an array [begin, end], got ${describeValue(offsets)}`);
    }
    const [begin, end] = offsets as unknown[];
    if (!isOffset(begin) || !isOffset(end)) {
      fail(`${where}: "data_offsets" must be non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const b = begin as number;
    const e = end as number;
    if (b > e) fail(`${where}: data_offsets [${b}, ${e}] has begin after end`);
    if (e > dataLen) {
      fail(`${where}: data_offsets [${b}, ${e}] lie outside the ${dataLen}-byte data section (truncated file?)`);
    }
    const itemsize = DTYPE_SIZE[dtype as DType];
    if (!Number.isSafeInteger(count) || count * itemsize !== e - b) {
      fail(
        `${where}: ${dtype as string} shape ${formatShape(dims)} needs ${count * itemsize} bytes ` +
          `but data_offsets [${b}, ${e}] span ${e - b}`,
      );
    }
    entries.push({ name, dtype: dtype as DType, shape: dims as number[], numel: count, begin: b, end: e });
  }

  // Regions must tile the data section exactly: no overlap, no gap, nothing left over.
  const byOffset = entries.slice().sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = 0;
  for (const en of byOffset) {
    if (en.begin < pos) {
      fail(`tensor ${JSON.stringify(en.name)}: data_offsets [${en.begin}, ${en.end}] overlap another tensor's data`);
    }
    if (en.begin > pos) {
      fail(
        `tensor ${JSON.stringify(en.name)}: data_offsets [${en.begin}, ${en.end}] leave a gap after byte ${pos} ` +
          '(tensor data must be contiguous)',
      );
    }
    pos = en.end;
  }
  if (pos !== dataLen) {
    fail(`data section is ${dataLen} bytes but the tensors cover only ${pos} (trailing bytes)`);
  }

  const tensors: Record<string, Tensor> = {};
  for (const en of entries) {
    const src = buf.subarray(dataStart + en.begin, dataStart + en.end);
    setOwn(tensors, en.name, { data: copyIn(en.dtype, src, en.numel), shape: en.shape.slice() });
  }
  return { tensors, metadata };
}

/**
 * Reads a safetensors file (path) or buffer. Errors reading the file (ENOENT, EACCES) propagate as the
 * usual Node.js errors; malformed contents throw FormatError naming the file and the tensor.
 */
export function readSafetensors(pathOrBytes: string | Uint8Array | ArrayBuffer): SafetensorsContents {
  if (typeof pathOrBytes === 'string') {
    const bytes = fs.readFileSync(pathOrBytes);
    return decodeSafetensors(bytes, pathOrBytes);
  }
  if (pathOrBytes instanceof Uint8Array || pathOrBytes instanceof ArrayBuffer) {
    return decodeSafetensors(pathOrBytes);
  }
  throw new TypeError(`readSafetensors: expected a file path or a Uint8Array, got ${describeValue(pathOrBytes)}`);
}

interface Layout {
  header: Uint8Array; // length prefix + padded JSON header
  parts: Uint8Array[]; // tensor bytes, in file order
  total: number;
}

/** Validates the tensors and metadata and lays out the file. Throws before any file is touched. */
function layout(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Layout {
  if (!isPlainObject(tensors)) {
    throw new ShapeError(`safetensors: tensors must be an object of name -> Tensor, got ${describeValue(tensors)}`);
  }
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && metadata !== null) {
    if (!isPlainObject(metadata)) {
      throw new FormatError(`safetensors: metadata must be an object of string values, got ${describeValue(metadata)}`);
    }
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new FormatError(`safetensors: metadata value for key ${JSON.stringify(k)} must be a string, got ${describeValue(v)}`);
      }
      setOwn(meta, k, v);
    }
    header[METADATA_KEY] = meta;
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY) {
      throw new FormatError(`safetensors: "${METADATA_KEY}" is reserved and cannot be a tensor name`);
    }
    const t = tensors[name] as unknown;
    const where = `safetensors: tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(t)) throw new ShapeError(`${where} must be a Tensor { data, shape }, got ${describeValue(t)}`);
    const { data, shape } = t as { data: unknown; shape: unknown };
    const dtype = dtypeOf(data);
    if (dtype === undefined) {
      throw new ShapeError(`${where}: data must be a Float32Array, Int32Array or BigInt64Array, got ${describeValue(data)}`);
    }
    if (!Array.isArray(shape) || !shape.every(isOffset)) {
      throw new ShapeError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    let count = 1;
    for (const d of shape as number[]) count *= d;
    const arr = data as TensorData;
    if (count !== arr.length) {
      throw new ShapeError(`${where}: shape ${formatShape(shape)} has ${count} elements but data has ${arr.length}`);
    }
    const bytes = bytesOf(arr);
    setOwn(header, name, { dtype, shape: (shape as number[]).slice(), data_offsets: [offset, offset + bytes.byteLength] });
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const head = new Uint8Array(8 + padded);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.byteLength);
  return { header: head, parts, total: head.byteLength + offset };
}

/**
 * Encodes tensors (in sorted-name order, contiguous) and optional string metadata as safetensors bytes.
 * Throws ShapeError for an invalid tensor and FormatError for non-string metadata.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const { header, parts, total } = layout(tensors, metadata);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let pos = header.byteLength;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) {
    done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
  }
}

/**
 * Writes tensors and metadata to `path` atomically: everything is validated first, then written to a
 * temp file in the same folder, flushed, and renamed over `path`. On any failure the temp file is
 * removed and an existing file at `path` is left untouched.
 */
export function writeSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`writeSafetensors: path must be a non-empty string, got ${describeValue(path)}`);
  }
  const { header, parts } = layout(tensors, metadata);
  writeFileAtomic(
    path,
    (fd) => {
      writeAll(fd, header);
      for (const p of parts) writeAll(fd, p);
    },
    { createParents: false },
  );
}
