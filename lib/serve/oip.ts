// Open Inference Protocol v2 (KServe V2) JSON: model metadata, and parsing/validating an inference
// request into a model Batch. Every problem is a RequestError with an HTTP status and a message that
// names the input and what was expected; nothing malformed reaches the model.

import type { Batch } from '../model.js';
import { BATCH_KEYS, oipModelMetadata, type ModelSignature } from '../signature.js';

/** An error answered as `{"error": message}` with this HTTP status (the server reads `statusCode`). */
export class RequestError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}
Object.defineProperty(RequestError.prototype, 'name', { value: 'RequestError', writable: true, enumerable: false, configurable: true });

export { modelSignature, type ModelSignature } from '../signature.js';

/** The model metadata response (-1 for the batch dimension). */
export const modelMetadata = oipModelMetadata;

export interface InferRequest {
  id?: string;
  batch: Batch;
  rows: number;
}

function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

const bad = (msg: string): RequestError => new RequestError(400, msg);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and validates an inference request body against `sig`. */
export function parseInferRequest(body: unknown, sig: ModelSignature): InferRequest {
  if (!isObject(body)) throw bad(`the request body must be a JSON object with "inputs", got ${show(body)}`);
  const { id, inputs, outputs, parameters } = body;
  if (id !== undefined && typeof id !== 'string') throw bad(`"id" must be a string, got ${show(id)}`);
  if (parameters !== undefined && !isObject(parameters)) throw bad('"parameters" must be an object');
  if (outputs !== undefined) checkOutputs(outputs, sig.output.name);
  if (!Array.isArray(inputs))
    throw bad(`"inputs" must be an array of tensors (${sig.inputs.map((i) => i.name).join(', ')}), got ${show(inputs)}`);

  const byName = new Map<string, Record<string, unknown>>();
  inputs.forEach((inp, k) => {
    if (!isObject(inp)) throw bad(`inputs[${k}] must be an object { name, shape, datatype, data }`);
    const { name } = inp;
    if (typeof name !== 'string') throw bad(`inputs[${k}].name must be a string`);
    if (!sig.inputs.some((s) => s.name === name))
      throw bad(`unknown input ${show(name)}; the model takes ${sig.inputs.map((s) => s.name).join(', ')}`);
    if (byName.has(name)) throw bad(`input ${show(name)} is given twice`);
    byName.set(name, inp);
  });
  const missing = sig.inputs.filter((s) => !byName.has(s.name)).map((s) => s.name);
  if (missing.length > 0)
    throw bad(
      `missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the model takes ${sig.inputs.map((s) => s.name).join(', ')}`,
    );

  let rows = -1;
  let first = '';
  const batch = {} as Batch;
  sig.inputs.forEach((spec, i) => {
    const inp = byName.get(spec.name)!;
    const shape = checkShape(inp, spec);
    if (rows === -1) [rows, first] = [shape[0]!, spec.name];
    else if (shape[0] !== rows) throw bad(`inputs have different batch sizes: ${first} has ${rows}, ${spec.name} has ${shape[0]}`);
    batch[BATCH_KEYS[i]!] = { data: readData(inp.data, shape, spec.name), shape };
  });
  const req: InferRequest = { batch, rows };
  if (id !== undefined) req.id = id;
  return req;
}

function checkOutputs(outputs: unknown, name: string): void {
  if (!Array.isArray(outputs)) throw bad('"outputs" must be an array of { name }');
  for (const o of outputs) {
    if (!isObject(o) || typeof o.name !== 'string') throw bad('"outputs" entries must be objects with a "name"');
    if (o.name !== name) throw bad(`unknown output ${show(o.name)}; the model has ${show(name)}`);
  }
}

function checkShape(inp: Record<string, unknown>, spec: ModelSignature['inputs'][number]): number[] {
  const { name, dims, labels } = spec;
  const want = `[batch, ${dims.join(', ')}] (batch, ${labels.join(', ')})`;
  if (inp.datatype !== 'FP32') {
    throw bad(`input ${name} has datatype ${show(inp.datatype)}; the model takes FP32`);
  }
  const shape = inp.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw bad(`input ${name}: "shape" must be an array of non-negative integers, expected ${want}`);
  }
  if (shape.length !== dims.length + 1 || dims.some((d, i) => shape[i + 1] !== d)) {
    throw bad(`input ${name} has shape [${shape.join(', ')}]; the model takes ${want}`);
  }
  if ((shape[0] as number) < 1) throw bad(`input ${name}: the batch size must be at least 1`);
  return shape as number[];
}

/**
 * Row-major data, flat or nested: each nesting level must match the leading dims of `shape` and the
 * innermost arrays hold the product of the remaining dims ([[1,2],[3,4]] or [1,2,3,4] for [2, 2]).
 */
function readData(data: unknown, shape: number[], name: string): Float32Array {
  if (!Array.isArray(data)) throw bad(`input ${name}: "data" must be an array of numbers (flat or nested, row-major), got ${show(data)}`);
  const total = shape.reduce((a, b) => a * b, 1);
  // Only the batch dimension is free (the others are the model's), so comparing the outermost array
  // with it proves `total` is the number of values actually sent before any memory is allocated.
  const nested = data.length > 0 && Array.isArray(data[0]);
  if (nested ? data.length !== shape[0] : data.length !== total) {
    throw bad(
      nested
        ? `input ${name}: nested data has ${data.length} entries at depth 0, shape [${shape.join(', ')}] needs ${shape[0]}`
        : `input ${name} has ${data.length} values; shape [${shape.join(', ')}] needs ${total}`,
    );
  }
  const out = new Float32Array(total);
  const fill = (node: unknown[], level: number, offset: number): number => {
    if (node.length > 0 && Array.isArray(node[0])) {
      if (level >= shape.length - 1 || node.length !== shape[level]) {
        throw bad(
          `input ${name}: nested data has ${node.length} entries at depth ${level}, shape [${shape.join(', ')}] needs ${shape[level] ?? 'numbers there'}`,
        );
      }
      for (const child of node) {
        if (!Array.isArray(child)) throw bad(`input ${name}: nested data mixes arrays and ${show(child)} at depth ${level}`);
        offset = fill(child, level + 1, offset);
      }
      return offset;
    }
    const want = shape.slice(level).reduce((a, b) => a * b, 1);
    if (node.length !== want) {
      throw bad(
        level === 0
          ? `input ${name} has ${node.length} values; shape [${shape.join(', ')}] needs ${want}`
          : `input ${name}: an array at depth ${level} has ${node.length} values; shape [${shape.join(', ')}] needs ${want} there`,
      );
    }
    for (let i = 0; i < node.length; i++) {
      const v = node[i];
      if (typeof v !== 'number') {
        const hint = v === null ? ' (NaN and Infinity are not JSON numbers; JSON.stringify writes them as null)' : '';
        throw bad(`input ${name}: element ${offset + i} is ${show(v)}, not a number${hint}`);
      }
      const f = Math.fround(v);
      if (!Number.isFinite(f)) throw bad(`input ${name}: element ${offset + i} (${v}) is outside the FP32 range`);
      out[offset + i] = f;
    }
    return offset + node.length;
  };
  fill(data, 0, 0);
  return out;
}

/** The inference response for one request's rows of the forecast. */
export function inferResponse(
  modelName: string,
  version: string,
  id: string | undefined,
  rows: number,
  out: Float32Array,
  sig: ModelSignature,
): object {
  const res: Record<string, unknown> = { model_name: modelName, model_version: version };
  if (id !== undefined) res.id = id;
  res.outputs = [{ name: sig.output.name, shape: [rows, ...sig.output.dims], datatype: 'FP32', data: Array.from(out) }];
  return res;
}
