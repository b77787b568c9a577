// Run: a handle on one run folder, logging params (create-once), metrics (appended lines), tags
// (atomic overwrite) and artifacts (atomic copies) exactly where MLflow's FileStore puts them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValueError } from '../errors.js';
import { TrackingError } from './errors.js';
import { TEMP_PREFIX, copyFileAtomic, writeFileAtomic } from '../fs/atomic.js';
import { pyFloatRepr, pyStr } from './pyformat.js';
import { dumpYaml } from './yaml.js';
import { uriToPath } from './uri.js';
import { validateArtifactPath, validateKey, validateMetric, validateParamValue, validateTagValue } from './validate.js';
import type { RunInfo, RunStatus, DatasetInput } from './types.js';
import type { RunStore } from './store.js';
import type { SpoolOp } from './remote/spool.js';
import { toJsonDouble } from './remote/convert.js';

/** Step and timestamp of a metric point (step defaults to 0, timestamp to now, as in MLflow). */
export interface LogMetricOptions {
  step?: number;
  /** Epoch milliseconds. */
  timestamp?: number;
}

/** The statuses a run can end with. */
export type EndStatus = Extract<RunStatus, 'FINISHED' | 'FAILED' | 'KILLED'>;

// A key that is a prefix folder of an existing key (or the reverse) cannot be a file: say so clearly.
function keyClash(kind: string, key: string, e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
    throw new ValueError(`${kind} key '${key}' clashes with an existing ${kind} that is a prefix of it (or has it as a prefix)`, {
      cause: e,
    });
  }
  throw e;
}

function stepOptions(key: string, v: number | LogMetricOptions | undefined): LogMetricOptions {
  if (v === undefined) return {};
  if (typeof v === 'number') return { step: v };
  if (v === null || typeof v !== 'object')
    throw new ValueError(`metric '${key}': the third argument is the step (an integer) or { step, timestamp }`);
  return v;
}

/** A run in a RunStore; obtained from RunStore#createRun / #getRun or the fluent startRun. */
export class Run {
  constructor(
    readonly store: RunStore,
    readonly runId: string,
    readonly experimentId: string,
    /** The run's folder, `<store>/<experiment id>/<run id>`. */
    readonly dir: string,
  ) {}

  /** The run's current meta.yaml (status, times, name...). */
  get info(): RunInfo {
    return this.store.readRunInfo(this.dir);
  }

  /** The run's info; a TrackingError if the run is deleted (nothing may be logged to it then). */
  ensureActive(): RunInfo {
    const info = this.info;
    if (info.lifecycleStage !== 'active') throw new TrackingError(`run '${this.runId}' is deleted; restore it before logging to it`);
    return info;
  }

  /**
   * Logs a param. Params are immutable: logging the same value again is a no-op, a different value
   * is a ValueError (as in MLflow). Values are stored with Python's str() rules (`0.001`, `True`).
   */
  logParam(key: string, value: unknown): void {
    validateKey('param', key);
    const text = validateParamValue(key, pyStr(value));
    this.ensureActive();
    const file = path.join(this.dir, 'params', key);
    let created: boolean;
    try {
      created = this.store.createFile(file, text);
    } catch (e) {
      keyClash('param', key, e);
    }
    if (created) this.journal({ op: 'batch', params: [{ key, value: text }] });
    else {
      let existing: string;
      try {
        existing = fs.readFileSync(file, 'utf8');
      } catch (e) {
        keyClash('param', key, e);
      }
      if (existing !== text) {
        throw new ValueError(
          `changing param values is not allowed: param '${key}' was already logged with value '${existing}' for run ${this.runId}; ` +
            `attempted new value '${text}' (log a different key, or use a nested run)`,
        );
      }
    }
  }

  /** Logs several params (each with logParam's rules). */
  logParams(params: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(params)) this.logParam(k, v);
  }

  /**
   * Appends one metric point. `value` may be NaN or ±Infinity (stored as `nan`, `inf`, `-inf`, as
   * MLflow does); the second argument is the step or { step, timestamp }. The line is on disk when
   * this returns, so a process killed later keeps it.
   */
  logMetric(key: string, value: number, stepOrOptions?: number | LogMetricOptions): void {
    validateKey('metric', key);
    const opts = stepOptions(key, stepOrOptions);
    const step = opts.step ?? 0;
    const timestamp = opts.timestamp ?? this.store.now();
    validateMetric(key, value, step, timestamp);
    // No deleted-run check here (unlike params/tags): it would read meta.yaml for every point of a training loop.
    try {
      this.store.appendLine(path.join(this.dir, 'metrics', key), `${timestamp} ${pyFloatRepr(value)} ${step}\n`);
    } catch (e) {
      keyClash('metric', key, e);
    }
    this.journal({ op: 'batch', metrics: [{ key, value: toJsonDouble(value), timestamp, step }] });
  }

  /** Logs several metrics at one step / timestamp. */
  logMetrics(metrics: Record<string, number>, stepOrOptions?: number | LogMetricOptions): void {
    const opts = stepOptions('*', stepOrOptions);
    const timestamp = opts.timestamp ?? this.store.now();
    for (const [k, v] of Object.entries(metrics)) this.logMetric(k, v, { step: opts.step ?? 0, timestamp });
  }

  /** Sets (overwrites) a tag. Setting `mlflow.runName` renames the run, as in MLflow. */
  setTag(key: string, value: unknown): void {
    validateKey('tag', key);
    const text = validateTagValue(key, pyStr(value));
    this.ensureActive();
    if (key === 'mlflow.runName') {
      this.store.updateRunInfo(this.runId, { runName: text });
      return;
    }
    try {
      this.store.writeFile(path.join(this.dir, 'tags', key), text);
    } catch (e) {
      keyClash('tag', key, e);
    }
    this.journal({ op: 'batch', tags: [{ key, value: text }] });
  }

  /** Sets several tags. */
  setTags(tags: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(tags)) this.setTag(k, v);
  }

  /** Records datasets this run used (MLflow's run inputs; the same dataset twice is recorded once). */
  logInputs(inputs: readonly DatasetInput[]): void {
    this.ensureActive();
    this.store.logInputs(this.runId, inputs);
  }

  /** Deletes a tag; a TrackingError if it is not set. */
  deleteTag(key: string): void {
    validateKey('tag', key);
    this.ensureActive();
    const file = path.join(this.dir, 'tags', key);
    if (!fs.existsSync(file)) throw new TrackingError(`run ${this.runId} has no tag '${key}'`);
    fs.unlinkSync(file);
    this.journal({ op: 'delete-tag', key });
  }

  /**
   * On a tracking server: queues operations for the server (the spool; see remote/spool.ts). A no-op
   * on a local store, where the files written are the record.
   */
  journal(...ops: SpoolOp[]): void {
    this.store.remote?.record(
      { runId: this.runId, artifactUri: () => this.info.artifactUri, artifactsDir: () => this.artifactDir() },
      ...ops,
    );
  }

  /** Sends what was written into the artifact folder directly (models, plots) to the tracking server; a no-op locally. */
  syncArtifacts(): void {
    this.journal({ op: 'artifacts' });
  }

  /** The `file://` URI of the run's artifacts, or of `artifactPath` inside them. */
  getArtifactUri(artifactPath?: string): string {
    const base = this.info.artifactUri;
    return artifactPath === undefined ? base : `${base}/${validateArtifactPath(artifactPath)}`;
  }

  /** The local folder of the run's artifacts (or of `artifactPath` inside them). */
  artifactDir(artifactPath?: string): string {
    // A server's run keeps its artifacts in its mirror folder here, and sends them from there.
    const base = this.store.remote !== undefined ? path.join(this.dir, 'artifacts') : uriToPath(this.info.artifactUri);
    return artifactPath === undefined ? base : path.join(base, validateArtifactPath(artifactPath));
  }

  // Temp files for artifacts go in the run folder: same filesystem as the artifacts, ignored by MLflow.
  private artifactTempDir(): string {
    return path.dirname(this.artifactDir());
  }

  /**
   * Copies a local file into the run's artifacts, under `artifactPath` if given (a folder is copied
   * recursively under its own name, as MLflow does). Each file appears atomically.
   */
  logArtifact(localPath: string, artifactPath?: string): void {
    this.ensureActive();
    const st = fs.statSync(localPath);
    const base = path.basename(path.resolve(localPath));
    const rel = artifactPath === undefined ? base : `${validateArtifactPath(artifactPath)}/${base}`;
    if (st.isDirectory()) return this.logArtifacts(localPath, rel);
    copyFileAtomic(localPath, this.artifactDir(rel), this.artifactTempDir());
    this.syncArtifacts();
  }

  /** Copies the contents of a local folder into the run's artifacts (under `artifactPath` if given). */
  logArtifacts(localDir: string, artifactPath?: string): void {
    this.ensureActive();
    const dest = this.artifactDir(artifactPath);
    const tmp = this.artifactTempDir();
    const walk = (src: string, dst: string): void => {
      for (const e of fs.readdirSync(src, { withFileTypes: true })) {
        if (e.name.startsWith(TEMP_PREFIX)) continue;
        if (e.isDirectory()) walk(path.join(src, e.name), path.join(dst, e.name));
        else if (e.isFile()) copyFileAtomic(path.join(src, e.name), path.join(dst, e.name), tmp);
      }
    };
    walk(localDir, dest);
    this.syncArtifacts();
  }

  /** Writes `text` as the artifact file `artifactFile` (e.g. 'notes/summary.md'). */
  logText(text: string, artifactFile: string): void {
    this.ensureActive();
    writeFileAtomic(this.artifactDir(artifactFile), text, { tmpDir: this.artifactTempDir() });
    this.syncArtifacts();
  }

  /** Writes `value` as a JSON (default) or YAML (`.yaml`/`.yml`) artifact file, as mlflow.log_dict does. */
  logDict(value: unknown, artifactFile: string): void {
    const yaml = /\.ya?ml$/i.test(artifactFile);
    this.logText(yaml ? dumpYaml(value, { sortKeys: false }) : JSON.stringify(value, null, 2), artifactFile);
  }

  /** The run's status now. */
  get status(): RunStatus {
    return this.info.status;
  }

  /** Ends the run: sets its status (default FINISHED) and end time. */
  end(status: EndStatus = 'FINISHED'): void {
    if (status !== 'FINISHED' && status !== 'FAILED' && status !== 'KILLED') {
      throw new ValueError(`a run ends FINISHED, FAILED or KILLED, not ${JSON.stringify(status)}`);
    }
    this.syncArtifacts();
    this.store.updateRunInfo(this.runId, { status, endTime: this.store.now() });
    this.store.releaseRun(this.runId);
    // On a server, the run's record is sent before end() returns when the server answers (else it
    // stays spooled, with a warning).
    this.store.remote?.flush([this.runId]);
    this.store.remote?.spool.close(this.runId);
  }
}
