// The model registry, laid out as MLflow's FileStore does under `<store>/models/`:
// `<name>/meta.yaml`, `<name>/tags/<key>`, `<name>/aliases/<alias>` (content: the version number),
// `<name>/version-<n>/meta.yaml` and `<name>/version-<n>/tags/<key>`. Creating models and versions
// happens under a store lock, so two processes registering at once get distinct version numbers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValueError } from '../errors.js';
import { TrackingError } from './errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { dumpYaml } from './yaml.js';
import { pyStr } from './pyformat.js';
import { readValueFiles } from './store.js';
import type { RunStore } from './store.js';
import { isServerArtifactUri, pathToUri, uriToPath } from './uri.js';
import { matchesFilter, parseFilter } from './filter.js';
import type { Lookup } from './filter.js';
import { validateAlias, validateKey, validateModelName, validateTagValue, validateVersion } from './validate.js';
import type { ModelVersion, RegisteredModel } from './types.js';
import * as rest from './remote/registry.js';

const STAGES = ['None', 'Staging', 'Production', 'Archived'];
const DELETED_STAGE = 'Deleted_Internal';

function modelsDir(store: RunStore): string {
  return path.join(store.root, 'models');
}

function modelDir(store: RunStore, name: string): string {
  return path.join(modelsDir(store), validateModelName(name));
}

function requireModelDir(store: RunStore, name: string): string {
  const dir = modelDir(store, name);
  if (!fs.existsSync(path.join(dir, 'meta.yaml'))) throw new TrackingError(`registered model '${name}' not found`);
  return dir;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function readAliases(dir: string): Record<string, string> {
  return readValueFiles(path.join(dir, 'aliases'));
}

// Registered-model meta.yaml as MLflow writes it: aliases as read from the aliases/ files.
function modelMetaYaml(dir: string, meta: { name: string; creation: number; updated: number; description: string | null }): string {
  return dumpYaml({
    aliases: readAliases(dir),
    creation_timestamp: meta.creation,
    description: meta.description,
    last_updated_timestamp: meta.updated,
    name: meta.name,
  });
}

function touchModel(store: RunStore, name: string): void {
  const dir = requireModelDir(store, name);
  const m = store.readYaml(path.join(dir, 'meta.yaml'));
  store.writeFile(
    path.join(dir, 'meta.yaml'),
    modelMetaYaml(dir, {
      name,
      creation: num(m.creation_timestamp),
      updated: store.now(),
      description: typeof m.description === 'string' ? m.description : null,
    }),
  );
}

// The next version number: one above every version-<n> folder, complete or not (a number a live
// writer may be placing is never reused), once incomplete folders of dead writers are removed.
function nextVersion(store: RunStore, dir: string): number {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => /^version-\d+$/.test(n));
  } catch {
    return 1;
  }
  const live = names.filter((n) => !removeIfStray(store, path.join(dir, n)));
  return live.reduce((m, n) => Math.max(m, Number(n.slice(8))), 0) + 1;
}

function versionDirs(dir: string): Array<{ version: number; dir: string }> {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^version-\d+$/.test(n) && fs.existsSync(path.join(dir, n, 'meta.yaml')))
    .map((n) => ({ version: Number(n.slice(8)), dir: path.join(dir, n) }))
    .sort((a, b) => a.version - b.version);
}

function readVersion(store: RunStore, dir: string): ModelVersion {
  const m = store.readYaml(path.join(dir, 'meta.yaml'));
  const version = num(m.version);
  const aliases = Object.entries(readAliases(path.dirname(dir)))
    .filter(([, v]) => v.trim() === String(version))
    .map(([a]) => a);
  const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  return {
    name: String(m.name),
    version,
    creationTimestamp: num(m.creation_timestamp),
    lastUpdatedTimestamp: num(m.last_updated_timestamp),
    currentStage: String(m.current_stage ?? 'None'),
    description: str(m.description),
    source: String(m.source ?? ''),
    storageLocation: String(m.storage_location ?? m.source ?? ''),
    runId: str(m.run_id),
    runLink: str(m.run_link),
    status: String(m.status ?? 'READY'),
    statusMessage: str(m.status_message),
    userId: str(m.user_id),
    tags: readValueFiles(path.join(dir, 'tags')),
    aliases,
  };
}

// Keys and types as MLflow's FileStore writes them (dict(FileModelVersion) minus tags).
function versionMetaYaml(mv: ModelVersion): string {
  return dumpYaml({
    aliases: [],
    creation_timestamp: mv.creationTimestamp,
    current_stage: mv.currentStage,
    description: mv.description,
    last_updated_timestamp: mv.lastUpdatedTimestamp,
    name: mv.name,
    run_id: mv.runId,
    run_link: mv.runLink,
    source: mv.source,
    status: mv.status,
    status_message: mv.statusMessage,
    storage_location: mv.storageLocation,
    user_id: mv.userId,
    version: mv.version,
  });
}

function writeVersionMeta(store: RunStore, dir: string, mv: ModelVersion): void {
  store.writeFile(path.join(dir, 'meta.yaml'), versionMetaYaml(mv));
}

// A record folder without its meta.yaml was left by a writer that did not stage it (an older
// informer-node, or another tool) and died, or is being written right now by such a writer. Once it
// has not changed for a minute it is removed, so it cannot block the name it sits on.
const STRAY_AGE_MS = 60_000;
function removeIfStray(store: RunStore, dir: string): boolean {
  try {
    if (fs.existsSync(path.join(dir, 'meta.yaml'))) return false;
    if (Date.now() - fs.statSync(dir).mtimeMs < STRAY_AGE_MS) return false;
    store.removeRecord(dir);
    return true;
  } catch {
    return false;
  }
}

/** Creates a registered model; a TrackingError if the name is taken. */
export function createRegisteredModel(
  store: RunStore,
  name: string,
  options: { tags?: Record<string, unknown>; description?: string } = {},
): RegisteredModel {
  if (store.remote) {
    const tags = Object.fromEntries(
      Object.entries(options.tags ?? {}).map(([k, v]) => [validateKey('tag', k), validateTagValue(k, pyStr(v))]),
    );
    return rest.createRegisteredModel(store.remote, validateModelName(name), tags, options.description);
  }
  const dir = modelDir(store, name);
  const tags = Object.entries(options.tags ?? {}).map(([k, v]) => [validateKey('tag', k), validateTagValue(k, pyStr(v))] as const);
  const t = store.now();
  const fill = (staged: string): void => {
    for (const [k, v] of tags) writeFileAtomic(path.join(staged, 'tags', k), v);
    writeFileAtomic(
      path.join(staged, 'meta.yaml'),
      modelMetaYaml(staged, { name, creation: t, updated: t, description: options.description ?? null }),
    );
  };
  // One rename makes the model appear whole; it fails if another process created the name first.
  if (!store.placeRecord(dir, fill) && !(removeIfStray(store, dir) && store.placeRecord(dir, fill))) {
    throw new TrackingError(
      fs.existsSync(path.join(dir, 'meta.yaml'))
        ? `registered model '${name}' already exists`
        : `cannot create registered model '${name}': ${dir} exists without a meta.yaml (being written by another tool?); remove it if nothing is writing it`,
    );
  }
  return getRegisteredModel(store, name);
}

/** A registered model with its tags, aliases and latest version number. */
export function getRegisteredModel(store: RunStore, name: string): RegisteredModel {
  if (store.remote) return rest.getRegisteredModel(store.remote, name);
  const dir = requireModelDir(store, name);
  const m = store.readYaml(path.join(dir, 'meta.yaml'));
  const live = versionDirs(dir)
    .map((v) => readVersion(store, v.dir))
    .filter((v) => v.currentStage !== DELETED_STAGE);
  const aliases: Record<string, number> = {};
  for (const [a, v] of Object.entries(readAliases(dir))) aliases[a] = Number(v.trim());
  return {
    name: String(m.name ?? name),
    creationTimestamp: num(m.creation_timestamp),
    lastUpdatedTimestamp: num(m.last_updated_timestamp),
    description: typeof m.description === 'string' ? m.description : null,
    tags: readValueFiles(path.join(dir, 'tags')),
    aliases,
    latestVersion: live.length > 0 ? live[live.length - 1]!.version : null,
  };
}

function modelLookup(rm: RegisteredModel): Lookup {
  return (entity, key) => {
    if (entity === 'tag') return rm.tags[key];
    if (entity === 'attribute' && key === 'name') return rm.name;
    throw new TrackingError(`registered models can be filtered on name and tags only, not ${entity} '${key}'`);
  };
}

/** Registered models matching a filter such as `name LIKE 'informer%'` (default all), by name. */
export function searchRegisteredModels(store: RunStore, filter?: string): RegisteredModel[] {
  if (store.remote) return rest.searchRegisteredModels(store.remote, filter);
  const clauses = parseFilter(filter);
  let names: string[] = [];
  try {
    names = fs.readdirSync(modelsDir(store)).filter((n) => fs.existsSync(path.join(modelsDir(store), n, 'meta.yaml')));
  } catch {
    return [];
  }
  return names
    .sort()
    .map((n) => getRegisteredModel(store, n))
    .filter((rm) => matchesFilter(clauses, modelLookup(rm)));
}

/** Deletes a registered model with all its versions (the run artifacts they point at stay). */
export function deleteRegisteredModel(store: RunStore, name: string): void {
  if (store.remote) return rest.deleteRegisteredModel(store.remote, name);
  store.removeRecord(requireModelDir(store, name));
}

/** Sets a tag on a registered model. */
export function setRegisteredModelTag(store: RunStore, name: string, key: string, value: unknown): void {
  validateKey('tag', key);
  const text = validateTagValue(key, pyStr(value));
  if (store.remote) return rest.setRegisteredModelTag(store.remote, name, key, text);
  store.writeFile(path.join(requireModelDir(store, name), 'tags', key), text);
  touchModel(store, name);
}

/**
 * Creates the next version (max existing + 1) of a registered model from `source` (a `file://`
 * URI of a model folder, or a models:/ URI whose location is resolved into storage_location).
 */
export function createModelVersion(
  store: RunStore,
  name: string,
  source: string,
  options: { runId?: string; tags?: Record<string, unknown>; description?: string; runLink?: string; storageLocation?: string } = {},
): ModelVersion {
  const tags = Object.entries(options.tags ?? {}).map(([k, v]) => [validateKey('tag', k), validateTagValue(k, pyStr(v))] as const);
  if (store.remote) return rest.createModelVersion(store.remote, name, source, { ...options, tags: Object.fromEntries(tags) });
  const dir = requireModelDir(store, name);
  let storageLocation = options.storageLocation ?? source;
  if (source.startsWith('models:/')) {
    const m = /^models:\/([^/]+)\/(\d+)$/.exec(source);
    if (m === null) throw new ValueError(`a models:/ source must name a version: models:/<name>/<version>, got '${source}'`);
    storageLocation = getModelVersion(store, m[1]!, Number(m[2])).storageLocation;
  }
  const t = store.now();
  const mv: ModelVersion = {
    name,
    version: 0,
    creationTimestamp: t,
    lastUpdatedTimestamp: t,
    currentStage: 'None',
    description: options.description ?? null,
    source,
    storageLocation,
    runId: options.runId ?? null,
    runLink: options.runLink ?? null,
    status: 'READY',
    statusMessage: null,
    userId: store.user,
    tags: {},
    aliases: [],
  };
  // The version number is claimed by the rename that makes the folder appear: it fails when another
  // process placed that number first, and the next number is tried. No lock is needed.
  let version = nextVersion(store, dir);
  for (;;) {
    const vdir = path.join(dir, `version-${version}`);
    const placed = store.placeRecord(vdir, (staged) => {
      for (const [k, v] of tags) writeFileAtomic(path.join(staged, 'tags', k), v);
      writeFileAtomic(path.join(staged, 'meta.yaml'), versionMetaYaml({ ...mv, version }));
    });
    if (placed) break;
    if (!removeIfStray(store, vdir)) version++;
  }
  touchModel(store, name);
  return getModelVersion(store, name, version);
}

/**
 * Registers the model at `modelUri` (`runs:/<run id>/<path>`, a models:/ URI, a `file://` URI or a
 * folder) as a new version of `name`, creating the registered model if needed (mlflow.register_model).
 */
export function registerModel(
  store: RunStore,
  modelUri: string,
  name: string,
  options: { tags?: Record<string, unknown>; description?: string } = {},
): ModelVersion {
  validateModelName(name);
  let source = modelUri;
  let runId: string | undefined;
  const runs = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(modelUri);
  if (runs !== null) {
    runId = runs[1]!;
    const run = store.getRun(runId);
    source = run.getArtifactUri(runs[2] === undefined || runs[2] === '' ? undefined : runs[2]);
    // On a server the version points at the uploaded copy: what the run wrote must be there first.
    store.remote?.flushOrThrow([runId]);
  } else if (store.remote && isServerArtifactUri(modelUri)) {
    // a server's artifact URI: the server resolves it
  } else if (!modelUri.startsWith('models:/') && !/^file:/i.test(modelUri)) {
    source = pathToUri(path.resolve(modelUri));
  }
  // A version must point at something: a runs:/ path or folder that does not exist is refused.
  if (!store.remote && !source.startsWith('models:/') && /^file:/i.test(source) && !fs.existsSync(uriToPath(source))) {
    throw new TrackingError(`cannot register '${modelUri}': nothing exists at ${uriToPath(source)}`);
  }
  if (store.remote) {
    if (!source.startsWith('models:/') && /^file:/i.test(source)) {
      throw new TrackingError(
        `cannot register '${modelUri}' on ${store.trackingUri}: the server cannot read a local folder; log the model to a run (runs:/...)`,
      );
    }
    try {
      rest.getRegisteredModel(store.remote, name);
    } catch (e) {
      if (!(e instanceof TrackingError)) throw e;
      try {
        rest.createRegisteredModel(store.remote, name, {});
      } catch (e2) {
        if (!/already exists/.test((e2 as Error).message)) throw e2; // another client created it meanwhile
      }
    }
  } else if (!fs.existsSync(path.join(modelsDir(store), name, 'meta.yaml'))) {
    try {
      createRegisteredModel(store, name);
    } catch (e) {
      if (!(e instanceof TrackingError) || !fs.existsSync(path.join(modelsDir(store), name, 'meta.yaml'))) throw e;
    }
  }
  return createModelVersion(store, name, source, { runId, tags: options.tags, description: options.description });
}

function versionDir(store: RunStore, name: string, version: number | string): string {
  const v = validateVersion(version);
  const dir = path.join(requireModelDir(store, name), `version-${v}`);
  if (!fs.existsSync(path.join(dir, 'meta.yaml'))) throw new TrackingError(`model version ${name} ${v} not found`);
  return dir;
}

/** One model version; deleted versions are not found. */
export function getModelVersion(store: RunStore, name: string, version: number | string): ModelVersion {
  if (store.remote) return rest.getModelVersion(store.remote, name, validateVersion(version));
  const mv = readVersion(store, versionDir(store, name, version));
  if (mv.currentStage === DELETED_STAGE) throw new TrackingError(`model version ${name} ${mv.version} not found`);
  return mv;
}

/** The highest-numbered (not deleted) version of a registered model. */
export function getLatestModelVersion(store: RunStore, name: string): ModelVersion {
  const latest = getRegisteredModel(store, name).latestVersion;
  if (latest === null) throw new TrackingError(`registered model '${name}' has no versions`);
  return getModelVersion(store, name, latest);
}

function versionLookup(mv: ModelVersion): Lookup {
  return (entity, key) => {
    if (entity === 'tag') return mv.tags[key];
    if (entity !== 'attribute') throw new TrackingError(`model versions have no ${entity}s to filter on`);
    switch (key) {
      case 'name':
        return mv.name;
      case 'version':
      case 'version_number':
        return mv.version;
      case 'run_id':
        return mv.runId;
      case 'source':
      case 'source_path':
        return mv.source;
      case 'current_stage':
        return mv.currentStage;
      case 'description':
        return mv.description;
      case 'user_id':
        return mv.userId;
      default:
        throw new TrackingError(`unknown model version attribute '${key}'`);
    }
  };
}

/** Model versions matching a filter such as `name = 'informer'` or `run_id = '...'` (default all). */
export function searchModelVersions(store: RunStore, filter?: string): ModelVersion[] {
  if (store.remote) return rest.searchModelVersions(store.remote, filter);
  const clauses = parseFilter(filter);
  const out: ModelVersion[] = [];
  for (const rm of searchRegisteredModels(store)) {
    for (const v of versionDirs(modelDir(store, rm.name))) {
      const mv = readVersion(store, v.dir);
      if (mv.currentStage !== DELETED_STAGE && matchesFilter(clauses, versionLookup(mv))) out.push(mv);
    }
  }
  return out;
}

/** Sets a tag on a model version. */
export function setModelVersionTag(store: RunStore, name: string, version: number | string, key: string, value: unknown): void {
  validateKey('tag', key);
  const text = validateTagValue(key, pyStr(value));
  if (store.remote) return rest.setModelVersionTag(store.remote, name, validateVersion(version), key, text);
  getModelVersion(store, name, version);
  store.writeFile(path.join(versionDir(store, name, version), 'tags', key), text);
  touchModel(store, name);
}

/** Points `alias` (e.g. 'champion') at a version; models:/<name>/@<alias> then resolves to it. */
export function setRegisteredModelAlias(store: RunStore, name: string, alias: string, version: number | string): void {
  validateAlias(alias);
  if (store.remote) return rest.setRegisteredModelAlias(store.remote, name, alias, validateVersion(version));
  const mv = getModelVersion(store, name, version);
  store.writeFile(path.join(requireModelDir(store, name), 'aliases', alias), String(mv.version));
  touchModel(store, name);
}

/** Removes an alias (no error if it is not set). */
export function deleteRegisteredModelAlias(store: RunStore, name: string, alias: string): void {
  validateAlias(alias);
  if (store.remote) return rest.deleteRegisteredModelAlias(store.remote, name, alias);
  const file = path.join(requireModelDir(store, name), 'aliases', alias);
  if (fs.existsSync(file)) {
    fs.unlinkSync(file);
    touchModel(store, name);
  }
}

/** The version an alias points at. */
export function getModelVersionByAlias(store: RunStore, name: string, alias: string): ModelVersion {
  validateAlias(alias);
  if (store.remote) return rest.getModelVersionByAlias(store.remote, name, alias);
  const file = path.join(requireModelDir(store, name), 'aliases', alias);
  if (!fs.existsSync(file)) throw new TrackingError(`registered model '${name}' has no alias '${alias}'`);
  return getModelVersion(store, name, fs.readFileSync(file, 'utf8').trim());
}

/** Moves a version to a stage (None, Staging, Production, Archived), optionally archiving the others in it. */
export function transitionModelVersionStage(
  store: RunStore,
  name: string,
  version: number | string,
  stage: string,
  archiveExistingVersions = false,
): ModelVersion {
  const canonical = STAGES.find((s) => s.toLowerCase() === stage.toLowerCase());
  if (canonical === undefined) throw new ValueError(`invalid stage '${stage}'; use one of ${STAGES.join(', ')}`);
  if (archiveExistingVersions && canonical !== 'Staging' && canonical !== 'Production') {
    throw new ValueError(`archiveExistingVersions only applies to the Staging and Production stages, not '${canonical}'`);
  }
  if (store.remote)
    return rest.transitionModelVersionStage(store.remote, name, validateVersion(version), canonical, archiveExistingVersions);
  const mv = getModelVersion(store, name, version);
  const t = store.now();
  if (archiveExistingVersions) {
    for (const other of searchModelVersions(store, `name = '${name.replace(/'/g, "''")}'`)) {
      if (other.version !== mv.version && other.currentStage === canonical) {
        writeVersionMeta(store, versionDir(store, name, other.version), { ...other, currentStage: 'Archived', lastUpdatedTimestamp: t });
      }
    }
  }
  writeVersionMeta(store, versionDir(store, name, mv.version), { ...mv, currentStage: canonical, lastUpdatedTimestamp: t });
  touchModel(store, name);
  return getModelVersion(store, name, mv.version);
}

/** Deletes a version as MLflow's FileStore does (stage Deleted_Internal; its aliases are removed). */
export function deleteModelVersion(store: RunStore, name: string, version: number | string): void {
  if (store.remote) return rest.deleteModelVersion(store.remote, name, validateVersion(version));
  const mv = getModelVersion(store, name, version);
  writeVersionMeta(store, versionDir(store, name, mv.version), { ...mv, currentStage: DELETED_STAGE, lastUpdatedTimestamp: store.now() });
  for (const alias of mv.aliases) deleteRegisteredModelAlias(store, name, alias);
  touchModel(store, name);
}
