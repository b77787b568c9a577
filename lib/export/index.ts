// exportModel: one call from a trained model to a deployable folder (plain ONNX, Triton repository,
// MLflow model, or a KServe InferenceService with the folder it serves). Folders are built in a temp
// directory next to the target, validated, and renamed into place, so a reader never sees half a folder.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ConfigError } from '../errors.js';
import { writeDirAtomic, writeFileAtomic } from '../fs/atomic.js';
import type { Informer } from '../model.js';
import { assertValidInferenceService, inferenceService, inferenceServiceYaml, type KServeModelFormat } from './kserve.js';
import { checkMlflowModelDir, mlflowModelFiles } from './mlflow.js';
import { DEFAULT_OPSET, buildOnnxModel, checkOnnxModel, type ProgressCallback } from '../artifact/onnx.js';
import { onnxSignature, type OnnxSignature } from '../signature.js';
import { checkModelName, checkTritonRepository, tritonRepositoryFiles } from './triton.js';
import { listFiles } from '../fs/list.js';

export * from '../artifact/onnx.js';
export * from './mlflow.js';
export * from './triton.js';
export * from './kserve.js';

export type ExportFormat = 'onnx' | 'triton' | 'mlflow' | 'kserve';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['onnx', 'triton', 'mlflow', 'kserve'];

export interface ExportModelOptions {
  format: ExportFormat;
  /** Triton model name and InferenceService name (DNS-1123 label; default 'informer'). */
  name?: string;
  /** kserve only (required there): where `<outDir>/model/` will be uploaded. */
  storageUri?: string;
  /** ONNX opset (default 17). */
  opset?: number;
  /** kserve: serve the Triton repository ('onnx', default) or the MLflow folder ('mlflow'). */
  modelFormat?: KServeModelFormat;
  /** triton (and kserve with 'onnx'): Triton max_batch_size (default 0: explicit dynamic batch dim). */
  maxBatchSize?: number;
  /** kserve: metadata.namespace, runtime, predictor.serviceAccountName, metadata.annotations. */
  namespace?: string;
  runtime?: string;
  serviceAccountName?: string;
  annotations?: Record<string, string>;
  /** Replace an existing non-empty outDir (default false: throw). */
  overwrite?: boolean;
  /** Called with ('building' | 'serialising' | 'writing' | 'validating', fraction). */
  onProgress?: ProgressCallback;
}

export interface ExportModelResult {
  format: ExportFormat;
  outDir: string;
  /** Files written, relative to outDir, sorted. */
  files: string[];
  opset: number;
  onnxBytes: number;
  signature: OnnxSignature;
  /** kserve: the InferenceService manifest written to inferenceservice.yaml. */
  inferenceService?: Record<string, unknown>;
}

function isEmptyDir(dir: string): boolean {
  return fs.readdirSync(dir).length === 0;
}

/** Writes `files` (relative path -> contents) as the folder `outDir`: staging folder, `check`, rename. */
export function writeFolderAtomic(
  outDir: string,
  files: Record<string, string | Uint8Array>,
  opts: { overwrite?: boolean; check?: (dir: string) => void; onFile?: (fraction: number) => void } = {},
): void {
  const target = path.resolve(outDir);
  const exists = fs.existsSync(target);
  if (exists && !fs.statSync(target).isDirectory()) throw new ConfigError(`${outDir} exists and is not a folder`);
  if (exists && !opts.overwrite && !isEmptyDir(target))
    throw new ConfigError(`${outDir} exists and is not empty (pass overwrite: true to replace it)`);
  const placed = writeDirAtomic(
    target,
    (tmp) => {
      const entries = Object.entries(files);
      entries.forEach(([rel, data], i) => {
        const file = path.join(tmp, rel);
        if (!file.startsWith(tmp + path.sep)) throw new ConfigError(`file ${rel} escapes the folder`);
        writeFileAtomic(file, data);
        opts.onFile?.((i + 1) / entries.length);
      });
      opts.check?.(tmp);
    },
    { replace: opts.overwrite === true },
  );
  if (!placed) throw new ConfigError(`${outDir} was created by someone else while the export was written`);
}

/**
 * Exports `model` as a folder at `outDir`:
 * - 'onnx':   model.onnx
 * - 'triton': a Triton model repository, <name>/config.pbtxt and <name>/1/model.onnx
 * - 'mlflow': an MLflow model folder (MLmodel, model.onnx, requirements.txt, conda.yaml, python_env.yaml)
 * - 'kserve': inferenceservice.yaml plus model/ (the Triton repository, or the MLflow folder with
 *             modelFormat 'mlflow') to upload to `storageUri`.
 * The folder is validated (checkOnnxModel, checkTritonRepository, checkMlflowModelDir, the CRD schema)
 * before it is renamed into place.
 */
export function exportModel(model: Informer, outDir: string, opts: ExportModelOptions): ExportModelResult {
  const format = opts?.format;
  if (!EXPORT_FORMATS.includes(format))
    throw new ConfigError(`format must be one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  const name = checkModelName(opts.name ?? 'informer');
  if (format !== 'kserve' && opts.storageUri !== undefined)
    throw new ConfigError(`storageUri applies to format 'kserve' only (got format '${format}')`);
  if (format === 'kserve' && opts.storageUri === undefined)
    throw new ConfigError("format 'kserve' needs storageUri (where the model/ folder will be uploaded)");
  const modelFormat = opts.modelFormat ?? 'onnx';
  const opset = opts.opset ?? DEFAULT_OPSET;
  const progress = opts.onProgress ?? (() => undefined);

  let manifest: Record<string, unknown> | undefined;
  let yaml: string | undefined;
  if (format === 'kserve') {
    // Validate the manifest options before the (slower) graph build.
    const isvc = {
      name,
      storageUri: opts.storageUri as string,
      modelFormat,
      namespace: opts.namespace,
      runtime: opts.runtime,
      serviceAccountName: opts.serviceAccountName,
      annotations: opts.annotations,
    };
    for (const k of Object.keys(isvc) as (keyof typeof isvc)[]) if (isvc[k] === undefined) delete isvc[k];
    manifest = inferenceService(isvc);
    yaml = inferenceServiceYaml(isvc);
  }
  const onnxBytes = buildOnnxModel(model, { opset, onProgress: progress });
  const sig = onnxSignature(model.config);
  const triton = () => tritonRepositoryFiles(name, sig, onnxBytes, { maxBatchSize: opts.maxBatchSize });
  const mlflow = () => mlflowModelFiles(model.config, onnxBytes, opset);
  let files: Record<string, string | Uint8Array>;
  let check: (dir: string) => void;
  switch (format) {
    case 'onnx':
      files = { 'model.onnx': onnxBytes };
      check = (dir) => checkOnnxModel(fs.readFileSync(path.join(dir, 'model.onnx')));
      break;
    case 'triton':
      files = triton();
      check = (dir) => checkTritonRepository(dir, name);
      break;
    case 'mlflow':
      files = mlflow();
      check = (dir) => checkMlflowModelDir(dir);
      break;
    case 'kserve': {
      files = { 'inferenceservice.yaml': yaml as string };
      for (const [rel, data] of Object.entries(modelFormat === 'onnx' ? triton() : mlflow())) files[`model/${rel}`] = data;
      check = (dir) => {
        if (modelFormat === 'onnx') checkTritonRepository(path.join(dir, 'model'), name);
        else checkMlflowModelDir(path.join(dir, 'model'));
        assertValidInferenceService(manifest);
      };
      break;
    }
  }
  progress('writing', 0);
  writeFolderAtomic(outDir, files, {
    overwrite: opts.overwrite,
    onFile: (f) => progress('writing', f),
    check: (dir) => {
      progress('validating', 0);
      check(dir);
      progress('validating', 1);
    },
  });
  return {
    format,
    outDir,
    files: listFiles(outDir),
    opset,
    onnxBytes: onnxBytes.length,
    signature: sig,
    ...(manifest ? { inferenceService: manifest } : {}),
  };
}
