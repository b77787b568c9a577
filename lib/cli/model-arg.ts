// Resolves the <model> argument of predict / export / serve: a .safetensors file, a model folder
// (with model.safetensors), or a tracking URI (runs:/<id>/model, models:/<name>/<version|@alias|latest>).
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { ConfigError } from '../errors.js';
import { resolveModelUri, setTrackingUri } from '../tracking/fluent.js';
import { WEIGHTS_FILE } from '../tracking/mlmodel.js';

export function resolveModelFile(arg: string, mlruns?: string): string {
  let path = arg;
  if (/^(runs|models):\//.test(arg)) {
    setTrackingUri(mlruns);
    path = resolveModelUri(arg);
  }
  path = resolve(path);
  if (!existsSync(path)) throw new ConfigError(`model '${arg}': no such file or folder (${path})`);
  if (statSync(path).isDirectory()) {
    const file = join(path, WEIGHTS_FILE);
    if (!existsSync(file)) throw new ConfigError(`model folder ${path} has no ${WEIGHTS_FILE}`);
    return file;
  }
  return path;
}
