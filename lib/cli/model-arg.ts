// Resolves the <model> argument of predict / export / serve: a .safetensors file, a model folder, or a
// tracking URI (runs:/<id>/model, models:/<name>/<version|@alias|latest>) in the --mlruns store.
import { resolve } from 'node:path';

import { resolveWeightsFile } from '../artifact/resolve.js';
import { setTrackingUri } from '../tracking/fluent.js';

export function resolveModelFile(arg: string, mlruns?: string): string {
  if (/^(runs|models):\//.test(arg)) setTrackingUri(mlruns);
  return resolve(resolveWeightsFile(arg));
}
