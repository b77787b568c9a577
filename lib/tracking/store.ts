// RunStore: an MLflow FileStore ("mlruns") folder on the local disk. Owns the layout (where
// experiments, runs and their files live), the meta.yaml formats, and the atomic/locked writes;
// Run (run.ts) logs into one run, reader.ts searches, registry.ts handles models/.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { ConfigError, FormatError, ValueError } from '../errors.js';
import { isServerUri, pathToUri, resolveStorePath } from './uri.js';
import { TrackingError } from './errors.js';
import {
  appendLine,
  createFileExclusive,
  makeStagingDir,
  placeDir,
  removeEmptyDirs,
  removeStaleTemps,
  writeFileAtomic,
} from '../fs/atomic.js';
import { LockTimeoutError, withLock, withLockAsync } from '../fs/lock.js';
import type { LockOptions } from '../fs/lock.js';
import { currentOwner, ownerAlive, parseOwner, type ProcessOwner } from '../fs/owner.js';
import { dumpYaml, parseYaml } from './yaml.js';
import { pyStr } from './pyformat.js';
import { randomRunName } from './names.js';
import { Run } from './run.js';
import { validateExperimentId, validateExperimentName, validateKey, validateRunId, validateTagValue } from './validate.js';
import { RUN_STATUS_CODES } from './types.js';
import type { DatasetInput, Experiment, LifecycleStage, RunInfo, RunStatus, ViewType } from './types.js';
import type { RemoteTracking } from './remote/tracking.js';

export const DEFAULT_EXPERIMENT_ID = '0';
export const DEFAULT_EXPERIMENT_NAME = 'Default';
const TRASH = '.trash';
const STAGING = '.informer-staging';
// Who runs a RUNNING run (a hidden file in its folder, which MLflow ignores): lets a later process
// tell a run whose process was killed from one still in progress.
const OWNER_FILE = '.informer-owner';
const MODELS = 'models';
// Folders inside an experiment that are not runs (MLflow 2.x and 3.x).
const RESERVED_EXPERIMENT_FOLDERS = new Set(['tags', 'datasets', 'traces', 'models']);
const STATUS_BY_CODE = new Map(Object.entries(RUN_STATUS_CODES).map(([k, v]) => [v, k as RunStatus]));

/** Options of RunStore.open; the injectable parts make the written bytes repeatable in tests. */
export interface RunStoreOptions {
  /** Create the folder (and the Default experiment) if missing. Default true; false for read-only use. */
  create?: boolean;
  /** Clock in epoch milliseconds. Default Date.now. */
  now?: () => number;
  /** User recorded on runs (`user_id`, tag `mlflow.user`). Default: $LOGNAME/$USER/$USERNAME or the OS account. */
  user?: string;
  /** Tag `mlflow.source.name`. Default process.argv[1]. */
  sourceName?: string;
  /** Source of randomness for run ids, experiment ids, model uuids and run names. Default crypto.randomBytes. */
  randomHex?: (bytes: number) => string;
  /** Lock timing for experiment and registry creation. */
  lock?: LockOptions;
}

/** Options of RunStore#createRun. */
export interface CreateRunOptions {
  /** Default '0' (the Default experiment). */
  experimentId?: string;
  /** Default: tag `mlflow.runName` if given, else a random `adjective-noun-123` name. */
  runName?: string;
  /** Extra tags; values are converted with Python's str() rules. */
  tags?: Record<string, unknown>;
  /** Sets tag `mlflow.parentRunId` (nested run). */
  parentRunId?: string;
  /** Sets tag `mlflow.note.content` (the run description shown by the MLflow UI). */
  description?: string;
  /** Epoch ms; default now. */
  startTime?: number;
}

// A plain path becomes a file:// URI, as MLflow's resolve_uri_if_local does; URIs are kept.
function resolveArtifactLocation(location: string | undefined): string | undefined {
  if (location === undefined) return undefined;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(location);
  return scheme !== null && scheme[1]!.length > 1 ? location : pathToUri(path.resolve(location));
}

function defaultUser(): string {
  const env = process.env;
  const fromEnv = env.LOGNAME || env.USER || env.LNAME || env.USERNAME;
  if (fromEnv) return fromEnv;
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

function lockError(e: unknown): unknown {
  return e instanceof LockTimeoutError ? new TrackingError(e.message, { cause: e }) : e;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function subdirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * Reads every file below `dir` (params/, tags/, metrics/, aliases/) as key -> read(file, key), in
 * sorted order; keys are the relative paths, so they may contain '/'. A missing folder is empty.
 */
export function readKeyedFiles<T>(dir: string, read: (file: string, key: string) => T): Record<string, T> {
  const out: Record<string, T> = {};
  const walk = (d: string, prefix: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const key = prefix + e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), `${key}/`);
      else if (e.isFile()) out[key] = read(path.join(d, e.name), key);
    }
  };
  walk(dir, '');
  return out;
}

/** Reads a folder of value files (params/, tags/, aliases/) into key -> content. */
export function readValueFiles(dir: string): Record<string, string> {
  return readKeyedFiles(dir, (file) => fs.readFileSync(file, 'utf8'));
}

/** A local MLflow FileStore folder. */
export class RunStore {
  /** Absolute path of the store folder. */
  readonly root: string;
  /** Its `file://` URI. */
  readonly rootUri: string;
  readonly now: () => number;
  readonly user: string;
  readonly sourceName: string;
  readonly randomHex: (bytes: number) => string;
  readonly lockOptions: LockOptions;
  readonly #runDirs = new Map<string, { experimentId: string; dir: string }>();

  protected constructor(root: string, options: RunStoreOptions) {
    this.root = root;
    this.rootUri = pathToUri(root);
    this.now = options.now ?? Date.now;
    this.user = options.user ?? defaultUser();
    this.sourceName = options.sourceName ?? process.argv[1] ?? '';
    this.randomHex = options.randomHex ?? ((n) => randomBytes(n).toString('hex'));
    this.lockOptions = options.lock ?? {};
  }

  /** The tracking server behind this store, or undefined for a local FileStore (ServerStore overrides). */
  get remote(): RemoteTracking | undefined {
    return undefined;
  }

  /** The tracking URI runs are recorded under: the store folder's `file://` URI, or the server's URL. */
  get trackingUri(): string {
    return this.rootUri;
  }

  static #serverOpener: ((uri: string, options: RunStoreOptions) => RunStore) | undefined;

  /** How open() reaches a tracking server: set by remote/server-store.ts (which extends this class, so it cannot be imported here). */
  static useServerOpener(open: (uri: string, options: RunStoreOptions) => RunStore): void {
    RunStore.#serverOpener = open;
  }

  /**
   * Opens (by default creating) the store at `uri`: a folder path or `file:` URI; default
   * $MLFLOW_TRACKING_URI, then ./mlruns. Creates `.trash/` and the Default experiment `0`. An
   * `http(s)://` URI is an MLflow tracking server: the result is a ServerStore.
   */
  static open(uri?: string, options: RunStoreOptions = {}): RunStore {
    const raw = (uri ?? process.env.MLFLOW_TRACKING_URI ?? '').trim();
    if (isServerUri(raw)) {
      if (RunStore.#serverOpener === undefined)
        throw new ConfigError(`tracking URI '${raw}': import informer-node (or its tracking module) to use a tracking server`);
      return RunStore.#serverOpener(raw, options);
    }
    const root = resolveStorePath(uri);
    const store = new RunStore(root, options);
    if (fs.existsSync(root) && !isDir(root)) throw new ConfigError(`tracking store '${root}' exists but is not a folder`);
    if (options.create === false) {
      if (!isDir(root)) throw new TrackingError(`no tracking store at '${root}'`);
      return store;
    }
    fs.mkdirSync(path.join(root, TRASH), { recursive: true });
    if (!fs.existsSync(path.join(root, TRASH, DEFAULT_EXPERIMENT_ID))) {
      const t = store.now();
      const dir = path.join(root, DEFAULT_EXPERIMENT_ID);
      fs.mkdirSync(dir, { recursive: true });
      // Exclusive create: two processes opening a fresh store at once both succeed, one file wins.
      store.createFile(
        path.join(dir, 'meta.yaml'),
        store.experimentYaml({
          experimentId: DEFAULT_EXPERIMENT_ID,
          name: DEFAULT_EXPERIMENT_NAME,
          artifactLocation: `${store.rootUri}/${DEFAULT_EXPERIMENT_ID}`,
          lifecycleStage: 'active',
          creationTime: t,
          lastUpdateTime: t,
          tags: {},
        }),
      );
    }
    store.sweepStale();
    return store;
  }

  // ---- low-level writes: temp files live at the store root, where MLflow ignores plain files ----

  /** Writes a whole file atomically (temp file + rename). */
  writeFile(file: string, data: string | Uint8Array): void {
    writeFileAtomic(file, data, { tmpDir: this.root });
  }

  /** Creates a file atomically if it does not exist; returns false if it already did. */
  createFile(file: string, data: string | Uint8Array): boolean {
    return createFileExclusive(file, data, this.root);
  }

  /** Appends one '\n'-terminated line with a single write. */
  appendLine(file: string, line: string): void {
    appendLine(file, line, this.root);
  }

  /**
   * Where multi-file records (experiment, run, registered model and model version folders) are
   * built before one rename puts them in place, so readers see all of a record or none of it. It
   * is inside the Default experiment's `datasets/` folder: on the store's filesystem, and a place
   * MLflow never lists (it opens dataset folders only by the ids runs refer to).
   */
  stagingDir(): string {
    const exp0 = this.experimentDir(DEFAULT_EXPERIMENT_ID) ?? path.join(this.root, DEFAULT_EXPERIMENT_ID);
    return path.join(exp0, 'datasets', STAGING);
  }

  /**
   * Builds a record folder (`fill` writes its files) in the staging folder and renames it to `dest`.
   * Returns false, placing nothing, when `dest` already exists and is not empty.
   */
  placeRecord(dest: string, fill: (dir: string) => void): boolean {
    this.sweepStale();
    const staged = makeStagingDir(this.stagingDir());
    try {
      fill(staged);
      return placeDir(staged, dest);
    } finally {
      this.#dropStaging(staged);
    }
  }

  /** Moves a record folder out of sight in one rename, then deletes it (a reader never sees half of it). */
  removeRecord(dir: string): void {
    const staged = makeStagingDir(this.stagingDir());
    try {
      fs.renameSync(dir, path.join(staged, 'record'));
    } finally {
      this.#dropStaging(staged);
    }
  }

  // The staging folder and the datasets/ folder holding it go too when nothing else is in them.
  #dropStaging(staged: string): void {
    fs.rmSync(staged, { recursive: true, force: true });
    removeEmptyDirs(path.dirname(staged), path.dirname(path.dirname(path.dirname(staged))));
  }

  #lastSweep = 0;
  /** Removes what killed writers left behind (temp files at the root, staging folders); at most once a minute. */
  sweepStale(): void {
    const t = Date.now();
    if (t - this.#lastSweep < 60_000) return;
    this.#lastSweep = t;
    removeStaleTemps(this.root);
    removeStaleTemps(this.stagingDir());
  }

  /** Runs `fn` under the store-wide lock `name` (experiment creation), blocking while it waits. */
  withLock<T>(name: string, fn: () => T): T {
    try {
      return withLock(this.lockFile(name), fn, this.lockOptions);
    } catch (e) {
      throw lockError(e);
    }
  }

  /** withLock for async callers: waits without blocking the event loop. */
  async withLockAsync<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    try {
      return await withLockAsync(this.lockFile(name), fn, this.lockOptions);
    } catch (e) {
      throw lockError(e);
    }
  }

  private lockFile(name: string): string {
    return path.join(this.root, `.informer-lock-${name}`);
  }

  /** Reads and parses a YAML file (YAML 1.1, as MLflow); a FormatError if it does not parse. */
  readYaml(file: string): Record<string, unknown> {
    const text = fs.readFileSync(file, 'utf8');
    let data: unknown;
    try {
      data = parseYaml(text);
    } catch (e) {
      throw new FormatError(`${file} is not valid YAML: ${(e as Error).message}`, { cause: e });
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new FormatError(`${file} is not a YAML mapping`);
    return data as Record<string, unknown>;
  }

  // ---- experiments ----

  private experimentYaml(e: Experiment): string {
    return dumpYaml({
      artifact_location: e.artifactLocation,
      creation_time: e.creationTime,
      experiment_id: e.experimentId,
      last_update_time: e.lastUpdateTime,
      lifecycle_stage: e.lifecycleStage,
      name: e.name,
    });
  }

  /** The folder of experiment `id` (active under the root, deleted under .trash), or null. */
  experimentDir(id: string, view: ViewType = 'all'): string | null {
    validateExperimentId(id);
    if (view !== 'deleted' && id !== MODELS && isDir(path.join(this.root, id))) return path.join(this.root, id);
    if (view !== 'active' && isDir(path.join(this.root, TRASH, id))) return path.join(this.root, TRASH, id);
    return null;
  }

  private readExperiment(dir: string, id: string): Experiment | null {
    const metaFile = path.join(dir, 'meta.yaml');
    if (!fs.existsSync(metaFile)) return null; // malformed or half-created: MLflow skips it too
    const m = this.readYaml(metaFile);
    // MLflow ignores an experiment whose recorded id differs from its folder name.
    if (String(m.experiment_id) !== id) return null;
    return {
      experimentId: id,
      name: String(m.name ?? ''),
      artifactLocation: String(m.artifact_location ?? `${this.rootUri}/${id}`),
      lifecycleStage: m.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
      creationTime: typeof m.creation_time === 'number' ? m.creation_time : null,
      lastUpdateTime: typeof m.last_update_time === 'number' ? m.last_update_time : null,
      tags: readValueFiles(path.join(dir, 'tags')),
    };
  }

  /** Experiment `id`, or null if it does not exist. */
  findExperiment(id: string): Experiment | null {
    const dir = this.experimentDir(id);
    return dir === null ? null : this.readExperiment(dir, id);
  }

  /** Experiment `id`; a TrackingError if it does not exist. */
  getExperiment(id: string): Experiment {
    const e = this.findExperiment(id);
    if (e === null) throw new TrackingError(`experiment '${id}' does not exist in ${this.root}`);
    return e;
  }

  /** All experiments in the given view (default active), newest first. */
  listExperiments(view: ViewType = 'active'): Experiment[] {
    const out: Experiment[] = [];
    if (view !== 'deleted') {
      for (const id of subdirs(this.root)) {
        if (id === TRASH || id === MODELS || id.startsWith('.')) continue;
        const e = this.readExperiment(path.join(this.root, id), id);
        if (e !== null) out.push(e);
      }
    }
    if (view !== 'active') {
      for (const id of subdirs(path.join(this.root, TRASH))) {
        const e = this.readExperiment(path.join(this.root, TRASH, id), id);
        if (e !== null) out.push(e);
      }
    }
    return out.sort((a, b) => (b.creationTime ?? 0) - (a.creationTime ?? 0) || (a.experimentId < b.experimentId ? -1 : 1));
  }

  /** The experiment named `name` (active or deleted), or null. */
  getExperimentByName(name: string): Experiment | null {
    return this.listExperiments('all').find((e) => e.name === name) ?? null;
  }

  /**
   * Creates an experiment and returns its id (a random integer string, as MLflow 2.x+). Names are
   * unique: creating one that exists (even deleted) is a TrackingError. Safe across processes.
   */
  createExperiment(name: string, options: { tags?: Record<string, unknown>; artifactLocation?: string } = {}): string {
    const create = this.#experimentCreator(name, options);
    return this.withLock('experiments', create);
  }

  /** createExperiment for async callers: waits for the store lock without blocking the event loop. */
  createExperimentAsync(name: string, options: { tags?: Record<string, unknown>; artifactLocation?: string } = {}): Promise<string> {
    const create = this.#experimentCreator(name, options);
    return this.withLockAsync('experiments', create);
  }

  // Validates up front; the returned function runs under the experiments lock.
  #experimentCreator(name: string, options: { tags?: Record<string, unknown>; artifactLocation?: string }): () => string {
    validateExperimentName(name);
    const tags = Object.entries(options.tags ?? {}).map(([k, v]) => [validateKey('tag', k), validateTagValue(k, pyStr(v))] as const);
    const artifactLocation = resolveArtifactLocation(options.artifactLocation);
    return () => {
      const existing = this.getExperimentByName(name);
      if (existing !== null) {
        throw new TrackingError(
          existing.lifecycleStage === 'deleted'
            ? `experiment '${name}' already exists in deleted state (id ${existing.experimentId}); restore it, or remove it from ${path.join(this.root, TRASH)}`
            : `experiment '${name}' already exists (id ${existing.experimentId})`,
        );
      }
      for (;;) {
        const id = (BigInt(`0x${this.randomHex(8)}`) & ((1n << 63n) - 1n)).toString();
        if (id === DEFAULT_EXPERIMENT_ID || this.experimentDir(id) !== null) continue;
        const t = this.now();
        const placed = this.placeRecord(path.join(this.root, id), (dir) => {
          for (const [k, v] of tags) writeFileAtomic(path.join(dir, 'tags', k), v);
          writeFileAtomic(
            path.join(dir, 'meta.yaml'),
            this.experimentYaml({
              experimentId: id,
              name,
              artifactLocation: artifactLocation ?? `${this.rootUri}/${id}`,
              lifecycleStage: 'active',
              creationTime: t,
              lastUpdateTime: t,
              tags: {},
            }),
          );
        });
        if (placed) return id;
      }
    };
  }

  /** The active experiment named `name`, created if missing (what setExperiment does). */
  getOrCreateExperiment(name: string): Experiment {
    const found = this.getExperimentByName(name);
    if (found !== null) return this.#activeOrThrow(found);
    try {
      return this.getExperiment(this.createExperiment(name));
    } catch (e) {
      const now = this.getExperimentByName(name);
      if (!(e instanceof TrackingError) || now === null) throw e;
      return this.#activeOrThrow(now); // another process created it between our two looks
    }
  }

  /** getOrCreateExperiment for async callers (lock waits do not block the event loop). */
  async getOrCreateExperimentAsync(name: string): Promise<Experiment> {
    const found = this.getExperimentByName(name);
    if (found !== null) return this.#activeOrThrow(found);
    try {
      return this.getExperiment(await this.createExperimentAsync(name));
    } catch (e) {
      const now = this.getExperimentByName(name);
      if (!(e instanceof TrackingError) || now === null) throw e;
      return this.#activeOrThrow(now);
    }
  }

  #activeOrThrow(found: Experiment): Experiment {
    if (found.lifecycleStage === 'deleted') {
      throw new TrackingError(
        `experiment '${found.name}' is deleted; restore it with restoreExperiment('${found.experimentId}') or remove it from ${path.join(this.root, TRASH)}`,
      );
    }
    return found;
  }

  /** Sets (overwrites) an experiment tag. */
  setExperimentTag(id: string, key: string, value: unknown): void {
    validateKey('tag', key);
    const text = validateTagValue(key, pyStr(value));
    const exp = this.getExperiment(id);
    if (exp.lifecycleStage !== 'active') throw new TrackingError(`experiment '${id}' is deleted; restore it before setting tags`);
    this.writeFile(path.join(this.experimentDir(id, 'active')!, 'tags', key), text);
  }

  private writeExperimentMeta(dir: string, e: Experiment): void {
    this.writeFile(path.join(dir, 'meta.yaml'), this.experimentYaml(e));
  }

  /** Deletes an experiment as MLflow does: its runs are marked deleted and its folder moves to .trash/. */
  deleteExperiment(id: string): void {
    if (id === DEFAULT_EXPERIMENT_ID) throw new TrackingError("the Default experiment '0' cannot be deleted");
    const dir = this.experimentDir(id, 'active');
    if (dir === null) throw new TrackingError(`no active experiment '${id}'`);
    const t = this.now();
    for (const runDir of this.runDirs(dir)) {
      const info = this.readRunInfo(runDir);
      if (info.lifecycleStage === 'active') this.writeRunMeta(runDir, { ...info, lifecycleStage: 'deleted' }, t);
    }
    this.writeExperimentMeta(dir, { ...this.getExperiment(id), lifecycleStage: 'deleted', lastUpdateTime: t });
    fs.renameSync(dir, path.join(this.root, TRASH, id));
    this.#runDirs.clear();
  }

  /** Restores a deleted experiment and its runs. */
  restoreExperiment(id: string): void {
    const dir = this.experimentDir(id, 'deleted');
    if (dir === null) throw new TrackingError(`no deleted experiment '${id}'`);
    if (this.experimentDir(id, 'active') !== null) throw new TrackingError(`an active experiment '${id}' already exists`);
    const target = path.join(this.root, id);
    fs.renameSync(dir, target);
    this.#runDirs.clear();
    for (const runDir of this.runDirs(target)) {
      const info = this.readRunInfo(runDir);
      if (info.lifecycleStage === 'deleted') this.writeRunMeta(runDir, { ...info, lifecycleStage: 'active' });
    }
    this.writeExperimentMeta(target, { ...this.getExperiment(id), lifecycleStage: 'active', lastUpdateTime: this.now() });
  }

  // ---- runs ----

  /** Run folders of an experiment folder (subfolders with a meta.yaml, reserved names excluded). */
  runDirs(experimentDir: string): string[] {
    return subdirs(experimentDir)
      .filter((n) => !RESERVED_EXPERIMENT_FOLDERS.has(n) && !n.startsWith('.'))
      .map((n) => path.join(experimentDir, n))
      .filter((d) => fs.existsSync(path.join(d, 'meta.yaml')));
  }

  /** Where run `runId` lives, or null. Runs are found by scanning experiments, as MLflow does. */
  locateRun(runId: string): { experimentId: string; dir: string } | null {
    validateRunId(runId);
    const cached = this.#runDirs.get(runId);
    if (cached !== undefined && fs.existsSync(path.join(cached.dir, 'meta.yaml'))) return cached;
    const parents = [this.root, path.join(this.root, TRASH)];
    for (const parent of parents) {
      for (const exp of subdirs(parent)) {
        if (parent === this.root && (exp === TRASH || exp === MODELS || exp.startsWith('.'))) continue;
        const dir = path.join(parent, exp, runId);
        if (fs.existsSync(path.join(dir, 'meta.yaml'))) {
          const found = { experimentId: exp, dir };
          this.#runDirs.set(runId, found);
          return found;
        }
      }
    }
    return null;
  }

  /** The folder of run `runId`; a TrackingError if there is no such run. */
  runDir(runId: string): string {
    const found = this.locateRun(runId);
    if (found === null) throw new TrackingError(`run '${runId}' not found in ${this.root}`);
    return found.dir;
  }

  /** Parses a run's meta.yaml (tolerating what older MLflow versions wrote). */
  readRunInfo(dir: string): RunInfo {
    const m = this.readYaml(path.join(dir, 'meta.yaml'));
    const code = typeof m.status === 'number' ? m.status : RUN_STATUS_CODES.RUNNING;
    const status = STATUS_BY_CODE.get(code);
    if (status === undefined) throw new FormatError(`${path.join(dir, 'meta.yaml')}: unknown run status ${String(m.status)}`);
    let runName = typeof m.run_name === 'string' ? m.run_name : '';
    if (runName === '') {
      try {
        runName = fs.readFileSync(path.join(dir, 'tags', 'mlflow.runName'), 'utf8');
      } catch {
        // no name recorded
      }
    }
    return {
      runId: String(m.run_id ?? m.run_uuid ?? path.basename(dir)),
      runName,
      experimentId: String(m.experiment_id),
      userId: m.user_id === null || m.user_id === undefined ? '' : String(m.user_id),
      status,
      startTime: typeof m.start_time === 'number' ? m.start_time : 0,
      endTime: typeof m.end_time === 'number' ? m.end_time : null,
      artifactUri: String(m.artifact_uri ?? ''),
      lifecycleStage: (m.lifecycle_stage === 'deleted' ? 'deleted' : 'active') as LifecycleStage,
    };
  }

  /**
   * Writes a run's meta.yaml exactly as MLflow's FileStore does (keys sorted, integer status,
   * legacy fields). `deletedTime`: null at creation, epoch ms when deleted, omitted (undefined)
   * on other rewrites, like MLflow.
   */
  writeRunMeta(dir: string, info: RunInfo, deletedTime?: number | null): void {
    this.writeFile(path.join(dir, 'meta.yaml'), this.runMetaYaml(info, deletedTime));
  }

  private runMetaYaml(info: RunInfo, deletedTime?: number | null): string {
    const meta: Record<string, unknown> = {
      artifact_uri: info.artifactUri,
      end_time: info.endTime,
      entry_point_name: '',
      experiment_id: info.experimentId,
      lifecycle_stage: info.lifecycleStage,
      run_id: info.runId,
      run_name: info.runName,
      run_uuid: info.runId,
      source_name: '',
      source_type: 4,
      source_version: '',
      start_time: info.startTime,
      status: RUN_STATUS_CODES[info.status],
      tags: [],
      user_id: info.userId,
    };
    if (deletedTime !== undefined) meta.deleted_time = deletedTime;
    return dumpYaml(meta);
  }

  /** Records this process as the one running `runId` (when a run is created or resumed). */
  claimRun(runId: string): void {
    this.writeFile(path.join(this.runDir(runId), OWNER_FILE), JSON.stringify(currentOwner()));
  }

  /** Forgets who ran `runId` (when it ends: only RUNNING runs need an owner). */
  releaseRun(runId: string): void {
    fs.rmSync(path.join(this.runDir(runId), OWNER_FILE), { force: true });
  }

  /**
   * True when run `runId` is RUNNING but the process that ran it is gone (killed, or its machine
   * rebooted): such a run will never end by itself. False when its owner is alive, unknown, or on
   * another host.
   */
  isOrphaned(runId: string): boolean {
    const dir = this.runDir(runId);
    if (this.readRunInfo(dir).status !== 'RUNNING') return false;
    let owner: ProcessOwner | undefined;
    try {
      owner = parseOwner(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
    } catch {
      return false;
    }
    return owner !== undefined && !ownerAlive(owner);
  }

  /**
   * Records datasets as inputs of a run, in MLflow's FileStore layout: each dataset once per experiment
   * (`<experiment>/datasets/<md5(name + digest)>/meta.yaml`), each input once per run
   * (`<run>/inputs/<md5(dataset id + run id)>/meta.yaml`, its tags the input's). Logging the same
   * dataset again is a no-op, as in MLflow.
   */
  logInputs(runId: string, inputs: readonly DatasetInput[]): void {
    const dir = this.runDir(runId); // a TrackingError when there is no such run
    const { experimentId } = this.locateRun(runId)!;
    if (this.readRunInfo(dir).lifecycleStage !== 'active') throw new TrackingError(`run ${runId} is deleted; it takes no inputs`);
    const expDir = this.experimentDir(experimentId, 'all')!;
    const md5 = (...parts: string[]) => {
      const h = createHash('md5');
      for (const p of parts) h.update(p, 'utf8');
      return h.digest('hex');
    };
    for (const input of inputs) {
      const d = checkDatasetInput(input);
      const datasetId = md5(d.dataset.name, d.dataset.digest);
      const datasetDir = path.join(expDir, 'datasets', datasetId);
      if (!fs.existsSync(path.join(datasetDir, 'meta.yaml'))) {
        const meta = {
          digest: d.dataset.digest,
          name: d.dataset.name,
          profile: d.dataset.profile ?? null,
          schema: d.dataset.schema ?? null,
          source: d.dataset.source,
          source_type: d.dataset.sourceType,
        };
        this.placeRecord(datasetDir, (staged) => writeFileAtomic(path.join(staged, 'meta.yaml'), dumpYaml(meta)));
      }
      const inputDir = path.join(dir, 'inputs', md5(datasetId, runId));
      if (!fs.existsSync(path.join(inputDir, 'meta.yaml'))) {
        // destination_id repeats the dataset id: MLflow's FileStore writes it so (and never reads it).
        const meta = { destination_id: datasetId, destination_type: 'RUN', source_id: datasetId, source_type: 'DATASET', tags: d.tags };
        this.placeRecord(inputDir, (staged) => writeFileAtomic(path.join(staged, 'meta.yaml'), dumpYaml(meta)));
      }
    }
  }

  /** The dataset inputs of a run folder (inputs whose dataset record is missing are skipped, as MLflow does). */
  readInputs(experimentId: string, runDir: string): DatasetInput[] {
    const inputsDir = path.join(runDir, 'inputs');
    const expDir = this.experimentDir(experimentId, 'all');
    if (!fs.existsSync(inputsDir) || expDir === null) return [];
    const out: DatasetInput[] = [];
    for (const id of subdirs(inputsDir).sort()) {
      const input = this.readYaml(path.join(inputsDir, id, 'meta.yaml'));
      if (input.source_type !== 'DATASET') continue;
      const metaFile = path.join(expDir, 'datasets', String(input.source_id), 'meta.yaml');
      if (!fs.existsSync(metaFile)) continue;
      const ds = this.readYaml(metaFile);
      const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
      out.push({
        dataset: {
          name: String(ds.name),
          digest: String(ds.digest),
          sourceType: String(ds.source_type),
          source: String(ds.source),
          schema: str(ds.schema),
          profile: str(ds.profile),
        },
        tags: Object.fromEntries(Object.entries((input.tags as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)])),
      });
    }
    return out;
  }

  /** Creates a run (status RUNNING) with MLflow's system tags and returns a handle to log into it. */
  createRun(options: CreateRunOptions = {}): Run {
    const { experimentId, exp, runName, tags, startTime } = this.runSetup(options);
    const runId = this.randomHex(16);
    const expDir = this.experimentDir(experimentId, 'active')!;
    const dir = path.join(expDir, runId);
    const info: RunInfo = {
      runId,
      runName,
      experimentId,
      userId: this.user,
      status: 'RUNNING',
      startTime,
      endTime: null,
      artifactUri: `${exp.artifactLocation}/${runId}/artifacts`,
      lifecycleStage: 'active',
    };
    const placed = this.placeRecord(dir, (staged) => {
      for (const sub of ['metrics', 'params', 'artifacts']) fs.mkdirSync(path.join(staged, sub));
      for (const [k, v] of Object.entries(tags)) writeFileAtomic(path.join(staged, 'tags', k), v);
      writeFileAtomic(path.join(staged, OWNER_FILE), JSON.stringify(currentOwner()));
      writeFileAtomic(path.join(staged, 'meta.yaml'), this.runMetaYaml(info, null));
    });
    if (!placed) throw new TrackingError(`run folder ${dir} already exists`);
    this.#runDirs.set(runId, { experimentId, dir });
    return new Run(this, runId, experimentId, dir);
  }

  /** What a new run gets: its (active) experiment, name, MLflow's system tags and the caller's, start time. */
  protected runSetup(options: CreateRunOptions): {
    experimentId: string;
    exp: Experiment;
    runName: string;
    tags: Record<string, string>;
    startTime: number;
  } {
    const experimentId = options.experimentId ?? DEFAULT_EXPERIMENT_ID;
    const exp = this.getExperiment(experimentId);
    if (exp.lifecycleStage !== 'active') throw new TrackingError(`cannot create a run in deleted experiment '${experimentId}'`);
    const userTags = options.tags ?? {};
    const tagName = userTags['mlflow.runName'];
    if (options.runName !== undefined && tagName !== undefined && options.runName !== pyStr(tagName)) {
      throw new ValueError(
        `both runName ('${options.runName}') and tag mlflow.runName ('${pyStr(tagName)}') are given, with different values`,
      );
    }
    const runName = options.runName ?? (tagName !== undefined ? pyStr(tagName) : randomRunName(this.randomHex));
    const tags: Record<string, string> = { 'mlflow.user': this.user, 'mlflow.source.type': 'LOCAL' };
    if (this.sourceName !== '') tags['mlflow.source.name'] = this.sourceName;
    for (const [k, v] of Object.entries(userTags)) tags[k] = pyStr(v);
    tags['mlflow.runName'] = runName;
    if (options.parentRunId !== undefined) tags['mlflow.parentRunId'] = validateRunId(options.parentRunId);
    if (options.description !== undefined) tags['mlflow.note.content'] = options.description;
    for (const [k, v] of Object.entries(tags)) {
      validateKey('tag', k);
      validateTagValue(k, v);
    }
    return { experimentId, exp, runName, tags, startTime: options.startTime ?? this.now() };
  }

  /** A handle on an existing run (to log more into it, or end it). */
  getRun(runId: string): Run {
    const found = this.locateRun(runId);
    if (found === null) throw new TrackingError(`run '${runId}' not found in ${this.root}`);
    return new Run(this, runId, found.experimentId, found.dir);
  }

  /** Updates status / end time / name of a run (the run must not be deleted). */
  updateRunInfo(runId: string, patch: { status?: RunStatus; endTime?: number | null; runName?: string }): RunInfo {
    const dir = this.runDir(runId);
    const info = this.readRunInfo(dir);
    if (info.lifecycleStage !== 'active') throw new TrackingError(`run '${runId}' is deleted; restore it first`);
    const next: RunInfo = {
      ...info,
      status: patch.status ?? info.status,
      endTime: patch.endTime !== undefined ? patch.endTime : info.endTime,
      runName: patch.runName ?? info.runName,
    };
    if (patch.runName !== undefined) {
      validateTagValue('mlflow.runName', patch.runName);
      this.writeFile(path.join(dir, 'tags', 'mlflow.runName'), patch.runName);
    }
    this.writeRunMeta(dir, next);
    return next;
  }

  /** RUNNING runs (active, in active experiments) whose process is gone: see isOrphaned. */
  orphanedRuns(): string[] {
    const out: string[] = [];
    for (const exp of this.listExperiments('active')) {
      for (const dir of this.runDirs(this.experimentDir(exp.experimentId, 'active')!)) {
        const runId = path.basename(dir);
        try {
          if (this.isOrphaned(runId)) out.push(runId);
        } catch {
          // unreadable meta.yaml: not ours to judge
        }
      }
    }
    return out;
  }

  /**
   * Ends a RUNNING run as FAILED (for runs whose process was killed). A run whose process is still
   * alive on this host is refused unless `force`.
   */
  markFailed(runId: string, options: { force?: boolean } = {}): RunInfo {
    const info = this.readRunInfo(this.runDir(runId));
    if (info.status !== 'RUNNING') throw new TrackingError(`run '${runId}' is ${info.status}, not RUNNING`);
    if (!options.force && !this.isOrphaned(runId) && this.#ownerKnownAlive(runId)) {
      throw new TrackingError(`run '${runId}' is still being run by a live process on this host; pass force to mark it FAILED anyway`);
    }
    const next = this.updateRunInfo(runId, { status: 'FAILED', endTime: this.now() });
    this.releaseRun(runId);
    return next;
  }

  #ownerKnownAlive(runId: string): boolean {
    try {
      const owner = parseOwner(fs.readFileSync(path.join(this.runDir(runId), OWNER_FILE), 'utf8'));
      return owner !== undefined && owner.host === os.hostname() && ownerAlive(owner);
    } catch {
      return false;
    }
  }

  /** Marks a run deleted (it stays in place, as in MLflow; `mlflow gc` removes it for good). */
  deleteRun(runId: string): void {
    const dir = this.runDir(runId);
    this.writeRunMeta(dir, { ...this.readRunInfo(dir), lifecycleStage: 'deleted' }, this.now());
  }

  /** Restores a deleted run. */
  restoreRun(runId: string): void {
    const dir = this.runDir(runId);
    this.writeRunMeta(dir, { ...this.readRunInfo(dir), lifecycleStage: 'active' });
  }
}

// MLflow's limits on dataset records (mlflow/utils/validation.py and the SQL schema).
function checkDatasetInput(input: DatasetInput): Required<DatasetInput> {
  if (typeof input !== 'object' || input === null || typeof input.dataset !== 'object' || input.dataset === null) {
    throw new ValueError('a dataset input must be { dataset: { name, digest, sourceType, source, schema?, profile? }, tags? }');
  }
  const d = input.dataset;
  for (const [key, max] of [
    ['name', 500],
    ['digest', 36],
    ['sourceType', 36],
  ] as const) {
    if (typeof d[key] !== 'string' || d[key] === '' || d[key].length > max) {
      throw new ValueError(`dataset ${key} must be a non-empty string of at most ${max} characters, got ${JSON.stringify(d[key])}`);
    }
  }
  if (typeof d.source !== 'string') throw new ValueError(`dataset source must be a string, got ${JSON.stringify(d.source)}`);
  for (const key of ['schema', 'profile'] as const) {
    if (d[key] !== undefined && d[key] !== null && typeof d[key] !== 'string') throw new ValueError(`dataset ${key} must be a JSON string`);
  }
  const tags = input.tags ?? {};
  for (const [k, v] of Object.entries(tags)) {
    validateKey('tag', k);
    if (typeof v !== 'string') throw new ValueError(`dataset input tag ${k} must be a string`);
  }
  return { dataset: d, tags };
}
