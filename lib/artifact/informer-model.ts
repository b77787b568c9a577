// An Informer as a logged model folder: weights with the preprocessing needed to forecast from raw
// history, config.json, model.onnx with its Python environment, and the MLflow tensor signature.
import { createHash } from 'node:crypto';

import type { ForecastDataset } from '../data/dataset.js';
import type { Informer } from '../model.js';
import { mlflowSignature } from '../signature.js';
import type { Run } from '../tracking/run.js';
import { logModelToRun, type ModelInfo } from './log-model.js';
import { DEFAULT_OPSET, exportOnnx } from './onnx.js';
import { savePredictorModel, type PreprocessingInfo } from './preprocessing.js';

export interface LogInformerOptions {
  /** Also write model.onnx and the onnx / python_function flavors (default true). */
  onnx?: boolean;
  /** Register the logged model under this name. */
  registeredModelName?: string;
  /** Artifact path inside the run (default 'model'). */
  artifactPath?: string;
  /** Digest of the training data, recorded on the registered version (with the config hash). */
  datasetDigest?: string;
}

/** A short, stable hash of a model configuration: equal configurations, equal hashes. */
export function configHash(config: object): string {
  const canonical = JSON.stringify(config, Object.keys(config).sort());
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** Logs `model` with the preprocessing of `source` (its training dataset, or a PreprocessingInfo) into `run`. */
export function logInformerModel(
  run: Run,
  model: Informer,
  source: ForecastDataset | PreprocessingInfo,
  opts: LogInformerOptions = {},
): ModelInfo {
  return logModelToRun(
    run,
    opts.artifactPath ?? 'model',
    {
      config: model.config,
      save: (path: string) => {
        savePredictorModel(model, source, path);
      },
    },
    {
      signature: mlflowSignature(model.config),
      writeOnnx:
        opts.onnx === false
          ? undefined
          : (path: string) => {
              exportOnnx(model, path, { opset: DEFAULT_OPSET });
            },
      onnxOpset: DEFAULT_OPSET,
      registeredModelName: opts.registeredModelName,
      registeredModelTags: {
        'informer.config_hash': configHash(model.config),
        ...(opts.datasetDigest !== undefined ? { 'informer.dataset_digest': opts.datasetDigest } : {}),
      },
    },
  );
}
