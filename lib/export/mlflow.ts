// The MLflow model folder of an export (MLmodel with the `onnx` and `python_function` flavors, a
// tensor signature, model.onnx and the Python environment files), as mlflow.onnx.save_model writes it,
// so that `mlflow models serve` and KServe's `mlflow` model format (MLServer) load it. The MLmodel
// format itself is lib/artifact/mlmodel.ts.
import { randomBytes } from 'node:crypto';

import { checkMlflowModelDir as checkDir, mlmodelText, pythonEnvFiles, type MlflowCheckReport } from '../artifact/mlmodel.js';
import { checkOnnxModel } from '../artifact/onnx.js';
import { toReferenceConfig, type InformerConfig } from '../config.js';
import { mlflowSignature } from '../signature.js';

export { MLFLOW_VERSION, PYTHON_VERSION, type MlflowCheckReport } from '../artifact/mlmodel.js';
export { mlflowTensorSpecs } from '../signature.js';

export interface MlflowOptions {
  /** Python version of the pyfunc environment. */
  pythonVersion?: string;
}

/**
 * The files of an MLflow model folder (relative path -> contents) for a model of `config` whose ONNX
 * bytes are `onnxBytes` (opset `opset`).
 */
export function mlflowModelFiles(
  config: InformerConfig,
  onnxBytes: Uint8Array,
  opset: number,
  opts: MlflowOptions = {},
): Record<string, string | Uint8Array> {
  const files: Record<string, string | Uint8Array> = { 'model.onnx': onnxBytes, ...pythonEnvFiles(opset, opts.pythonVersion) };
  const sizeBytes = Object.values(files).reduce((s, f) => s + (typeof f === 'string' ? Buffer.byteLength(f) : f.length), 0);
  files.MLmodel = mlmodelText({
    onnx: { file: 'model.onnx', opset, pythonVersion: opts.pythonVersion },
    signature: mlflowSignature(config),
    metadata: { informer_config: toReferenceConfig(config), onnx_opset: opset, producer: 'informer-node' },
    modelUuid: randomBytes(16).toString('hex'),
    createdMs: Date.now(),
    sizeBytes,
  });
  return files;
}

/** Validates an exported MLflow model folder (see lib/artifact/mlmodel.ts checkMlflowModelDir). */
export function checkMlflowModelDir(dir: string): MlflowCheckReport {
  return checkDir(dir, checkOnnxModel);
}
