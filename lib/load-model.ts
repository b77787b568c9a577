// loadModel('runs:/<id>/model' | 'models:/<name>/<version|@alias|latest>' | folder | file): the
// cogflow/MLflow way to get a logged or registered model back as an Informer.
import { statSync } from 'node:fs';

import { Informer, type ModelOptions } from './model.js';
import { resolveModelUri } from './tracking/fluent.js';
import { modelFiles } from './tracking/mlmodel.js';

export function loadModel(uri: string, options: ModelOptions = {}): Informer {
  const path = /^(runs|models|file):/.test(uri) ? resolveModelUri(uri) : uri;
  return Informer.load(statSync(path).isDirectory() ? modelFiles(path).weights : path, options);
}
