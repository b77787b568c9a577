// MLflow model folder (MLmodel with the `onnx` and `python_function` flavors, a tensor signature,
// model.onnx and the Python environment files) as written by mlflow.onnx.save_model, so that
// `mlflow models serve` and KServe's `mlflow` model format (MLServer) can load it.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { parse, stringify } from 'yaml';

import { toReferenceConfig, type InformerConfig } from '../config.js';
import { FormatError } from '../errors.js';
import { checkOnnxModel, onnxSignature, type OnnxSignature, type TensorSpec } from './onnx.js';

/** MLflow version recorded in MLmodel (the oldest 2.x whose onnx flavor reads everything written here). */
export const MLFLOW_VERSION = '2.9.2';
export const PYTHON_VERSION = '3.10.14';

// Oldest onnx / onnxruntime releases that load a model of each opset (and its IR version).
const ONNX_FOR_OPSET: Readonly<Record<number, string>> = { 17: '1.12.0', 18: '1.13.0', 19: '1.14.0', 20: '1.15.0', 21: '1.16.0' };
const ORT_FOR_OPSET: Readonly<Record<number, string>> = { 17: '1.13.1', 18: '1.14.0', 19: '1.15.0', 20: '1.17.0', 21: '1.18.0' };

/** The keys this writer puts in MLmodel (the checker rejects others, e.g. misspellings). */
const MLMODEL_KEYS = ['flavors', 'metadata', 'mlflow_version', 'model_size_bytes', 'model_uuid', 'signature', 'utc_time_created'];

export interface MlflowOptions {
  /** Python version of the pyfunc environment (default PYTHON_VERSION). */
  pythonVersion?: string;
}

/** JSON with Python's json.dumps separators (", " and ": "), as MLflow writes signatures. */
function pyJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pyJson(x)}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}

/** MLflow tensor-spec JSON of one signature side (batch dim as -1). */
export function mlflowTensorSpecs(specs: readonly TensorSpec[]): string {
  return pyJson(specs.map((s) => ({ type: 'tensor', 'tensor-spec': { dtype: s.dtype, shape: s.shape.map((d) => (typeof d === 'number' ? d : -1)) }, name: s.name })));
}

function utcNow(): string {
  // MLflow's format: 'YYYY-MM-DD HH:MM:SS.ffffff'
  return `${new Date().toISOString().replace('T', ' ').replace('Z', '')}000`;
}

/**
 * The files of an MLflow model folder (relative path -> contents) for a model of `config` whose ONNX
 * bytes are `onnxBytes` (opset `opset`).
 */
export function mlflowModelFiles(config: InformerConfig, onnxBytes: Uint8Array, opset: number, opts: MlflowOptions = {}): Record<string, string | Uint8Array> {
  const python = opts.pythonVersion ?? PYTHON_VERSION;
  const onnxVersion = ONNX_FOR_OPSET[opset] ?? ONNX_FOR_OPSET[21];
  const ortVersion = ORT_FOR_OPSET[opset] ?? ORT_FOR_OPSET[21];
  const requirements = [`mlflow>=${MLFLOW_VERSION}`, `onnx>=${onnxVersion}`, `onnxruntime>=${ortVersion}`, 'numpy'];
  const files: Record<string, string | Uint8Array> = {
    'model.onnx': onnxBytes,
    'requirements.txt': `${requirements.join('\n')}\n`,
    'conda.yaml': stringify({
      channels: ['conda-forge'],
      dependencies: [`python=${python}`, 'pip', { pip: requirements }],
      name: 'mlflow-env',
    }),
    'python_env.yaml': stringify({ python, build_dependencies: ['pip', 'setuptools', 'wheel'], dependencies: ['-r requirements.txt'] }),
  };
  const size = Object.values(files).reduce((s, f) => s + (typeof f === 'string' ? Buffer.byteLength(f) : f.length), 0);
  const sig = onnxSignature(config);
  const mlmodel = {
    flavors: {
      onnx: {
        code: null,
        data: 'model.onnx',
        onnx_version: onnxVersion,
        providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'],
      },
      python_function: {
        code: null,
        data: 'model.onnx',
        env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
        loader_module: 'mlflow.onnx',
        python_version: python,
      },
    },
    metadata: { informer_config: toReferenceConfig(config), onnx_opset: opset, producer: 'informer-node' },
    mlflow_version: MLFLOW_VERSION,
    model_size_bytes: size,
    model_uuid: randomUUID().replace(/-/g, ''),
    signature: { inputs: mlflowTensorSpecs(sig.inputs), outputs: mlflowTensorSpecs(sig.outputs), params: null },
    utc_time_created: utcNow(),
  };
  files.MLmodel = stringify(mlmodel, { lineWidth: 0 });
  return files;
}

export interface MlflowCheckReport {
  signature: OnnxSignature;
  opset: number;
  files: string[];
}

interface SpecJson {
  type?: unknown;
  name?: unknown;
  'tensor-spec'?: { dtype?: unknown; shape?: unknown };
}

/**
 * Validates an MLflow model folder written by mlflowModelFiles: MLmodel keys (no unknown ones), both
 * flavors pointing at an existing model.onnx loaded by mlflow.onnx, the environment files, a tensor
 * signature whose names, dtypes and shapes equal the ONNX graph's (batch as -1), requirements naming
 * mlflow, onnx and onnxruntime, and the ONNX file itself (checkOnnxModel). Throws FormatError listing
 * the problems.
 */
export function checkMlflowModelDir(dir: string): MlflowCheckReport {
  const problems: string[] = [];
  const read = (rel: string): Buffer | undefined => {
    try {
      return fs.readFileSync(path.join(dir, rel));
    } catch {
      problems.push(`missing file ${rel}`);
      return undefined;
    }
  };
  const text = read('MLmodel');
  if (text === undefined) throw new FormatError(`${dir}: not an MLflow model folder (no MLmodel)`);
  const m = parse(text.toString('utf8')) as Record<string, any>;
  for (const k of Object.keys(m ?? {})) if (!MLMODEL_KEYS.includes(k)) problems.push(`MLmodel: unexpected key '${k}'`);
  const onnxF = m?.flavors?.onnx;
  const py = m?.flavors?.python_function;
  if (!onnxF || typeof onnxF.onnx_version !== 'string' || onnxF.data !== 'model.onnx') problems.push('MLmodel: flavors.onnx must have data: model.onnx and onnx_version');
  if (!py || py.loader_module !== 'mlflow.onnx' || py.data !== 'model.onnx') problems.push('MLmodel: flavors.python_function must load model.onnx with loader_module mlflow.onnx');
  if (typeof py?.python_version !== 'string') problems.push('MLmodel: python_function.python_version missing');
  for (const env of [py?.env?.conda, py?.env?.virtualenv]) {
    if (typeof env !== 'string') problems.push('MLmodel: python_function.env must name conda and virtualenv files');
    else read(env);
  }
  if (!/^[0-9a-f]{32}$/.test(String(m?.model_uuid))) problems.push('MLmodel: model_uuid must be 32 hex digits');
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/.test(String(m?.utc_time_created))) problems.push('MLmodel: utc_time_created format');
  if (typeof m?.mlflow_version !== 'string') problems.push('MLmodel: mlflow_version missing');
  if (!Number.isInteger(m?.model_size_bytes)) problems.push('MLmodel: model_size_bytes missing');

  const reqs = read('requirements.txt')?.toString('utf8') ?? '';
  for (const pkg of ['mlflow', 'onnx', 'onnxruntime']) {
    if (!new RegExp(`^${pkg}([<>=!~ ]|$)`, 'm').test(reqs)) problems.push(`requirements.txt does not name ${pkg}`);
  }
  const bytes = read('model.onnx');
  let report: ReturnType<typeof checkOnnxModel> | undefined;
  if (bytes) {
    try {
      report = checkOnnxModel(bytes);
    } catch (e) {
      problems.push(`model.onnx: ${(e as Error).message}`);
    }
  }
  const side = (key: 'inputs' | 'outputs', graph: TensorSpec[] | undefined) => {
    let specs: SpecJson[];
    try {
      specs = JSON.parse(String(m?.signature?.[key])) as SpecJson[];
      if (!Array.isArray(specs)) throw new Error('not a list');
    } catch {
      problems.push(`MLmodel: signature.${key} must be a JSON list of tensor specs`);
      return;
    }
    if (!graph) return;
    const want = JSON.parse(mlflowTensorSpecs(graph)) as SpecJson[];
    if (JSON.stringify(specs) !== JSON.stringify(want)) {
      problems.push(`MLmodel: signature.${key} ${JSON.stringify(specs)} does not match the ONNX graph ${JSON.stringify(want)}`);
    }
  };
  side('inputs', report?.inputs);
  side('outputs', report?.outputs);
  if (problems.length) throw new FormatError(`${dir}: invalid MLflow model:\n  ${problems.join('\n  ')}`);
  const r = report as NonNullable<typeof report>;
  return { signature: { inputs: r.inputs, outputs: r.outputs }, opset: r.opset, files: fs.readdirSync(dir).sort() };
}
