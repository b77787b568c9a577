// Logging a model into a run: the model folder (weights, config, optional ONNX with its Python
// environment, MLmodel) is built in a staging folder inside the run and renamed into its artifacts
// whole, recorded in the run's `mlflow.log-model.history` tag, and optionally registered. The tracking
// store below knows runs and files only; what a model folder is lives here.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { writeDirAtomic } from '../fs/atomic.js';
import { pyJsonDumps } from '../tracking/pyformat.js';
import { registerModel } from '../tracking/registry.js';
import { TrackingError } from '../tracking/errors.js';
import { ensureActiveRun } from '../tracking/fluent.js';
import type { Run } from '../tracking/run.js';
import { validateArtifactPath } from '../tracking/validate.js';
import {
  CONFIG_FILE,
  MLMODEL_FILE,
  ONNX_FILE,
  WEIGHTS_FILE,
  folderSize,
  mlmodelFlavors,
  mlmodelText,
  pythonEnvFiles,
  signatureStrings,
  utcTimeCreated,
  type ModelSignatureSpec,
} from './mlmodel.js';

/** What logModel needs from a model: Informer satisfies it (save writes one safetensors file). */
export interface SavableModel {
  /** Writes the weights to this file path (`<model folder>/model.safetensors`). */
  save(path: string): void;
  /** Hyper-parameters, written as `config.json`. */
  config?: unknown;
}

/** Options of logModel. */
export interface LogModelOptions {
  /** Input/output tensor signature (MLflow's tensor-spec form), e.g. mlflowSignature(model.config). */
  signature?: ModelSignatureSpec;
  /** Writes a self-contained ONNX file to the given path; adds the `onnx` and `python_function` flavors. */
  writeOnnx?: (path: string) => void;
  /** ONNX opset of that file (sets the onnx / onnxruntime floors of the environment; default 17). */
  onnxOpset?: number;
  /** `python_version` of the python_function flavor. */
  pythonVersion?: string;
  /** Free-form `metadata` in MLmodel. */
  metadata?: Record<string, unknown>;
  /** More files to put in the model folder (name -> content), e.g. a scaler. */
  extraFiles?: Record<string, string | Uint8Array>;
  /** Also register the model under this name (creating the registered model if needed). */
  registeredModelName?: string;
  /** Tags of the model version registered (lineage: dataset digest, config hash). */
  registeredModelTags?: Record<string, string>;
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

/**
 * Saves `model` as an MLflow model folder at `artifacts/<artifactPath>` of `run`: `model.safetensors`
 * (model.save), `config.json` (model.config), `MLmodel` (flavor `informer_node`; plus `onnx` and
 * `python_function` with conda.yaml / python_env.yaml / requirements.txt when `writeOnnx` is given),
 * then appends it to the run's `mlflow.log-model.history` tag. The folder is either complete or
 * absent. An existing artifact path is a TrackingError.
 */
export function logModelToRun(run: Run, artifactPath: string, model: SavableModel, options: LogModelOptions = {}): ModelInfo {
  const rel = validateArtifactPath(artifactPath);
  if (typeof model?.save !== 'function') throw new TypeError('logModel: the model must have a save(path) method');
  run.ensureActive();
  const dest = run.artifactDir(rel);
  if (fs.existsSync(dest)) throw new TrackingError(`run ${run.runId} already has an artifact at '${rel}'`);
  const store = run.store;
  const modelUuid = store.randomHex(16);
  const createdMs = store.now();
  const spec = {
    informerNode: { weights: WEIGHTS_FILE, configFile: model.config !== undefined ? CONFIG_FILE : null },
    onnx:
      options.writeOnnx !== undefined
        ? { file: ONNX_FILE, opset: options.onnxOpset ?? 17, pythonVersion: options.pythonVersion }
        : undefined,
  };
  const fill = (dir: string): void => {
    model.save(path.join(dir, WEIGHTS_FILE));
    if (model.config !== undefined) fs.writeFileSync(path.join(dir, CONFIG_FILE), `${JSON.stringify(model.config, null, 2)}\n`);
    for (const [name, content] of Object.entries(options.extraFiles ?? {})) {
      const p = path.join(dir, validateArtifactPath(name));
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
    }
    if (spec.onnx) {
      options.writeOnnx!(path.join(dir, ONNX_FILE));
      if (!fs.existsSync(path.join(dir, ONNX_FILE))) throw new TrackingError(`writeOnnx did not create ${ONNX_FILE}`);
      for (const [name, text] of Object.entries(pythonEnvFiles(spec.onnx.opset, spec.onnx.pythonVersion)))
        fs.writeFileSync(path.join(dir, name), text);
    }
    const text = mlmodelText({
      ...spec,
      signature: options.signature,
      metadata: options.metadata,
      artifactPath: rel,
      runId: run.runId,
      modelUuid,
      createdMs,
      sizeBytes: folderSize(dir),
    });
    fs.writeFileSync(path.join(dir, MLMODEL_FILE), text);
  };
  let placed: boolean;
  try {
    // Staged inside the run folder (same filesystem as the artifacts; MLflow ignores it).
    placed = writeDirAtomic(dest, fill, { stagingParent: path.dirname(run.artifactDir()) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).syscall === undefined) throw e;
    throw new TrackingError(`cannot write the model at '${rel}' in run ${run.runId}: ${(e as Error).message}`, { cause: e });
  }
  if (!placed) throw new TrackingError(`run ${run.runId} already has an artifact at '${rel}'`);
  run.syncArtifacts();
  const flavors = mlmodelFlavors(spec);
  const created = utcTimeCreated(createdMs);
  const entry: Record<string, unknown> = {
    run_id: run.runId,
    artifact_path: rel,
    utc_time_created: created,
    model_uuid: modelUuid,
    flavors,
  };
  if (options.signature !== undefined) entry.signature = signatureStrings(options.signature);
  recordLoggedModel(run, entry);
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
    info.registeredModelVersion = registerModel(store, info.modelUri, options.registeredModelName, {
      tags: options.registeredModelTags,
    }).version;
  }
  return info;
}

// Appends an entry to the run's `mlflow.log-model.history` tag (a JSON list, as MLflow keeps it).
function recordLoggedModel(run: Run, entry: Record<string, unknown>): void {
  const file = path.join(run.dir, 'tags', 'mlflow.log-model.history');
  let list: unknown[] = [];
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (Array.isArray(parsed)) list = parsed;
  } catch {
    // first model of this run
  }
  // MLflow writes this system tag without the user-tag length limit.
  run.store.writeFile(file, pyJsonDumps([...list, entry]));
  // A server keeps the history itself: runs/log-model appends the entry, as MLflow's client does.
  run.journal({ op: 'log-model', model_json: JSON.stringify(entry) });
}

/**
 * Logs `model` (anything with save(path) and config, e.g. an Informer) as an MLflow model at
 * `artifactPath` (default 'model') of the active run (started if none is); `registeredModelName`
 * also registers it.
 */
export function logModel(model: SavableModel, artifactPath = 'model', options: LogModelOptions = {}): ModelInfo {
  return logModelToRun(ensureActiveRun(), artifactPath, model, options);
}
