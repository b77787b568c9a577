// MLflow model folders: logModelToRun writes one under a run's artifacts (MLmodel with flavors and
// signature, the weights as safetensors, config.json, and model.onnx with its Python env files when
// an ONNX writer is given), atomically; resolveModelUri / loadModel find it again from a runs:/ or
// models:/ URI. Nothing here imports the Informer class: the model only needs save(path) and config.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TrackingError } from './errors.js';
import { writeDirAtomic } from '../fs/atomic.js';
import { pyJsonDumps } from './pyformat.js';
import { dumpYaml, parseYaml } from './yaml.js';
import { uriToPath } from './uri.js';
import { validateArtifactPath } from './validate.js';
import { getLatestModelVersion, getModelVersion, getModelVersionByAlias, registerModel, searchModelVersions } from './registry.js';
import type { Run } from './run.js';
import type { RunStore } from './store.js';

/** What logModel needs from a model: Informer satisfies it (save writes one safetensors file). */
export interface SavableModel {
  /** Writes the weights to this file path (`<model folder>/model.safetensors`). */
  save(path: string): void;
  /** Hyper-parameters, written as `config.json`. */
  config?: unknown;
}

/** One tensor of a signature, MLflow's tensor-spec form. */
export interface TensorSpec {
  name?: string;
  type: 'tensor';
  'tensor-spec': { dtype: string; shape: number[] };
}

/** One column of a column-based signature. */
export interface ColSpec {
  name?: string;
  type: string;
  required?: boolean;
}

/** MLflow model signature; written into MLmodel as JSON strings, as MLflow does. */
export interface ModelSignature {
  inputs: Array<TensorSpec | ColSpec>;
  outputs?: Array<TensorSpec | ColSpec>;
}

/** Options of logModel. */
export interface LogModelOptions {
  /** Input/output schema, e.g. `{ inputs: [{ name: 'x_enc', type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 96, 7] } }] }`. */
  signature?: ModelSignature;
  /** Writes a self-contained ONNX file to the given path; adds the `onnx` and `python_function` flavors. */
  writeOnnx?: (path: string) => void;
  /** `onnx_version` of the onnx flavor and the onnx pin in requirements.txt. Default '1.16.0'. */
  onnxVersion?: string;
  /** `python_version` of the python_function flavor. Default '3.10.12'. */
  pythonVersion?: string;
  /** `mlflow_version` written to MLmodel and pinned in requirements.txt. Default '2.22.0'. */
  mlflowVersion?: string;
  /** requirements.txt lines for the ONNX pyfunc. Default mlflow, onnx, onnxruntime. */
  pipRequirements?: string[];
  /** Free-form `metadata` in MLmodel. */
  metadata?: Record<string, unknown>;
  /** More files to put in the model folder (name -> content), e.g. a scaler. */
  extraFiles?: Record<string, string | Uint8Array>;
  /** Also register the model under this name (creating the registered model if needed). */
  registeredModelName?: string;
}

/** What logModel returns. */
export interface ModelInfo {
  artifactPath: string;
  /** `runs:/<run id>/<artifact path>`. */
  modelUri: string;
  runId: string;
  modelUuid: string;
  utcTimeCreated: string;
  flavors: Record<string, Record<string, unknown>>;
  /** The model folder on disk. */
  modelDir: string;
  /** Set when `registeredModelName` was given. */
  registeredModelVersion?: number;
}

export const MLMODEL_FILE = 'MLmodel';
export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const ONNX_FILE = 'model.onnx';

// Python's str(datetime) of a UTC time: 'YYYY-MM-DD HH:MM:SS.ffffff'.
function utcTimeCreated(ms: number): string {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

function packageVersion(): string | undefined {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

function folderSize(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? folderSize(p) : fs.statSync(p).size;
  }
  return total;
}

function writePythonEnv(dir: string, o: LogModelOptions): void {
  const py = o.pythonVersion ?? '3.10.12';
  const reqs = o.pipRequirements ?? [`mlflow==${o.mlflowVersion ?? '2.22.0'}`, `onnx==${o.onnxVersion ?? '1.16.0'}`, 'onnxruntime'];
  fs.writeFileSync(path.join(dir, 'requirements.txt'), reqs.join('\n') + '\n');
  fs.writeFileSync(
    path.join(dir, 'conda.yaml'),
    dumpYaml({ channels: ['conda-forge'], dependencies: [`python=${py}`, 'pip', { pip: reqs }], name: 'mlflow-env' }),
  );
  fs.writeFileSync(
    path.join(dir, 'python_env.yaml'),
    dumpYaml({ python: py, build_dependencies: ['pip', 'setuptools', 'wheel'], dependencies: ['-r requirements.txt'] }, { sortKeys: false }),
  );
}

/**
 * Saves `model` as an MLflow model folder at `artifacts/<artifactPath>` of `run`: `model.safetensors`
 * (model.save), `config.json` (model.config), `MLmodel` (flavor `informer_node`; plus `onnx` and
 * `python_function` with conda.yaml / python_env.yaml / requirements.txt when `writeOnnx` is given),
 * then appends it to the run's `mlflow.log-model.history` tag. The folder is built aside and renamed
 * into place, so it is either complete or absent. An existing artifact path is a TrackingError.
 */
export function logModelToRun(run: Run, artifactPath: string, model: SavableModel, options: LogModelOptions = {}): ModelInfo {
  const rel = validateArtifactPath(artifactPath);
  if (typeof model?.save !== 'function') throw new TypeError('logModel: the model must have a save(path) method');
  const dest = run.artifactDir(rel);
  if (fs.existsSync(dest)) throw new TrackingError(`run ${run.runId} already has an artifact at '${rel}'`);
  const store = run.store;
  let flavors: Record<string, Record<string, unknown>> = {};
  let modelUuid = '';
  let created = '';
  let signature: Record<string, unknown> | undefined;
  // Built in a staging folder inside the run folder (same filesystem; MLflow ignores it) and renamed
  // into place, so the model folder is either complete or absent.
  const fill = (tmp: string): void => {
    model.save(path.join(tmp, WEIGHTS_FILE));
    if (model.config !== undefined) fs.writeFileSync(path.join(tmp, CONFIG_FILE), JSON.stringify(model.config, null, 2) + '\n');
    for (const [name, content] of Object.entries(options.extraFiles ?? {})) {
      const p = path.join(tmp, validateArtifactPath(name));
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
    }
    flavors = {
      informer_node: {
        // Not named `config`: MLflow drops flavor keys called `config` from the history tag.
        config_file: model.config !== undefined ? CONFIG_FILE : null,
        data: WEIGHTS_FILE,
        informer_node_version: packageVersion() ?? null,
      },
    };
    if (options.writeOnnx !== undefined) {
      options.writeOnnx(path.join(tmp, ONNX_FILE));
      if (!fs.existsSync(path.join(tmp, ONNX_FILE))) throw new TrackingError(`writeOnnx did not create ${ONNX_FILE}`);
      flavors.onnx = {
        code: null,
        data: ONNX_FILE,
        onnx_version: options.onnxVersion ?? '1.16.0',
        providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'],
      };
      flavors.python_function = {
        code: null,
        data: ONNX_FILE,
        env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
        loader_module: 'mlflow.onnx',
        python_version: options.pythonVersion ?? '3.10.12',
      };
    }
    modelUuid = store.randomHex(16);
    created = utcTimeCreated(store.now());
    const mlmodel: Record<string, unknown> = {
      artifact_path: rel,
      flavors,
      mlflow_version: options.mlflowVersion ?? '2.22.0',
      model_size_bytes: folderSize(tmp),
      model_uuid: modelUuid,
      run_id: run.runId,
      utc_time_created: created,
    };
    signature =
      options.signature === undefined
        ? undefined
        : {
            inputs: pyJsonDumps(options.signature.inputs),
            outputs: options.signature.outputs === undefined ? null : pyJsonDumps(options.signature.outputs),
            params: null,
          };
    if (signature !== undefined) mlmodel.signature = signature;
    if (options.metadata !== undefined) mlmodel.metadata = options.metadata;
    if (options.writeOnnx !== undefined) writePythonEnv(tmp, options);
    // MLflow writes MLmodel with yaml.safe_dump's defaults, i.e. non-ASCII escaped.
    fs.writeFileSync(path.join(tmp, MLMODEL_FILE), dumpYaml(mlmodel, { allowUnicode: false }));
  };
  let placed: boolean;
  try {
    placed = writeDirAtomic(dest, fill, { stagingParent: path.dirname(run.artifactDir()) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).syscall === undefined) throw e;
    throw new TrackingError(`cannot write the model at '${rel}' in run ${run.runId}: ${(e as Error).message}`, { cause: e });
  }
  if (!placed) throw new TrackingError(`run ${run.runId} already has an artifact at '${rel}'`);
  const entry: Record<string, unknown> = {
    run_id: run.runId,
    artifact_path: rel,
    utc_time_created: created,
    model_uuid: modelUuid,
    flavors,
  };
  if (signature !== undefined) entry.signature = signature;
  run.recordLoggedModel(entry);
  const info: ModelInfo = {
    artifactPath: rel,
    modelUri: `runs:/${run.runId}/${rel}`,
    runId: run.runId,
    modelUuid,
    utcTimeCreated: created,
    flavors,
    modelDir: dest,
  };
  if (options.registeredModelName !== undefined) {
    info.registeredModelVersion = registerModel(store, info.modelUri, options.registeredModelName).version;
  }
  return info;
}

/**
 * The local model folder a model URI names: `runs:/<run id>/<path>`, `models:/<name>/<version>`,
 * `models:/<name>/@<alias>`, `models:/<name>/latest`, `models:/<name>/<stage>`, a `file://` URI or a path.
 */
export function resolveModelUri(store: RunStore, uri: string, depth = 0): string {
  if (depth > 8) throw new TrackingError(`model URI '${uri}' refers to itself through models:/ sources`);
  let dir: string;
  if (uri.startsWith('runs:/')) {
    const m = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(uri);
    if (m === null) throw new TrackingError(`malformed runs:/ URI '${uri}'; expected runs:/<run id>/<artifact path>`);
    const run = store.getRun(m[1]!);
    dir = m[2] === undefined || m[2] === '' ? run.artifactDir() : run.artifactDir(m[2]);
  } else if (uri.startsWith('models:/')) {
    const m = /^models:\/([^/]+)\/([^/]+)\/?$/.exec(uri);
    if (m === null) throw new TrackingError(`malformed models:/ URI '${uri}'; expected models:/<name>/<version|@alias|latest|stage>`);
    const [, name, ref] = m as unknown as [string, string, string];
    let mv;
    if (ref.startsWith('@')) mv = getModelVersionByAlias(store, name, ref.slice(1));
    else if (/^\d+$/.test(ref)) mv = getModelVersion(store, name, Number(ref));
    else if (ref.toLowerCase() === 'latest') mv = getLatestModelVersion(store, name);
    else {
      const inStage = searchModelVersions(store, `name = '${name.replace(/'/g, "''")}'`)
        .filter((v) => v.currentStage.toLowerCase() === ref.toLowerCase())
        .sort((a, b) => b.version - a.version);
      if (inStage.length === 0) throw new TrackingError(`registered model '${name}' has no version in stage '${ref}'`);
      mv = inStage[0]!;
    }
    return resolveModelUri(store, mv.storageLocation || mv.source, depth + 1);
  } else {
    dir = uriToPath(uri);
  }
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new TrackingError(`no model folder at '${dir}' (from '${uri}')`);
  return dir;
}

/** Reads a model folder's MLmodel file. */
export function readMLmodel(dir: string): Record<string, unknown> {
  const file = path.join(dir, MLMODEL_FILE);
  if (!fs.existsSync(file)) throw new TrackingError(`'${dir}' is not an MLflow model folder (no ${MLMODEL_FILE})`);
  return parseYaml(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** Files of an informer-node model folder, from its MLmodel `informer_node` flavor. */
export function modelFiles(dir: string): { weights: string; config: string | null; onnx: string | null } {
  const flavors = (readMLmodel(dir).flavors ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const own = flavors.informer_node;
  if (own === undefined) throw new TrackingError(`model at '${dir}' has no informer_node flavor`);
  const onnx = flavors.onnx?.data;
  return {
    weights: path.join(dir, String(own.data ?? WEIGHTS_FILE)),
    config: typeof own.config_file === 'string' ? path.join(dir, own.config_file) : null,
    onnx: typeof onnx === 'string' ? path.join(dir, onnx) : null,
  };
}

/** Resolves a model URI and hands the folder to `loader` (e.g. `(dir) => Informer.load(modelFiles(dir).weights)`). */
export function loadModel<T>(store: RunStore, uri: string, loader: (dir: string) => T): T {
  return loader(resolveModelUri(store, uri));
}
