// Tracking URIs and file URIs: which local folder a URI names.
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';
import { TrackingError } from './errors.js';

/** Absolute store folder for a tracking URI: a `file:` URI or a plain path; default $MLFLOW_TRACKING_URI, then ./mlruns. */
export function resolveStorePath(uri?: string): string {
  const raw = (uri ?? process.env.MLFLOW_TRACKING_URI ?? '').trim();
  const u = raw === '' ? './mlruns' : raw;
  if (/^file:/i.test(u)) {
    if (!/^file:\/\//i.test(u)) return path.resolve(decodeURIComponent(u.slice(5)));
    try {
      return fileURLToPath(u);
    } catch (e) {
      throw new ConfigError(`cannot use tracking URI '${u}': ${(e as Error).message}`, { cause: e });
    }
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(u);
  if (scheme !== null && scheme[1]!.length > 1) {
    throw new ConfigError(
      `tracking URI '${u}' is not supported: use a folder path or file:// URI (a local MLflow FileStore), or an ` +
        `http(s):// MLflow tracking server (databases and Databricks are not), e.g. MLFLOW_TRACKING_URI=http://127.0.0.1:5000`,
    );
  }
  return path.resolve(u);
}

/** Is this tracking URI an MLflow tracking server (http or https)? */
export function isServerUri(uri: string | undefined): boolean {
  return uri !== undefined && /^https?:\/\//i.test(uri.trim());
}

/** Is this an artifact location on a tracking server (its proxy's `mlflow-artifacts:` or an http(s) URL)? */
export function isServerArtifactUri(uri: string): boolean {
  return /^(mlflow-artifacts|https?):/i.test(uri);
}

/** The `file://` URI of a local path. */
export function pathToUri(p: string): string {
  return pathToFileURL(p).href;
}

/** The local path of a `file:` URI or plain path; other schemes are a TrackingError. */
export function uriToPath(uri: string): string {
  if (/^file:\/\//i.test(uri)) return fileURLToPath(uri);
  if (/^file:/i.test(uri)) return path.resolve(decodeURIComponent(uri.slice(5)));
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  if (scheme !== null && scheme[1]!.length > 1) throw new TrackingError(`'${uri}' is not a local file location`);
  return path.resolve(uri);
}
