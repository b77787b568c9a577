// The model registry on a tracking server (registered-models/*, model-versions/*, aliases), with
// the same functions and results as the FileStore registry (lib/tracking/registry.ts dispatches here).
import { TrackingError } from '../errors.js';
import type { ModelVersion, RegisteredModel } from '../types.js';
import { tagList, toModelVersion, toRegisteredModel } from './convert.js';
import { notFound, type RemoteTracking } from './tracking.js';

type Json = Record<string, unknown>;

function named<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (notFound(e)) throw new TrackingError(`${what} not found`, { cause: e });
    throw e;
  }
}

export function createRegisteredModel(
  r: RemoteTracking,
  name: string,
  tags: Record<string, string>,
  description?: string,
): RegisteredModel {
  const body: Json = { name, tags: tagList(tags) };
  if (description !== undefined) body.description = description;
  try {
    return toRegisteredModel(r.call('POST', '/registered-models/create', body).registered_model as Json);
  } catch (e) {
    if ((e as { errorCode?: string }).errorCode === 'RESOURCE_ALREADY_EXISTS')
      throw new TrackingError(`registered model '${name}' already exists`, { cause: e });
    throw e;
  }
}

export function getRegisteredModel(r: RemoteTracking, name: string): RegisteredModel {
  return named(`registered model '${name}'`, () =>
    toRegisteredModel(r.call('GET', '/registered-models/get', { name }).registered_model as Json),
  );
}

export function searchRegisteredModels(r: RemoteTracking, filter?: string): RegisteredModel[] {
  return r.pages('/registered-models/search', 'registered_models', undefined, { filter }, 'GET').map(toRegisteredModel);
}

export function deleteRegisteredModel(r: RemoteTracking, name: string): void {
  named(`registered model '${name}'`, () => r.call('DELETE', '/registered-models/delete', { name }));
}

export function setRegisteredModelTag(r: RemoteTracking, name: string, key: string, value: string): void {
  named(`registered model '${name}'`, () => r.call('POST', '/registered-models/set-tag', { name, key, value }));
}

export function createModelVersion(
  r: RemoteTracking,
  name: string,
  source: string,
  options: { runId?: string; tags: Record<string, string>; description?: string; runLink?: string },
): ModelVersion {
  const body: Json = { name, source, tags: tagList(options.tags) };
  if (options.runId !== undefined) body.run_id = options.runId;
  if (options.description !== undefined) body.description = options.description;
  if (options.runLink !== undefined) body.run_link = options.runLink;
  return named(`registered model '${name}'`, () => toModelVersion(r.call('POST', '/model-versions/create', body).model_version as Json));
}

export function getModelVersion(r: RemoteTracking, name: string, version: number): ModelVersion {
  return named(`model version ${name} ${version}`, () =>
    toModelVersion(r.call('GET', '/model-versions/get', { name, version: String(version) }).model_version as Json),
  );
}

export function searchModelVersions(r: RemoteTracking, filter?: string): ModelVersion[] {
  const found = r.pages('/model-versions/search', 'model_versions', undefined, { filter }, 'GET').map(toModelVersion);
  // The server's search leaves out aliases (get does not): filled in from each model, as the FileStore reports them.
  const aliases = new Map<string, Record<string, number>>();
  for (const v of found) {
    if (!aliases.has(v.name)) aliases.set(v.name, getRegisteredModel(r, v.name).aliases);
    v.aliases = Object.entries(aliases.get(v.name)!)
      .filter(([, n]) => n === v.version)
      .map(([a]) => a);
  }
  return found;
}

export function setModelVersionTag(r: RemoteTracking, name: string, version: number, key: string, value: string): void {
  named(`model version ${name} ${version}`, () =>
    r.call('POST', '/model-versions/set-tag', { name, version: String(version), key, value }),
  );
}

export function setRegisteredModelAlias(r: RemoteTracking, name: string, alias: string, version: number): void {
  named(`model version ${name} ${version}`, () => r.call('POST', '/registered-models/alias', { name, alias, version: String(version) }));
}

export function deleteRegisteredModelAlias(r: RemoteTracking, name: string, alias: string): void {
  try {
    r.call('DELETE', '/registered-models/alias', { name, alias });
  } catch (e) {
    if (!notFound(e)) throw e; // an alias that is not set: nothing to do, as on the FileStore
    getRegisteredModel(r, name); // ... unless the model itself is missing
  }
}

export function getModelVersionByAlias(r: RemoteTracking, name: string, alias: string): ModelVersion {
  return named(`alias '${alias}' of registered model '${name}'`, () =>
    toModelVersion(r.call('GET', '/registered-models/alias', { name, alias }).model_version as Json),
  );
}

export function transitionModelVersionStage(
  r: RemoteTracking,
  name: string,
  version: number,
  stage: string,
  archive: boolean,
): ModelVersion {
  return named(`model version ${name} ${version}`, () =>
    toModelVersion(
      r.call('POST', '/model-versions/transition-stage', { name, version: String(version), stage, archive_existing_versions: archive })
        .model_version as Json,
    ),
  );
}

export function deleteModelVersion(r: RemoteTracking, name: string, version: number): void {
  named(`model version ${name} ${version}`, () => r.call('DELETE', '/model-versions/delete', { name, version: String(version) }));
}
