// Triton model repository for the ONNX export: <repo>/<name>/config.pbtxt and <repo>/<name>/1/model.onnx
// (platform onnxruntime_onnx), plus a reader of the protobuf text format subset config.pbtxt uses, so the
// repository can be checked against the ONNX graph it serves.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ConfigError, FormatError } from '../errors.js';
import { checkOnnxModel } from '../artifact/onnx.js';
import type { OnnxSignature, TensorSpec } from '../signature.js';

export interface TritonOptions {
  /**
   * 0 (default): the batch is an explicit -1 dim of every tensor and Triton passes requests through.
   * N > 0: Triton batches requests itself (dynamic_batching) up to N; dims then omit the batch dim.
   */
  maxBatchSize?: number;
}

const TRITON_DTYPE: Readonly<Record<string, string>> = { float32: 'TYPE_FP32', int64: 'TYPE_INT64' };
const CONFIG_KEYS = ['name', 'platform', 'max_batch_size', 'input', 'output', 'dynamic_batching'];
const TENSOR_KEYS = ['name', 'data_type', 'dims'];

/** Triton model names are path components; keep them to the DNS-1123-like set KServe also accepts. */
export function checkModelName(name: unknown): string {
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
    throw new ConfigError(
      `model name must be 1-63 lowercase letters, digits or '-', starting and ending alphanumeric, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

function maxBatch(opts: TritonOptions): number {
  const n = opts.maxBatchSize ?? 0;
  if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(`maxBatchSize must be an integer >= 0, got ${String(n)}`);
  return n;
}

function dimsFor(s: TensorSpec, batched: boolean): number[] {
  const dims = s.shape.map((d) => (typeof d === 'number' ? d : -1));
  return batched ? dims.slice(1) : dims;
}

/** config.pbtxt of a model serving the given ONNX signature. */
export function tritonConfig(name: string, sig: OnnxSignature, opts: TritonOptions = {}): string {
  const mb = maxBatch(opts);
  const block = (specs: TensorSpec[]) =>
    specs
      .map(
        (s) => `  {\n    name: "${s.name}"\n    data_type: ${TRITON_DTYPE[s.dtype]}\n    dims: [ ${dimsFor(s, mb > 0).join(', ')} ]\n  }`,
      )
      .join(',\n');
  return [
    `name: "${checkModelName(name)}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${mb}`,
    `input [\n${block(sig.inputs)}\n]`,
    `output [\n${block(sig.outputs)}\n]`,
    ...(mb > 0 ? ['dynamic_batching { }'] : []),
    '',
  ].join('\n');
}

/** Files of a Triton model repository (relative path -> contents) holding one model, version 1. */
export function tritonRepositoryFiles(
  name: string,
  sig: OnnxSignature,
  onnxBytes: Uint8Array,
  opts: TritonOptions = {},
): Record<string, string | Uint8Array> {
  return { [`${name}/config.pbtxt`]: tritonConfig(name, sig, opts), [`${name}/1/model.onnx`]: onnxBytes };
}

// ---------------------------------------------------------------------------------------------------
// Protobuf text format (the subset of config.pbtxt: scalars, enums, lists, nested messages).

export type PbValue = string | number | PbMessage;
export interface PbMessage {
  [field: string]: PbValue[];
}

export function parsePbtxt(text: string): PbMessage {
  const tokens =
    text.match(/#[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[A-Za-z_][\w.]*|[{}[\]:,;]|\S/g) ?? [];
  const toks = tokens.filter((t) => !t.startsWith('#'));
  let i = 0;
  const fail = (msg: string): never => {
    throw new FormatError(`config.pbtxt: ${msg} at token ${i} (${JSON.stringify(toks[i] ?? 'end of file')})`);
  };
  const scalar = (): PbValue => {
    const t = toks[i++];
    if (t === undefined) return fail('unexpected end');
    if (t === '{') return message('}');
    if (/^["']/.test(t)) return JSON.parse(t[0] === "'" ? `"${t.slice(1, -1).replace(/"/g, '\\"')}"` : t) as string;
    if (/^-?\d/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) return t;
    return fail('expected a value');
  };
  const message = (end: string | undefined): PbMessage => {
    const out: PbMessage = {};
    while (i < toks.length && toks[i] !== end) {
      const name = toks[i++] as string;
      if (!/^[A-Za-z_]/.test(name)) fail('expected a field name');
      if (toks[i] === ':') i++;
      const list = (out[name] ??= []);
      if (toks[i] === '[') {
        i++;
        while (toks[i] !== ']') {
          list.push(scalar());
          if (toks[i] === ',') i++;
          else if (toks[i] !== ']') fail("expected ',' or ']'");
        }
        i++;
      } else {
        list.push(scalar());
      }
      if (toks[i] === ',' || toks[i] === ';') i++;
    }
    if (end !== undefined) {
      if (toks[i] !== end) fail(`expected '${end}'`);
      i++;
    }
    return out;
  };
  return message(undefined);
}

// ---------------------------------------------------------------------------------------------------
// Checker

export interface TritonCheckReport {
  name: string;
  maxBatchSize: number;
  versions: number[];
  signature: OnnxSignature;
}

/**
 * Validates one model of a Triton repository written by tritonRepositoryFiles: config.pbtxt parses
 * and has only the keys written here, its name is the folder name, platform onnxruntime_onnx,
 * numeric version folders hold a model.onnx passing checkOnnxModel, and the config's input / output
 * names, data types and dims equal the graph's. Throws FormatError listing the problems.
 */
export function checkTritonRepository(repoDir: string, name?: string): TritonCheckReport {
  const models = fs
    .readdirSync(repoDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  const model = name ?? (models.length === 1 ? models[0] : undefined);
  if (model === undefined || !models.includes(model))
    throw new FormatError(`${repoDir}: expected one model folder${name ? ` '${name}'` : ''}, found [${models.join(', ')}]`);
  const dir = path.join(repoDir, model);
  const problems: string[] = [];
  let cfg: PbMessage;
  try {
    cfg = parsePbtxt(fs.readFileSync(path.join(dir, 'config.pbtxt'), 'utf8'));
  } catch (e) {
    throw new FormatError(`${dir}: cannot read config.pbtxt: ${(e as Error).message}`, { cause: e });
  }
  const one = (m: PbMessage, k: string): PbValue | undefined => {
    const v = m[k];
    if (v !== undefined && v.length !== 1) problems.push(`config.pbtxt: '${k}' given ${v.length} times`);
    return v?.[0];
  };
  for (const k of Object.keys(cfg)) if (!CONFIG_KEYS.includes(k)) problems.push(`config.pbtxt: unexpected key '${k}'`);
  if (one(cfg, 'name') !== model)
    problems.push(`config.pbtxt: name ${JSON.stringify(one(cfg, 'name'))} must equal the folder name '${model}'`);
  if (one(cfg, 'platform') !== 'onnxruntime_onnx') problems.push('config.pbtxt: platform must be "onnxruntime_onnx"');
  const mb = one(cfg, 'max_batch_size');
  if (typeof mb !== 'number' || !Number.isInteger(mb) || mb < 0) problems.push('config.pbtxt: max_batch_size must be an integer >= 0');
  const batched = typeof mb === 'number' && mb > 0;
  const tensors = (key: 'input' | 'output') =>
    (cfg[key] ?? []).map((t) => {
      if (typeof t !== 'object') {
        problems.push(`config.pbtxt: ${key} entries must be messages`);
        return undefined;
      }
      for (const k of Object.keys(t)) if (!TENSOR_KEYS.includes(k)) problems.push(`config.pbtxt: ${key} has unexpected key '${k}'`);
      return { name: one(t, 'name'), data_type: one(t, 'data_type'), dims: t.dims ?? [] };
    });
  const cfgIn = tensors('input');
  const cfgOut = tensors('output');

  const versions = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
    .map((e) => Number(e.name))
    .sort((a, b) => a - b);
  if (versions.length === 0) problems.push(`${model}: no numeric version folder`);
  let sig: OnnxSignature | undefined;
  for (const v of versions) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(path.join(dir, String(v), 'model.onnx'));
    } catch {
      problems.push(`${model}/${v}: missing model.onnx`);
      continue;
    }
    try {
      const r = checkOnnxModel(bytes);
      sig = { inputs: r.inputs, outputs: r.outputs };
    } catch (e) {
      problems.push(`${model}/${v}/model.onnx: ${(e as Error).message}`);
      continue;
    }
    const compare = (key: string, got: typeof cfgIn, want: TensorSpec[]) => {
      const fmt = (list: { name: unknown; data_type: unknown; dims: unknown[] }[]) =>
        list
          .map((t) => `${String(t.name)}:${String(t.data_type)}[${t.dims.join(',')}]`)
          .sort()
          .join(' ');
      const expected = want.map((s) => ({ name: s.name, data_type: TRITON_DTYPE[s.dtype], dims: dimsFor(s, batched) }));
      const g = fmt(got.filter((t) => t !== undefined));
      if (g !== fmt(expected)) problems.push(`config.pbtxt ${key} {${g}} does not match the ONNX graph {${fmt(expected)}}`);
    };
    compare('input', cfgIn, sig.inputs);
    compare('output', cfgOut, sig.outputs);
  }
  if (problems.length) throw new FormatError(`${repoDir}: invalid Triton model repository:\n  ${problems.join('\n  ')}`);
  return { name: model, maxBatchSize: mb as number, versions, signature: sig as OnnxSignature };
}
