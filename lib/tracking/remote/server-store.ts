// ServerStore: the RunStore API on an MLflow tracking server. Experiments and runs are created and
// read on the server; each run this process touches has a mirror folder in the local cache (the
// FileStore layout Run writes into), and what Run logs is journaled and replayed to the server
// (remote/spool.ts). Searches and registry calls go to the server (reader.ts and registry.ts
// dispatch on `store.remote`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../errors.js';
import { TrackingError } from '../errors.js';
import { Run } from '../run.js';
import { RunStore, type CreateRunOptions, type RunStoreOptions } from '../store.js';
import type { DatasetInput, Experiment, RunInfo, RunStatus, ViewType } from '../types.js';
import { validateExperimentName, validateKey, validateTagValue } from '../validate.js';
import { pyStr } from '../pyformat.js';
import { RemoteTracking, mirrorRootFor } from './tracking.js';

export class ServerStore extends RunStore {
  readonly #remote: RemoteTracking;

  private constructor(root: string, options: RunStoreOptions, remote: RemoteTracking) {
    super(root, options);
    this.#remote = remote;
  }

  /** A store on the tracking server at `uri` (http:// or https://), mirrored under the cache folder. */
  static connect(uri: string, options: RunStoreOptions = {}): ServerStore {
    const mirror = mirrorRootFor(uri);
    try {
      fs.mkdirSync(mirror, { recursive: true });
    } catch (e) {
      throw new ConfigError(`cannot create the tracking cache folder ${mirror} (set INFORMER_TRACKING_CACHE): ${(e as Error).message}`, {
        cause: e,
      });
    }
    return new ServerStore(mirror, options, new RemoteTracking(uri.trim(), mirror));
  }

  override get remote(): RemoteTracking {
    return this.#remote;
  }

  override get trackingUri(): string {
    return this.#remote.uri;
  }

  // ---- experiments ----

  override findExperiment(id: string): Experiment | null {
    return this.#remote.findExperiment(id);
  }

  override getExperiment(id: string): Experiment {
    const e = this.findExperiment(id);
    if (e === null) throw new TrackingError(`experiment '${id}' does not exist on ${this.trackingUri}`);
    return e;
  }

  override listExperiments(view: ViewType = 'active'): Experiment[] {
    return this.#remote.searchExperiments({ view });
  }

  override getExperimentByName(name: string): Experiment | null {
    return this.#remote.getExperimentByName(name);
  }

  override createExperiment(name: string, options: { tags?: Record<string, unknown>; artifactLocation?: string } = {}): string {
    validateExperimentName(name);
    const tags = Object.fromEntries(
      Object.entries(options.tags ?? {}).map(([k, v]) => [validateKey('tag', k), validateTagValue(k, pyStr(v))]),
    );
    return this.#remote.createExperiment(name, tags, options.artifactLocation);
  }

  override createExperimentAsync(
    name: string,
    options: { tags?: Record<string, unknown>; artifactLocation?: string } = {},
  ): Promise<string> {
    return Promise.resolve().then(() => this.createExperiment(name, options));
  }

  override setExperimentTag(id: string, key: string, value: unknown): void {
    validateKey('tag', key);
    this.#remote.setExperimentTag(id, key, validateTagValue(key, pyStr(value)));
  }

  override deleteExperiment(id: string): void {
    this.#remote.deleteExperiment(id);
  }

  override restoreExperiment(id: string): void {
    this.#remote.restoreExperiment(id);
  }

  // ---- runs ----

  // The mirror folder of a run: meta.yaml as the server has it, and the folders Run writes into.
  #mirror(info: RunInfo): Run {
    const dir = path.join(this.root, info.experimentId, info.runId);
    for (const sub of ['metrics', 'params', 'tags', 'artifacts']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    this.writeRunMeta(dir, info);
    return new Run(this, info.runId, info.experimentId, dir);
  }

  override createRun(options: CreateRunOptions = {}): Run {
    const { experimentId, runName, tags, startTime } = this.runSetup(options);
    const info = this.#remote.createRun({ experimentId, userId: this.user, startTime, runName, tags });
    return this.#mirror(info);
  }

  override getRun(runId: string): Run {
    return this.#mirror(this.#remote.getRunInfo(runId));
  }

  override locateRun(runId: string): { experimentId: string; dir: string } | null {
    const local = super.locateRun(runId);
    if (local !== null) return local;
    try {
      const run = this.getRun(runId);
      return { experimentId: run.experimentId, dir: run.dir };
    } catch {
      return null;
    }
  }

  override updateRunInfo(runId: string, patch: { status?: RunStatus; endTime?: number | null; runName?: string }): RunInfo {
    const run = this.getLocalRun(runId);
    const info = run.info;
    if (info.lifecycleStage !== 'active') throw new TrackingError(`run '${runId}' is deleted; restore it first`);
    if (patch.runName !== undefined) validateTagValue('mlflow.runName', patch.runName);
    const next: RunInfo = {
      ...info,
      status: patch.status ?? info.status,
      endTime: patch.endTime !== undefined ? patch.endTime : info.endTime,
      runName: patch.runName ?? info.runName,
    };
    this.writeRunMeta(run.dir, next);
    const op: { op: 'update'; status?: string; end_time?: number; run_name?: string } = { op: 'update' };
    if (patch.status !== undefined) op.status = patch.status;
    if (patch.endTime !== undefined && patch.endTime !== null) op.end_time = patch.endTime;
    if (patch.runName !== undefined) op.run_name = patch.runName;
    run.journal(op);
    return next;
  }

  /** A run's handle from its mirror folder when there is one (no request), else from the server. */
  getLocalRun(runId: string): Run {
    const local = super.locateRun(runId);
    return local !== null ? new Run(this, runId, local.experimentId, local.dir) : this.getRun(runId);
  }

  override deleteRun(runId: string): void {
    this.#remote.deleteRun(runId);
  }

  override restoreRun(runId: string): void {
    this.#remote.restoreRun(runId);
  }

  override logInputs(runId: string, inputs: readonly DatasetInput[]): void {
    super.logInputs(runId, inputs); // validates, and keeps the mirror complete
    this.getLocalRun(runId).journal(this.#remote.datasetOps(inputs));
  }

  override isOrphaned(): boolean {
    return false; // who runs a server's run is not known here
  }

  override orphanedRuns(): string[] {
    return []; // who runs a server's run is not known here
  }

  override markFailed(runId: string): RunInfo {
    const info = this.#remote.getRunInfo(runId);
    if (info.status !== 'RUNNING') throw new TrackingError(`run '${runId}' is ${info.status}, not RUNNING`);
    this.#remote.call('POST', '/runs/update', { run_id: runId, status: 'FAILED', end_time: this.now() });
    return this.#remote.getRunInfo(runId);
  }
}

RunStore.useServerOpener((uri, options) => ServerStore.connect(uri, options));
