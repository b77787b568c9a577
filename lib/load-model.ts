// One answer to "which weights file does this model reference name?", for loadModel, Predictor.load
// and the CLI: a .safetensors file, a model folder (its MLmodel's informer_node flavor, or a plain
// model.safetensors), or a tracking URI (runs:/<id>/model, models:/<name>/<version|@alias|latest>,
// file:). Then loadModel turns it into an Informer, the cogflow/MLflow way.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { ConfigError } from './errors.js';
import { Informer, type ModelOptions } from './model.js';
import { resolveModelUri } from './tracking/fluent.js';
import { MLMODEL_FILE, WEIGHTS_FILE, modelFiles } from './tracking/mlmodel.js';

/** The weights file named by `ref` (URIs resolve in the current tracking store); ConfigError if there is none. */
export function resolveWeightsFile(ref: string): string {
  if (typeof ref !== 'string' || ref === '') throw new ConfigError(`a model reference must be a non-empty path or URI, got ${String(ref)}`);
  const path = /^(runs|models|file):/.test(ref) ? resolveModelUri(ref) : ref;
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new ConfigError(`model '${ref}': no such file or folder (${resolve(path)})`, { cause: e });
  }
  if (!isDir) return path;
  if (existsSync(join(path, MLMODEL_FILE))) return modelFiles(path).weights;
  const file = join(path, WEIGHTS_FILE);
  if (existsSync(file)) return file;
  throw new ConfigError(`model folder ${resolve(path)} has neither an ${MLMODEL_FILE} file nor ${WEIGHTS_FILE}`);
}

export function loadModel(uri: string, options: ModelOptions = {}): Informer {
  return Informer.load(resolveWeightsFile(uri), options);
}
