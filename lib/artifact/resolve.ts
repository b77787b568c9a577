// From a model reference to the model: `runs:/<run id>/<path>`, `models:/<name>/<version|@alias|
// latest|stage>`, `file:` URIs and plain paths resolve to a model folder; a folder or file to its
// weights file; loadModel to an Informer. CLI, Predictor.load and loadModel all go through here.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ConfigError } from '../errors.js';
import { Informer, type ModelOptions } from '../model.js';
import { TrackingError } from '../tracking/errors.js';
import { getStore } from '../tracking/fluent.js';
import { getLatestModelVersion, getModelVersion, getModelVersionByAlias, searchModelVersions } from '../tracking/registry.js';
import type { RunStore } from '../tracking/store.js';
import type { ModelVersion } from '../tracking/types.js';
import { isServerArtifactUri, uriToPath } from '../tracking/uri.js';
import { MLMODEL_FILE, WEIGHTS_FILE, modelFiles } from './mlmodel.js';

const TRACKING_URI = /^(runs|models|file):/;

function registeredVersion(store: RunStore, uri: string): ModelVersion {
  const m = /^models:\/([^/]+)\/([^/]+)\/?$/.exec(uri);
  if (m === null) throw new TrackingError(`malformed models:/ URI '${uri}'; expected models:/<name>/<version|@alias|latest|stage>`);
  const [, name, ref] = m as unknown as [string, string, string];
  if (ref.startsWith('@')) return getModelVersionByAlias(store, name, ref.slice(1));
  if (/^\d+$/.test(ref)) return getModelVersion(store, name, Number(ref));
  if (ref.toLowerCase() === 'latest') return getLatestModelVersion(store, name);
  const inStage = searchModelVersions(store, `name = '${name.replace(/'/g, "''")}'`)
    .filter((v) => v.currentStage.toLowerCase() === ref.toLowerCase())
    .sort((a, b) => b.version - a.version);
  if (inStage.length === 0) throw new TrackingError(`registered model '${name}' has no version in stage '${ref}'`);
  return inStage[0]!;
}

/** The local model folder a model URI (or path) names, in `store` (default: the current tracking store). */
export function resolveModelUri(uri: string, store?: RunStore, depth = 0): string {
  if (depth > 8) throw new TrackingError(`model URI '${uri}' refers to itself through models:/ sources`);
  let dir: string;
  if (uri.startsWith('runs:/')) {
    const m = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(uri);
    if (m === null) throw new TrackingError(`malformed runs:/ URI '${uri}'; expected runs:/<run id>/<artifact path>`);
    const s = store ?? getStore();
    const run = s.getRun(m[1]!);
    const sub = m[2] === undefined || m[2] === '' ? undefined : m[2];
    // On a tracking server the run's artifacts are fetched into its mirror folder (kept if present).
    dir = s.remote ? s.remote.localArtifacts(run.getArtifactUri(sub)) : run.artifactDir(sub);
  } else if (isServerArtifactUri(uri)) {
    const s = store ?? getStore();
    if (!s.remote) throw new TrackingError(`model URI '${uri}' is on a tracking server, but the tracking URI is ${s.trackingUri}`);
    dir = s.remote.localArtifacts(uri);
  } else if (uri.startsWith('models:/')) {
    const s = store ?? getStore();
    const mv = registeredVersion(s, uri);
    return resolveModelUri(mv.storageLocation || mv.source, s, depth + 1);
  } else {
    dir = uriToPath(uri);
  }
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new TrackingError(`no model folder at '${dir}' (from '${uri}')`);
  return dir;
}

/** The weights file named by `ref` (a file, a model folder, or a URI in the current store); ConfigError if there is none. */
export function resolveWeightsFile(ref: string): string {
  if (typeof ref !== 'string' || ref === '') throw new ConfigError(`a model reference must be a non-empty path or URI, got ${String(ref)}`);
  const p = TRACKING_URI.test(ref) ? resolveModelUri(ref) : ref;
  let isDir: boolean;
  try {
    isDir = fs.statSync(p).isDirectory();
  } catch (e) {
    throw new ConfigError(`model '${ref}': no such file or folder (${path.resolve(p)})`, { cause: e });
  }
  if (!isDir) return p;
  if (fs.existsSync(path.join(p, MLMODEL_FILE))) return modelFiles(p).weights;
  const file = path.join(p, WEIGHTS_FILE);
  if (fs.existsSync(file)) return file;
  throw new ConfigError(`model folder ${path.resolve(p)} has neither an ${MLMODEL_FILE} file nor ${WEIGHTS_FILE}`);
}

/** loadModel('runs:/<id>/model' | 'models:/<name>/<version|@alias|latest>' | folder | file): the model as an Informer. */
export function loadModel(uri: string, options: ModelOptions = {}): Informer {
  return Informer.load(resolveWeightsFile(uri), options);
}
