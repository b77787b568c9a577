// loadModel('runs:/<id>/model' | 'models:/<name>/<version|@alias|latest>' | folder | file): the
// cogflow/MLflow way to get a logged or registered model back as an Informer.
import { statSync } from 'node:fs';

import { Informer } from './model.js';
import { resolveModelUri } from './tracking/fluent.js';
import { modelFiles } from './tracking/mlmodel.js';

export function loadModel(uri: string): Informer {
  const path = /^(runs|models|file):/.test(uri) ? resolveModelUri(uri) : uri;
  return Informer.load(statSync(path).isDirectory() ? modelFiles(path).weights : path);
}
