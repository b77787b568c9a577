// A tracking server behind the store's API: experiments, runs, search and metric history over
// MLflow's REST API 2.0. Runs keep a local mirror folder (FileStore layout, under the cache) that
// Run writes into as on a local store; what it logs is also journaled to the spool and replayed to
// the server by the tracking worker. Reads flush the spool first, so a process reads its own writes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../errors.js';
import { TrackingError, TrackingServerError, TrackingUnreachableError } from '../errors.js';
import type { Experiment, Metric, RunInfo, RunRecord, ViewType } from '../types.js';
import { artifactLocation } from './artifacts.js';
import { WorkerBridge } from './bridge.js';
import { fromDatasetInput, tagList, toExperiment, toMetric, toRunInfo, toRunRecord, viewTypeName } from './convert.js';
import { backoffSeconds, type HttpConfig, httpConfigFromEnv } from './http.js';
import { Spool, type SpoolOp } from './spool.js';
import type { DatasetInput } from '../types.js';

export const API = '/api/2.0/mlflow';
const PAGE = 1000;

/** The folder that mirrors a server's runs and holds its spool: $INFORMER_TRACKING_CACHE or ~/.cache/informer-node/tracking. */
export function mirrorRootFor(uri: string, env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.INFORMER_TRACKING_CACHE || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'informer-node', 'tracking');
  const u = new URL(uri);
  const name = `${u.protocol.replace(':', '')}_${u.hostname}_${u.port || (u.protocol === 'https:' ? '443' : '80')}${u.pathname.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/_+$/, '')}`;
  return path.join(base, name);
}

export interface SearchRunsQuery {
  experimentIds: string[];
  filter?: string;
  view: ViewType;
  orderBy?: string[];
  maxResults?: number;
}

/** A tracking server, as the store sees it. */
export class RemoteTracking {
  readonly config: HttpConfig;
  readonly spool: Spool;
  readonly bridge: WorkerBridge;
  #warnedSpooling = false;
  #lastKick = Number.NEGATIVE_INFINITY;

  constructor(
    readonly uri: string,
    readonly mirrorRoot: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.config = httpConfigFromEnv(uri, env);
    this.spool = new Spool(path.join(mirrorRoot, '.informer-spool'));
    this.bridge = new WorkerBridge(this.config, this.spool.dir, (m) => this.#notice(m));
    if (this.spool.pendingRuns().length > 0) this.bridge.kick();
  }

  #notice(m: { type: string; message?: string }): void {
    if (m.type === 'spooling') this.#warnSpooling(m.message ?? '');
    else if (m.type === 'replayed' && this.#warnedSpooling) {
      this.#warnedSpooling = false;
      process.emitWarning(`tracking server ${this.uri} answers again; the spooled operations were sent`, 'InformerTrackingWarning');
    }
  }

  #warnSpooling(reason: string): void {
    if (this.#warnedSpooling) return;
    this.#warnedSpooling = true;
    process.emitWarning(
      `tracking server ${this.uri} unreachable; spooling to ${this.spool.dir} (sent when it answers again, or by \`informer runs sync\`): ${reason}`,
      'InformerTrackingWarning',
    );
  }

  call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', endpoint: string, body?: Record<string, unknown>): Record<string, unknown> {
    return this.bridge.call(
      method === 'GET'
        ? { method, endpoint: API + endpoint, query: body as never }
        : { method, endpoint: API + endpoint, json: body ?? {} },
    );
  }

  // ----- the spool -----

  /** Journals operations of a run and asks the worker to send them soon. */
  record(run: { runId: string; artifactUri: () => string; artifactsDir: () => string }, ...ops: SpoolOp[]): void {
    this.spool.append(
      run.runId,
      () => ({ op: 'run', runId: run.runId, artifactUri: run.artifactUri(), artifactsDir: run.artifactsDir() }),
      ...ops,
    );
    // The worker waits 200 ms after a kick and looks again after every replay, so one kick per 100 ms
    // is enough for every line to be sent.
    const now = performance.now();
    if (now - this.#lastKick >= 100) {
      this.#lastKick = now;
      this.bridge.kick();
    }
  }

  /** Sends what is spooled for these runs (default all) now; warns once and returns false if the server is away. */
  flush(runIds?: string[]): boolean {
    const ids = runIds ?? this.spool.pendingRuns();
    if (ids.every((id) => this.spool.pendingBytes(id) === 0)) return true;
    const r = this.bridge.drain(ids);
    if (r.unreachable) this.#warnSpooling(r.error ?? '');
    else if (r.error !== undefined) throw new TrackingError(`sending spooled operations to ${this.uri} failed: ${r.error}`);
    return !r.unreachable;
  }

  /**
   * flush, insisting: while the server is unreachable, waits and tries again (MLflow's retry count and
   * backoff), then throws TrackingUnreachableError. For what must not go ahead unsent (registering a model).
   */
  flushOrThrow(runIds: string[]): void {
    for (let attempt = 1; !this.flush(runIds); attempt++) {
      if (attempt > this.config.maxRetries) {
        throw new TrackingUnreachableError(
          `tracking server ${this.uri} unreachable: run(s) ${runIds.join(', ')} could not be sent (still spooled in ${this.spool.dir})`,
        );
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, backoffSeconds(this.config, attempt) * 1000);
    }
  }

  // ----- experiments -----

  createExperiment(name: string, tags: Record<string, string>, artifactLocation?: string): string {
    const body: Record<string, unknown> = { name, tags: tagList(tags) };
    if (artifactLocation !== undefined) body.artifact_location = artifactLocation;
    return String(this.call('POST', '/experiments/create', body).experiment_id);
  }

  findExperiment(id: string): Experiment | null {
    return this.#experimentOrNull('/experiments/get', { experiment_id: id });
  }

  getExperimentByName(name: string): Experiment | null {
    return this.#experimentOrNull('/experiments/get-by-name', { experiment_name: name });
  }

  #experimentOrNull(endpoint: string, query: Record<string, unknown>): Experiment | null {
    try {
      return toExperiment(this.call('GET', endpoint, query).experiment as Record<string, unknown>);
    } catch (e) {
      if (notFound(e)) return null;
      throw e;
    }
  }

  searchExperiments(options: { filter?: string; view?: ViewType; orderBy?: string[]; maxResults?: number }): Experiment[] {
    return this.pages('/experiments/search', 'experiments', options.maxResults, {
      filter: options.filter,
      view_type: viewTypeName(options.view ?? 'active'),
      order_by: options.orderBy,
    }).map(toExperiment);
  }

  setExperimentTag(id: string, key: string, value: string): void {
    this.call('POST', '/experiments/set-experiment-tag', { experiment_id: id, key, value });
  }

  deleteExperiment(id: string): void {
    this.call('POST', '/experiments/delete', { experiment_id: id });
  }

  restoreExperiment(id: string): void {
    this.call('POST', '/experiments/restore', { experiment_id: id });
  }

  // ----- runs -----

  /** Creates a run on the server and returns its info; the caller makes the mirror folder. */
  createRun(o: { experimentId: string; userId: string; startTime: number; runName: string; tags: Record<string, string> }): RunInfo {
    const res = this.call('POST', '/runs/create', {
      experiment_id: o.experimentId,
      user_id: o.userId,
      start_time: o.startTime,
      run_name: o.runName,
      tags: tagList(o.tags),
    });
    const info = toRunInfo(((res.run as Record<string, unknown>).info ?? {}) as Record<string, unknown>);
    artifactLocation(info.artifactUri); // refuse s3://, gs://... before anything is logged
    return info;
  }

  getRunInfo(runId: string): RunInfo {
    return this.getRunRecord(runId, false).info;
  }

  getRunRecord(runId: string, flush = true): RunRecord {
    if (flush) this.flush([runId]);
    try {
      return toRunRecord(this.call('GET', '/runs/get', { run_id: runId }).run as Record<string, unknown>);
    } catch (e) {
      if (notFound(e)) throw new TrackingError(`run '${runId}' not found on ${this.uri}`, { cause: e });
      throw e;
    }
  }

  deleteRun(runId: string): void {
    this.flush([runId]);
    this.call('POST', '/runs/delete', { run_id: runId });
  }

  restoreRun(runId: string): void {
    this.call('POST', '/runs/restore', { run_id: runId });
  }

  datasetOps(inputs: readonly DatasetInput[]): SpoolOp {
    return { op: 'inputs', datasets: inputs.map(fromDatasetInput) };
  }

  searchRuns(q: SearchRunsQuery): RunRecord[] {
    this.flush();
    if (q.experimentIds.length === 0) return [];
    return this.pages('/runs/search', 'runs', q.maxResults, {
      experiment_ids: q.experimentIds,
      filter: q.filter,
      run_view_type: viewTypeName(q.view),
      order_by: q.orderBy,
    }).map(toRunRecord);
  }

  getMetricHistory(runId: string, key: string): Metric[] {
    this.flush([runId]);
    const out: Metric[] = [];
    let token: string | undefined;
    do {
      const res = this.call('GET', '/metrics/get-history', { run_id: runId, metric_key: key, max_results: 25_000, page_token: token });
      for (const m of (res.metrics ?? []) as Record<string, unknown>[]) out.push(toMetric(m));
      token = typeof res.next_page_token === 'string' && res.next_page_token !== '' ? res.next_page_token : undefined;
    } while (token !== undefined);
    return out;
  }

  /** Every page of a search (POST with JSON, or GET with a query for the registry's searches). */
  pages(
    endpoint: string,
    field: string,
    maxResults: number | undefined,
    body: Record<string, unknown>,
    method: 'GET' | 'POST' = 'POST',
  ): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    let token: string | undefined;
    do {
      const want = maxResults === undefined ? PAGE : Math.min(PAGE, maxResults - out.length);
      const clean = Object.fromEntries(
        Object.entries({ ...body, max_results: want, page_token: token }).filter(([, v]) => v !== undefined && v !== ''),
      );
      const res = this.call(method, endpoint, clean);
      out.push(...((res[field] ?? []) as Record<string, unknown>[]));
      token = typeof res.next_page_token === 'string' && res.next_page_token !== '' ? res.next_page_token : undefined;
    } while (token !== undefined && (maxResults === undefined || out.length < maxResults));
    return out;
  }

  // ----- artifacts -----

  /** The local copy of artifacts at `uri` (a proxied run or model folder), downloaded if missing. */
  localArtifacts(uri: string): string {
    const where = artifactLocation(uri);
    if (where.kind === 'local') return where.dir;
    const parts = where.path.split('/').filter((s) => s !== '');
    if (parts.some((s) => s === '..' || s === '.')) throw new TrackingError(`artifact URI '${uri}' leaves its root`);
    const dir = path.join(this.mirrorRoot, ...parts);
    // A run of this process may have files not sent yet: they are local already, and sent first.
    const runId = parts[1];
    if (runId !== undefined && this.spool.pendingBytes(runId) > 0) this.flush([runId]);
    this.bridge.download(uri, dir);
    if (!fs.existsSync(dir)) throw new TrackingError(`no artifacts at '${uri}' on ${this.uri}`);
    return dir;
  }

  /** Stops the tracking worker (what is unsent stays spooled); resolves when it has stopped. */
  async close(): Promise<void> {
    await this.bridge.close();
  }
}

/** Is this MLflow's "does not exist" answer? */
export function notFound(e: unknown): boolean {
  // MLflow answers a missing alias with INVALID_PARAMETER_VALUE ("... not found"), the rest with RESOURCE_DOES_NOT_EXIST.
  return (
    e instanceof TrackingServerError &&
    (e.errorCode === 'RESOURCE_DOES_NOT_EXIST' ||
      e.status === 404 ||
      (e.errorCode === 'INVALID_PARAMETER_VALUE' && /not found/i.test(e.message)))
  );
}

/** A ConfigError for a tracking URI the package cannot use at all. */
export function unsupportedUri(uri: string): ConfigError {
  return new ConfigError(
    `tracking URI '${uri}' is not supported: use a folder path or file:// URI (a local MLflow FileStore), or an http(s):// MLflow tracking server`,
  );
}
