// The MLflow model folder format, written and read in one place: the MLmodel file (flavors, tensor
// signature, uuid, creation time) as MLflow's own writer lays it out, the Python environment files of
// the ONNX pyfunc flavor, the reader that finds a folder's files again, and the checker of a folder
// meant for `mlflow models serve` / KServe's `mlflow` format (MLServer).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { FormatError } from '../errors.js';
import { mlflowTensorSpecs, type MlflowTensorSpec, type OnnxSignature, type TensorSpec } from '../signature.js';
import { pyJsonDumps } from '../tracking/pyformat.js';
import { dumpYaml, parseYaml } from '../tracking/yaml.js';
import { packageVersion } from '../version.js';

export const MLMODEL_FILE = 'MLmodel';
export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const ONNX_FILE = 'model.onnx';

/** The MLflow version whose MLmodel layout these folders follow (recorded as `mlflow_version`). */
export const MLFLOW_VERSION = '2.22.0';
/** The oldest MLflow whose onnx flavor loads everything written here (the floor in requirements.txt). */
export const MLFLOW_MIN_VERSION = '2.9.2';
/** Python of the pyfunc environment. */
export const PYTHON_VERSION = '3.10.12';

// Oldest onnx / onnxruntime releases that load a model of each opset (and its IR version).
const ONNX_FOR_OPSET: Readonly<Record<number, string>> = { 17: '1.12.0', 18: '1.13.0', 19: '1.14.0', 20: '1.15.0', 21: '1.16.0' };
const ORT_FOR_OPSET: Readonly<Record<number, string>> = { 17: '1.13.1', 18: '1.14.0', 19: '1.15.0', 20: '1.17.0', 21: '1.18.0' };

/** An MLflow model signature: tensor specs (MLflow's JSON form) for the inputs and outputs. */
export interface ModelSignatureSpec {
  inputs: unknown[];
  outputs?: unknown[] | null;
}

/** What goes into an MLmodel file. */
export interface MlmodelSpec {
  /** The informer_node flavor: weights file and config file (null: none) in the folder. */
  informerNode?: { weights: string; configFile: string | null };
  /** The onnx and python_function flavors, for an ONNX file of this opset. */
  onnx?: { file: string; opset: number; pythonVersion?: string };
  signature?: ModelSignatureSpec;
  metadata?: Record<string, unknown>;
  /** For a model logged to a run. */
  artifactPath?: string;
  runId?: string;
  modelUuid: string;
  createdMs: number;
  sizeBytes: number;
}

/** Python's str(datetime) of a UTC time, as MLflow writes utc_time_created: 'YYYY-MM-DD HH:MM:SS.ffffff'. */
export function utcTimeCreated(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

/** The flavors an MLmodel spec declares (also recorded in the run's mlflow.log-model.history tag). */
export function mlmodelFlavors(spec: Pick<MlmodelSpec, 'informerNode' | 'onnx'>): Record<string, Record<string, unknown>> {
  const flavors: Record<string, Record<string, unknown>> = {};
  if (spec.informerNode) {
    flavors.informer_node = {
      // Not named `config`: MLflow drops flavor keys called `config` from the history tag.
      config_file: spec.informerNode.configFile,
      data: spec.informerNode.weights,
      informer_node_version: packageVersion(),
    };
  }
  if (spec.onnx) {
    flavors.onnx = {
      code: null,
      data: spec.onnx.file,
      onnx_version: ONNX_FOR_OPSET[spec.onnx.opset] ?? ONNX_FOR_OPSET[21],
      providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'],
    };
    flavors.python_function = {
      code: null,
      data: spec.onnx.file,
      env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
      loader_module: 'mlflow.onnx',
      python_version: spec.onnx.pythonVersion ?? PYTHON_VERSION,
    };
  }
  return flavors;
}

/** The signature as MLmodel and the history tag hold it: JSON strings in Python's json.dumps form. */
export function signatureStrings(sig: ModelSignatureSpec): { inputs: string; outputs: string | null; params: null } {
  return {
    inputs: pyJsonDumps(sig.inputs),
    outputs: sig.outputs === undefined || sig.outputs === null ? null : pyJsonDumps(sig.outputs),
    params: null,
  };
}

/** The MLmodel file's text (keys sorted and non-ASCII escaped, as MLflow's yaml.safe_dump writes it). */
export function mlmodelText(spec: MlmodelSpec): string {
  const m: Record<string, unknown> = {
    flavors: mlmodelFlavors(spec),
    mlflow_version: MLFLOW_VERSION,
    model_size_bytes: spec.sizeBytes,
    model_uuid: spec.modelUuid,
    utc_time_created: utcTimeCreated(spec.createdMs),
  };
  if (spec.artifactPath !== undefined) m.artifact_path = spec.artifactPath;
  if (spec.runId !== undefined) m.run_id = spec.runId;
  if (spec.signature !== undefined) m.signature = signatureStrings(spec.signature);
  if (spec.metadata !== undefined) m.metadata = spec.metadata;
  return dumpYaml(m, { allowUnicode: false });
}

/** requirements.txt, conda.yaml and python_env.yaml of the ONNX pyfunc flavor for this opset. */
export function pythonEnvFiles(opset: number, pythonVersion = PYTHON_VERSION): Record<string, string> {
  const reqs = [
    `mlflow>=${MLFLOW_MIN_VERSION}`,
    `onnx>=${ONNX_FOR_OPSET[opset] ?? ONNX_FOR_OPSET[21]}`,
    `onnxruntime>=${ORT_FOR_OPSET[opset] ?? ORT_FOR_OPSET[21]}`,
    'numpy',
  ];
  return {
    'requirements.txt': `${reqs.join('\n')}\n`,
    'conda.yaml': dumpYaml({
      channels: ['conda-forge'],
      dependencies: [`python=${pythonVersion}`, 'pip', { pip: reqs }],
      name: 'mlflow-env',
    }),
    'python_env.yaml': dumpYaml(
      { python: pythonVersion, build_dependencies: ['pip', 'setuptools', 'wheel'], dependencies: ['-r requirements.txt'] },
      { sortKeys: false },
    ),
  };
}

/** Total size of the files below `dir`. */
export function folderSize(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? folderSize(p) : fs.statSync(p).size;
  }
  return total;
}

/** Reads a model folder's MLmodel file. */
export function readMLmodel(dir: string): Record<string, unknown> {
  const file = path.join(dir, MLMODEL_FILE);
  if (!fs.existsSync(file)) throw new FormatError(`'${dir}' is not an MLflow model folder (no ${MLMODEL_FILE})`);
  const m = parseYaml(fs.readFileSync(file, 'utf8'));
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new FormatError(`${file} is not a YAML mapping`);
  return m as Record<string, unknown>;
}

/** Files of an informer-node model folder, from its MLmodel `informer_node` flavor. */
export function modelFiles(dir: string): { weights: string; config: string | null; onnx: string | null } {
  const flavors = (readMLmodel(dir).flavors ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const own = flavors.informer_node;
  if (own === undefined) throw new FormatError(`model at '${dir}' has no informer_node flavor`);
  const onnx = flavors.onnx?.data;
  return {
    weights: path.join(dir, String(own.data ?? WEIGHTS_FILE)),
    config: typeof own.config_file === 'string' ? path.join(dir, own.config_file) : null,
    onnx: typeof onnx === 'string' ? path.join(dir, onnx) : null,
  };
}

/** The keys an MLmodel written here may hold (the checker rejects others, e.g. misspellings). */
const MLMODEL_KEYS = [
  'artifact_path',
  'flavors',
  'metadata',
  'mlflow_version',
  'model_size_bytes',
  'model_uuid',
  'run_id',
  'signature',
  'utc_time_created',
];

export interface MlflowCheckReport {
  signature: OnnxSignature;
  opset: number;
  files: string[];
}

/**
 * Validates an MLflow model folder meant for serving: MLmodel keys (no unknown ones), the onnx and
 * python_function flavors pointing at an existing ONNX file loaded by mlflow.onnx, the environment
 * files, a tensor signature whose names, dtypes and shapes equal the ONNX graph's (batch as -1),
 * requirements naming mlflow, onnx and onnxruntime, and the ONNX file itself (checkOnnx). Throws
 * FormatError listing the problems.
 */
export function checkMlflowModelDir(
  dir: string,
  checkOnnx: (bytes: Uint8Array) => { inputs: TensorSpec[]; outputs: TensorSpec[]; opset: number },
): MlflowCheckReport {
  const problems: string[] = [];
  const read = (rel: string): Buffer | undefined => {
    try {
      return fs.readFileSync(path.join(dir, rel));
    } catch {
      problems.push(`missing file ${rel}`);
      return undefined;
    }
  };
  if (!fs.existsSync(path.join(dir, MLMODEL_FILE))) throw new FormatError(`${dir}: not an MLflow model folder (no MLmodel)`);
  // biome-ignore lint/suspicious/noExplicitAny: an untrusted document probed field by field below
  const m = readMLmodel(dir) as Record<string, any>;
  for (const k of Object.keys(m)) if (!MLMODEL_KEYS.includes(k)) problems.push(`MLmodel: unexpected key '${k}'`);
  const onnxF = m.flavors?.onnx;
  const py = m.flavors?.python_function;
  if (!onnxF || typeof onnxF.onnx_version !== 'string' || typeof onnxF.data !== 'string')
    problems.push('MLmodel: flavors.onnx must have data and onnx_version');
  if (py?.loader_module !== 'mlflow.onnx' || py.data !== onnxF?.data)
    problems.push("MLmodel: flavors.python_function must load the onnx flavor's file with loader_module mlflow.onnx");
  if (typeof py?.python_version !== 'string') problems.push('MLmodel: python_function.python_version missing');
  for (const env of [py?.env?.conda, py?.env?.virtualenv]) {
    if (typeof env !== 'string') problems.push('MLmodel: python_function.env must name conda and virtualenv files');
    else read(env);
  }
  if (!/^[0-9a-f]{32}$/.test(String(m.model_uuid))) problems.push('MLmodel: model_uuid must be 32 hex digits');
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/.test(String(m.utc_time_created))) problems.push('MLmodel: utc_time_created format');
  if (typeof m.mlflow_version !== 'string') problems.push('MLmodel: mlflow_version missing');
  if (!Number.isInteger(m.model_size_bytes)) problems.push('MLmodel: model_size_bytes missing');

  const reqs = read('requirements.txt')?.toString('utf8') ?? '';
  for (const pkg of ['mlflow', 'onnx', 'onnxruntime']) {
    if (!new RegExp(`^${pkg}([<>=!~ ]|$)`, 'm').test(reqs)) problems.push(`requirements.txt does not name ${pkg}`);
  }
  const bytes = typeof onnxF?.data === 'string' ? read(onnxF.data) : undefined;
  let report: ReturnType<typeof checkOnnx> | undefined;
  if (bytes) {
    try {
      report = checkOnnx(bytes);
    } catch (e) {
      problems.push(`${onnxF.data}: ${(e as Error).message}`);
    }
  }
  const side = (key: 'inputs' | 'outputs', graph: TensorSpec[] | undefined): void => {
    let specs: MlflowTensorSpec[];
    try {
      specs = JSON.parse(String(m.signature?.[key])) as MlflowTensorSpec[];
      if (!Array.isArray(specs)) throw new Error('not a list');
    } catch {
      problems.push(`MLmodel: signature.${key} must be a JSON list of tensor specs`);
      return;
    }
    if (!graph) return;
    const want = mlflowTensorSpecs(graph);
    const norm = (list: MlflowTensorSpec[]) => JSON.stringify(list.map((s) => ({ name: s.name, type: s.type, spec: s['tensor-spec'] })));
    if (norm(specs) !== norm(want))
      problems.push(`MLmodel: signature.${key} ${JSON.stringify(specs)} does not match the ONNX graph ${JSON.stringify(want)}`);
  };
  side('inputs', report?.inputs);
  side('outputs', report?.outputs);
  if (problems.length) throw new FormatError(`${dir}: invalid MLflow model:\n  ${problems.join('\n  ')}`);
  const r = report as NonNullable<typeof report>;
  return { signature: { inputs: r.inputs, outputs: r.outputs }, opset: r.opset, files: fs.readdirSync(dir).sort() };
}
