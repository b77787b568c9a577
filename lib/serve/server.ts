// Open Inference Protocol v2 REST server (node:http through http.ts), serving several models at once.
// Inference requests for one model are micro-batched into one forward call (see batcher.ts). Every
// error is `{"error": "..."}` with a 4xx/5xx status.

import { basename } from 'node:path';

import type { Server } from 'node:http';

import type { ForecastDataset } from '../data/dataset.js';
import { ConfigError, ShapeError, ValueError } from '../errors.js';
import { Informer } from '../model.js';
import { Batcher, type BatcherCall, checkBatcherOptions, type BatcherStats } from './batcher.js';
import { JsonHttpServer, RawReply, type HttpRequest } from './http.js';
import { type Phase, ServerMetrics } from './metrics.js';
import { type Actuals, Monitor, type MonitorOptions } from './monitor.js';
import { DASHBOARD_HTML, RequestWindow, dashboardAssets } from './dashboard.js';
import { DriftMonitor, type DriftOptions } from './drift.js';
import { createServerLog, type LogLevel } from './log.js';
import { PayloadLogger, type PayloadLogOptions } from './payload-log.js';
import { inferResponse, modelMetadata, modelSignature, parseInferRequest, RequestError, type ModelSignature } from './oip.js';
import { readSafetensors } from '../safetensors.js';
import { packageVersion } from '../version.js';
import { Predictor, type PredictorOptions } from './predictor.js';
import { PREPROCESSING_KEY, type PreprocessingInfo } from '../artifact/preprocessing.js';
import { resolveWeightsFile } from '../artifact/resolve.js';

/** A model served without a Predictor; with preprocessing it also gets the forecast endpoint. */
export interface ModelEntry {
  model: Informer;
  preprocessing?: PreprocessingInfo | ForecastDataset | null;
  /** Default '1'. */
  version?: string;
}

export interface PredictorEntry {
  predictor: Predictor;
  version?: string;
}

export type ServedModel = Predictor | ModelEntry | PredictorEntry;

export interface ServerOptions {
  /** Models by name. A Promise entry is "not ready" (503) until it resolves, e.g. while loading. */
  models: Record<string, ServedModel | Promise<ServedModel>>;
  /** Largest accepted request body in bytes (default 8 MiB); larger bodies get 413. */
  maxBodyBytes?: number;
  /** How long a request waits for others to share its forward call, in ms (default 0: same event-loop turn). */
  batchWindowMs?: number;
  /** Most batch rows per forward call (default 64). */
  maxBatch?: number;
  /** Log server errors (5xx) to stderr (default false; the same as logLevel 'error'). */
  logger?: boolean;
  /** The JSON-lines log (pino): 'info' adds an access line per request, 'warn' drift warnings, 'error'
   * server errors (default 'silent', or 'error' with logger: true). */
  logLevel?: LogLevel;
  /** Where the log goes: a stream or a file descriptor (default 1, stdout). */
  logDestination?: NodeJS.WritableStream | number;
  /** Log every inference request and response as a CloudEvent to a .jsonl file or an http(s) URL (KServe's logger). */
  payloadLog?: string | PayloadLogOptions;
  /** A request (headers and body) must arrive within this many ms, else 408 (default 30 000; 0: no limit). */
  requestTimeoutMs?: number;
  /** Its headers must arrive within this many ms (default 10 000). */
  headersTimeoutMs?: number;
  /** A connection with no traffic for this many ms is closed (default 120 000; 0: never). */
  idleTimeoutMs?: number;
  /** Serve GET /metrics in the Prometheus text format (default true). */
  metrics?: boolean;
  /** Live accuracy from actuals (POST .../actuals, GET .../monitoring) for models with preprocessing; false turns it off. */
  monitor?: MonitorOptions | false;
  /** Input drift against the training profile in the model folder (models saved with one); false turns it off. */
  drift?: DriftOptions | false;
  /**
   * Load, replace (hot-swap) and unload models over HTTP, the model-repository extension of Triton and
   * KServe: `POST /v2/repository/models/{name}/load` with `{ "parameters": { "path": "<model file or
   * folder>", "version": "3" } }`, `POST .../unload`, `POST /v2/repository/index`. A load of a served
   * name swaps the model in between requests: requests already queued finish on the old model. Off by
   * default, since it reads files the client names. `loadModel` turns a path into a served model.
   */
  modelControl?: { loadModel: (path: string) => Promise<ServedModel> };
}

export interface InformerServer {
  /** The underlying node:http server. */
  server: Server;
  /** Starts listening; resolves to the base URL (port 0 picks a free port). */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  /** Batching counters per ready model (calls = forward calls made). */
  stats(): Record<string, BatcherStats>;
  /** The live-accuracy monitor of a model (null when it has none). */
  monitor(name: string): Monitor | null;
  /** The base URL once listening. */
  readonly url: string | undefined;
}

interface Slot {
  name: string;
  version: string;
  ready: boolean;
  loadError?: string;
  sig?: ModelSignature;
  metadata?: object;
  predictor?: Predictor | null;
  batcher?: Batcher;
  monitor?: Monitor | null;
  drift?: DriftMonitor | null;
  requests?: RequestWindow;
}

type ReadySlot = Required<Omit<Slot, 'loadError'>>;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

function toPredictorOrModel(entry: ServedModel): { model: Informer; predictor: Predictor | null; version: string } {
  if (entry instanceof Predictor) return { model: entry.model, predictor: entry, version: '1' };
  if (typeof entry !== 'object' || entry === null)
    throw new ConfigError('a served model must be a Predictor, { predictor } or { model, preprocessing? }');
  const version = entry.version ?? '1';
  if (typeof version !== 'string' || version === '' || version.includes('/'))
    throw new ConfigError(`version must be a non-empty string without '/', got ${String(version)}`);
  if ('predictor' in entry) {
    if (!(entry.predictor instanceof Predictor)) throw new ConfigError('{ predictor } must hold a Predictor');
    return { model: entry.predictor.model, predictor: entry.predictor, version };
  }
  if (!(entry.model instanceof Informer)) throw new ConfigError('{ model } must hold an Informer');
  const predictor = entry.preprocessing ? new Predictor(entry.model, entry.preprocessing) : null;
  return { model: entry.model, predictor, version };
}

function errorStatus(e: unknown): number {
  const code = (e as { statusCode?: unknown }).statusCode;
  if (typeof code === 'number' && code >= 400 && code < 600) return code;
  if (e instanceof ValueError || e instanceof ShapeError || e instanceof ConfigError) return 400;
  return 500;
}

function checkTimeouts(opts: ServerOptions): { request: number; headers: number; idle: number } {
  const get = (key: 'requestTimeoutMs' | 'headersTimeoutMs' | 'idleTimeoutMs', fallback: number): number => {
    const v = opts[key] ?? fallback;
    if (!Number.isSafeInteger(v) || v < 0) throw new ConfigError(`${key} must be an integer number of ms >= 0, got ${String(v)}`);
    return v;
  };
  const request = get('requestTimeoutMs', 30_000);
  let headers = get('headersTimeoutMs', 10_000);
  // Node requires headersTimeout <= requestTimeout when both are set.
  if (request > 0 && (headers === 0 || headers > request)) headers = request;
  return { request, headers, idle: get('idleTimeoutMs', 120_000) };
}

export async function createServer(opts: ServerOptions): Promise<InformerServer> {
  if (typeof opts !== 'object' || opts === null || typeof opts.models !== 'object' || opts.models === null) {
    throw new ConfigError('createServer needs { models: { name: Predictor | { model, preprocessing? } } }');
  }
  const bodyLimit = opts.maxBodyBytes ?? DEFAULT_BODY_LIMIT;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1)
    throw new ConfigError(`maxBodyBytes must be a positive integer, got ${String(bodyLimit)}`);
  const batcherOpts = checkBatcherOptions({ windowMs: opts.batchWindowMs, maxBatch: opts.maxBatch });

  const log = createServerLog(opts.logLevel ?? (opts.logger ? 'error' : 'silent'), opts.logDestination);
  const payloads =
    opts.payloadLog === undefined
      ? null
      : new PayloadLogger(typeof opts.payloadLog === 'string' ? { target: opts.payloadLog } : opts.payloadLog);
  const slots = new Map<string, Slot>();
  const metrics =
    opts.metrics === false
      ? null
      : new ServerMetrics(
          () =>
            [...slots.values()]
              .filter((s) => s.ready)
              .map((s) => ({
                name: s.name,
                version: s.version,
                queueDepth: () => s.batcher?.stats.pending ?? 0,
                snapshot: () => s.monitor?.snapshot() ?? null,
                drift: () => s.drift?.stats() ?? null,
              })),
          () => payloads?.stats ?? null,
        );
  const activate = (slot: Slot, entry: ServedModel): void => {
    const { model, predictor, version } = toPredictorOrModel(entry);
    const sig = modelSignature(model.config);
    const run = predictor !== null ? predictor.forward.bind(predictor) : model.forward.bind(model);
    const onCall = metrics ? (c: BatcherCall) => metrics.forwardCall(slot.name, version, c) : undefined;
    Object.assign(slot, {
      version,
      sig,
      predictor,
      metadata: modelMetadata(slot.name, [version], sig),
      batcher: new Batcher((b) => run(b), batcherOpts, onCall),
      monitor:
        predictor !== null && opts.monitor !== false
          ? new Monitor(model.config.predLen, predictor.outputColumns, opts.monitor ?? {})
          : null,
      drift:
        predictor?.preprocessing.profile !== undefined && opts.drift !== false
          ? new DriftMonitor(predictor.preprocessing.profile, predictor.preprocessing.columns, {
              ...(log ? { warn: (m: string) => log.warn({ model: slot.name }, m) } : {}),
              ...(opts.drift ?? {}),
            })
          : null,
      requests: new RequestWindow(),
      ready: true,
    });
  };
  for (const [name, entry] of Object.entries(opts.models)) {
    if (!NAME_RE.test(name))
      throw new ConfigError(`model name ${JSON.stringify(name)} must be 1-128 letters, digits, '.', '_' or '-' (it is a URL path segment)`);
    const slot: Slot = { name, version: '1', ready: false };
    slots.set(name, slot);
    if (entry instanceof Promise) {
      entry.then(
        (e) => {
          try {
            activate(slot, e);
          } catch (err) {
            slot.loadError = (err as Error).message;
          }
        },
        (err: unknown) => {
          slot.loadError = err instanceof Error ? err.message : String(err);
        },
      );
    } else {
      activate(slot, entry);
    }
  }
  if (slots.size === 0 && opts.modelControl === undefined)
    throw new ConfigError('createServer needs at least one model (or modelControl, to load models over HTTP)');

  const timeouts = checkTimeouts(opts);

  const app = new JsonHttpServer({
    bodyLimit,
    requestTimeoutMs: timeouts.request,
    headersTimeoutMs: timeouts.headers,
    idleTimeoutMs: timeouts.idle,
    errorStatus,
    onServerError: log
      ? (e, req) => log.error({ req_id: req.id, method: req.method, path: req.path, err: e }, 'request failed')
      : undefined,
    onResponse: log
      ? (req, status, ms) =>
          log.info(
            {
              req_id: req.id,
              method: req.method,
              path: req.path,
              model: req.params.name,
              status,
              latency_ms: Math.round(ms * 1000) / 1000,
            },
            'request',
          )
      : undefined,
  });

  const lookup = (params: unknown): ReadySlot => {
    const { name, version } = params as { name: string; version?: string };
    const slot = slots.get(name);
    if (slot === undefined)
      throw new RequestError(404, `unknown model ${JSON.stringify(name)}; this server has ${[...slots.keys()].join(', ')}`);
    if (slot.ready && version !== undefined && version !== slot.version) {
      throw new RequestError(404, `model ${JSON.stringify(name)} has no version ${JSON.stringify(version)} (versions: ${slot.version})`);
    }
    if (!slot.ready) {
      throw new RequestError(
        503,
        `model ${JSON.stringify(name)} is not ready: ${slot.loadError !== undefined ? `loading failed: ${slot.loadError}` : 'still loading'}`,
      );
    }
    return slot as ReadySlot;
  };

  app.route('GET', '/v2/health/live', () => ({ live: true }));
  app.route('GET', '/v2/health/ready', () => {
    const waiting = [...slots.values()].filter((s) => !s.ready).map((s) => s.name);
    if (waiting.length > 0) return [503, { error: `not ready: model(s) ${waiting.join(', ')} not loaded` }];
    return { ready: true };
  });
  app.route('GET', '/v2', () => ({ name: 'informer-node', version: packageVersion(), extensions: [] }));

  const both = (suffix: string): string[] => [`/v2/models/:name${suffix}`, `/v2/models/:name/versions/:version${suffix}`];
  for (const url of both('')) app.route('GET', url, (req) => lookup(req.params).metadata);
  for (const url of both('/ready')) app.route('GET', url, (req) => ({ name: lookup(req.params).name, ready: true }));
  // Inference requests count as successes or failures of their model (Triton's counters), and time
  // their three phases (KServe's histograms).
  const instrumented =
    (handler: (slot: ReadySlot, body: unknown, phase: (p: Phase) => () => void) => Promise<unknown>) =>
    async (req: HttpRequest): Promise<unknown> => {
      const slot = lookup(req.params);
      const phase = (p: Phase) => (metrics ? metrics.time(p, slot.name) : () => {});
      payloads?.log('request', req.id, slot.name, req.path, req.body);
      const started = performance.now();
      try {
        const out = await handler(slot, req.body, phase);
        slot.requests.record(performance.now() - started);
        metrics?.request(slot.name, slot.version, true);
        payloads?.log('response', req.id, slot.name, req.path, out);
        return out;
      } catch (e) {
        metrics?.request(slot.name, slot.version, false);
        payloads?.log('response', req.id, slot.name, req.path, { error: (e as Error).message });
        throw e;
      }
    };
  const withMonitor = (slot: ReadySlot): { predictor: Predictor; monitor: Monitor } => {
    if (slot.predictor === null || slot.monitor === null) {
      throw new RequestError(
        400,
        `model ${JSON.stringify(slot.name)} has no live accuracy: ${slot.predictor === null ? 'it was served without preprocessing metadata' : 'monitoring is off'}`,
      );
    }
    return { predictor: slot.predictor, monitor: slot.monitor };
  };
  for (const url of both('/infer')) {
    app.route(
      'POST',
      url,
      instrumented(async (slot, body, phase) => {
        let end = phase('preprocess');
        const r = parseInferRequest(body, slot.sig);
        end();
        end = phase('predict');
        const out = await slot.batcher.submit(r.batch);
        end();
        end = phase('postprocess');
        const response = inferResponse(slot.name, slot.version, r.id, r.rows, out, slot.sig);
        end();
        return response;
      }),
    );
  }
  // Observed values for the live accuracy: matched with the forecasts served for their timestamps.
  for (const url of both('/actuals')) {
    app.route('POST', url, (req: HttpRequest) => {
      const slot = lookup(req.params);
      const { monitor } = withMonitor(slot);
      return { model_name: slot.name, model_version: slot.version, ...monitor.recordActuals(req.body as Actuals) };
    });
  }
  for (const url of both('/monitoring')) {
    app.route('GET', url, (req: HttpRequest) => {
      const slot = lookup(req.params);
      return {
        model_name: slot.name,
        model_version: slot.version,
        ...withMonitor(slot).monitor.snapshot(),
        drift: slot.drift?.stats() ?? null,
      };
    });
  }
  // The live dashboard: a static page, uPlot from the package, and the data it polls.
  app.route('GET', '/dashboard', () => new RawReply(200, 'text/html; charset=utf-8', DASHBOARD_HTML));
  app.route('GET', '/dashboard/uplot.js', () => new RawReply(200, 'text/javascript; charset=utf-8', dashboardAssets().js));
  app.route('GET', '/dashboard/uplot.css', () => new RawReply(200, 'text/css; charset=utf-8', dashboardAssets().css));
  app.route('GET', '/dashboard/data', () => ({
    generatedAt: Date.now(),
    models: [...slots.values()]
      .filter((s): s is Slot & ReadySlot => s.ready)
      .map((s) => ({
        name: s.name,
        version: s.version,
        monitoring: s.monitor?.snapshot() ?? null,
        recent: s.monitor?.recent() ?? [],
        drift: s.drift?.stats() ?? null,
        requests: s.requests.summary(),
      })),
  }));
  if (metrics) app.route('GET', '/metrics', async () => new RawReply(200, metrics.contentType, await metrics.text()));

  // The model-repository extension: hot-swap a model (load under a served name), add or remove one.
  const owned = new Map<string, ServedModel>(); // models this server loaded itself, disposed when replaced
  const disposeServed = async (m: ServedModel): Promise<void> => {
    if (m instanceof Predictor) await m.dispose();
    else if ('predictor' in m) await m.predictor.dispose();
    else m.model.dispose();
  };
  const retire = (old: Slot & { batcher?: Batcher }, entry: ServedModel | undefined): void => {
    if (entry === undefined) return;
    // Requests already queued on the old batcher finish on the old model; then it is freed.
    const wait = (): void => {
      if ((old.batcher?.stats.pending ?? 0) > 0) setTimeout(wait, 10).unref();
      else setTimeout(() => void disposeServed(entry), 100).unref();
    };
    wait();
  };
  if (opts.modelControl !== undefined) {
    const control = opts.modelControl;
    app.route('POST', '/v2/repository/models/:name/load', async (req: HttpRequest) => {
      const { name } = req.params as { name: string };
      if (!NAME_RE.test(name))
        throw new RequestError(400, `model name ${JSON.stringify(name)} must be 1-128 letters, digits, '.', '_' or '-'`);
      const params = (req.body as { parameters?: { path?: unknown; version?: unknown } } | null)?.parameters;
      if (typeof params?.path !== 'string' || params.path === '')
        throw new RequestError(400, 'the body must be { "parameters": { "path": "<model file or folder>" } }');
      const version = params.version === undefined ? undefined : String(params.version);
      if (version !== undefined && (version === '' || version.includes('/')))
        throw new RequestError(400, `parameters.version must be a non-empty string without '/', got ${JSON.stringify(params.version)}`);
      let entry: ServedModel;
      try {
        entry = await control.loadModel(params.path);
      } catch (e) {
        throw new RequestError(400, `cannot load ${params.path}: ${(e as Error).message}`);
      }
      if (version !== undefined) entry = entry instanceof Predictor ? { predictor: entry, version } : { ...entry, version };
      const slot = slots.get(name) ?? { name, version: '1', ready: false };
      const before = slot.ready ? { ...slot } : undefined;
      try {
        activate(slot, entry);
      } catch (e) {
        await disposeServed(entry);
        throw new RequestError(400, `cannot serve ${params.path}: ${(e as Error).message}`);
      }
      slots.set(name, slot);
      if (before !== undefined) retire(before, owned.get(name));
      owned.set(name, entry);
      log?.info({ model: name, version: slot.version, path: params.path, replaced: before?.version ?? null }, 'model loaded');
      return { name, version: slot.version, ready: true, replaced: before?.version ?? null };
    });
    app.route('POST', '/v2/repository/models/:name/unload', (req: HttpRequest) => {
      const { name } = req.params as { name: string };
      const slot = slots.get(name);
      if (slot === undefined) throw new RequestError(404, `unknown model ${JSON.stringify(name)}`);
      slots.delete(name);
      retire(slot, owned.get(name));
      owned.delete(name);
      return { name, unloaded: true };
    });
    app.route('POST', '/v2/repository/index', () =>
      [...slots.values()].map((s) => ({
        name: s.name,
        version: s.version,
        state: s.ready ? 'READY' : s.loadError !== undefined ? 'UNAVAILABLE' : 'LOADING',
        ...(s.loadError !== undefined ? { reason: s.loadError } : {}),
      })),
    );
  }

  // Not part of the OIP: raw history in ({ dates, values: { column: [...] } }), dated forecast out.
  for (const url of both('/forecast')) {
    app.route(
      'POST',
      url,
      instrumented(async (slot, body, phase) => {
        if (slot.predictor === null) {
          throw new RequestError(
            400,
            `model ${JSON.stringify(slot.name)} was served without preprocessing metadata, so it cannot forecast from raw history; use /infer with tensors, or save it with savePredictorModel`,
          );
        }
        let end = phase('preprocess');
        const p = slot.predictor.prepare(body as never);
        end();
        end = phase('predict');
        const out = await slot.batcher.submit(p.batch);
        end();
        end = phase('postprocess');
        const forecast = slot.predictor.finish(out, p.future);
        slot.monitor?.recordForecast(forecast, p.last);
        slot.drift?.observe(p.lastRow);
        end();
        return { model_name: slot.name, model_version: slot.version, ...forecast };
      }),
    );
  }

  let url: string | undefined;
  return {
    server: app.server,
    async listen(port = 0, host = '127.0.0.1') {
      const p = await app.listen(port, host);
      url = `http://${host.includes(':') ? `[${host}]` : host}:${p}`;
      return url;
    },
    async close() {
      await app.close();
      await payloads?.close();
      for (const m of owned.values()) await disposeServed(m);
      owned.clear();
      log?.flush();
    },
    stats() {
      const out: Record<string, BatcherStats> = {};
      for (const s of slots.values()) if (s.batcher !== undefined) out[s.name] = s.batcher.stats;
      return out;
    },
    monitor(name: string) {
      return slots.get(name)?.monitor ?? null;
    },
    get url() {
      return url;
    },
  };
}

export interface ServeOptions extends Omit<ServerOptions, 'models' | 'modelControl'>, PredictorOptions {
  /** Accept model loads and hot-swaps over HTTP (see ServerOptions.modelControl); models load as at startup. */
  modelControl?: boolean;
  /** Default 8080 (0: any free port). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Where the startup lines go (default console.log). */
  log?: (line: string) => void;
}

/**
 * Loads a model file as a Predictor when it carries preprocessing metadata, else as a bare model
 * (served over /infer only).
 */
export async function loadServedModel(path: string, opts: PredictorOptions = {}): Promise<Predictor | ModelEntry> {
  // Reads the file twice at startup, so that every error message names the path.
  if (readSafetensors(path).metadata[PREPROCESSING_KEY] !== undefined) return Predictor.load(path, opts);
  return { model: Informer.load(path, { device: opts.device }) };
}

/**
 * Loads the models (names: file names without .safetensors, or the keys of a record), starts the
 * server and prints its URL. close() also frees the models.
 */
export async function serve(modelPaths: string[] | Record<string, string>, opts: ServeOptions = {}): Promise<InformerServer> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const named: [string, string][] = Array.isArray(modelPaths)
    ? modelPaths.map((p) => [basename(p).replace(/\.safetensors$/i, ''), p])
    : Object.entries(modelPaths);
  if (named.length === 0 && opts.modelControl !== true)
    throw new ConfigError('serve needs at least one model file (or modelControl, to load models over HTTP)');
  const seen = new Set<string>();
  for (const [name] of named) {
    if (seen.has(name)) throw new ConfigError(`two models are named ${JSON.stringify(name)}; pass { name: path } to name them`);
    seen.add(name);
  }
  const { port = 8080, host = '127.0.0.1', log: _log, backend, onnxPath, intraOpThreads, device, ...serverOpts } = opts;
  const models: Record<string, Predictor | ModelEntry> = {};
  const dispose = async (): Promise<void> => {
    for (const m of Object.values(models)) await (m instanceof Predictor ? m.dispose() : m.model.dispose());
  };
  try {
    for (const [name, path] of named) {
      models[name] = await loadServedModel(path, { backend, onnxPath, intraOpThreads, device });
      const m = models[name]!;
      const c = (m instanceof Predictor ? m.model : m.model).config;
      const where = m.model.device === 'cpu' ? '' : ` on ${m.model.device}`;
      const how =
        m instanceof Predictor ? `${m.backend}${where}, forecast endpoint on` : `native${where}, no preprocessing metadata: /infer only`;
      log(`model ${name}: ${path} (seqLen ${c.seqLen}, predLen ${c.predLen}, encIn ${c.encIn}; ${how})`);
    }
  } catch (e) {
    await dispose();
    throw e;
  }
  const { modelControl, ...rest } = serverOpts;
  const server = await createServer({
    ...rest,
    models,
    ...(modelControl === true
      ? {
          modelControl: { loadModel: (p: string) => loadServedModel(resolveWeightsFile(p), { backend, onnxPath, intraOpThreads, device }) },
        }
      : {}),
  });
  let url: string;
  try {
    url = await server.listen(port, host);
  } catch (e) {
    await dispose();
    throw e;
  }
  log(
    `informer-node serving ${named.length > 0 ? named.map(([n]) => n).join(', ') : 'no model yet'} at ${url} (Open Inference Protocol v2: POST ${url}/v2/models/<name>/infer)`,
  );
  return {
    ...server,
    get url() {
      return server.url;
    },
    async close() {
      await server.close();
      await dispose();
    },
  };
}
