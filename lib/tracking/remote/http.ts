// HTTP transport to an MLflow tracking server, configured from the environment variables MLflow's
// own client reads (auth, TLS, retries, timeout). Requests retry with exponential backoff on
// connection errors, 429 and 5xx, as MLflow's requests session does; MLflow's error bodies become
// TrackingServerError with the server's error_code.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { ConfigError } from '../../errors.js';
import { TrackingServerError, TrackingUnreachableError } from '../errors.js';
import { tempName } from '../../fs/atomic.js';

/** How to reach a tracking server (MLflow's environment variables, or set explicitly). */
export interface HttpConfig {
  /** e.g. `http://127.0.0.1:5000` or `https://mlflow.example.com/prefix` (no trailing slash). */
  baseUrl: string;
  /** MLFLOW_TRACKING_TOKEN: sent as `Authorization: Bearer ...`. */
  token?: string;
  /** MLFLOW_TRACKING_USERNAME / _PASSWORD: HTTP basic auth. */
  username?: string;
  password?: string;
  /** MLFLOW_TRACKING_INSECURE_TLS=true: do not verify the server's certificate. */
  insecureTls?: boolean;
  /** MLFLOW_TRACKING_SERVER_CERT_PATH: a CA bundle (PEM) to verify the server with. */
  certPath?: string;
  /** MLFLOW_HTTP_REQUEST_MAX_RETRIES (default 5). */
  maxRetries: number;
  /** MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR (default 2): wait factor * 2^(attempt-1) seconds, at most 120. */
  backoffFactor: number;
  /** MLFLOW_HTTP_REQUEST_BACKOFF_JITTER (default 1): up to this many random seconds added. */
  backoffJitter: number;
  /** MLFLOW_HTTP_REQUEST_TIMEOUT in seconds (default 120). */
  timeoutS: number;
}

const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const MAX_BACKOFF_S = 120;

function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, integer: boolean): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new ConfigError(`${name} must be a non-negative ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return v;
}

function envFlag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new ConfigError(`${name} must be true or false, got '${env[name]}'`);
}

/** The transport settings for a server URI from MLflow's environment variables. */
export function httpConfigFromEnv(uri: string, env: NodeJS.ProcessEnv = process.env): HttpConfig {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (e) {
    throw new ConfigError(`tracking URI '${uri}' is not a valid URL`, { cause: e });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`tracking URI '${uri}' is not http(s)`);
  const config: HttpConfig = {
    baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    maxRetries: envNumber(env, 'MLFLOW_HTTP_REQUEST_MAX_RETRIES', 5, true),
    backoffFactor: envNumber(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', 2, false),
    backoffJitter: envNumber(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', 1, false),
    timeoutS: envNumber(env, 'MLFLOW_HTTP_REQUEST_TIMEOUT', 120, false),
    insecureTls: envFlag(env, 'MLFLOW_TRACKING_INSECURE_TLS'),
  };
  if (env.MLFLOW_TRACKING_TOKEN) config.token = env.MLFLOW_TRACKING_TOKEN;
  if (env.MLFLOW_TRACKING_USERNAME || env.MLFLOW_TRACKING_PASSWORD) {
    config.username = env.MLFLOW_TRACKING_USERNAME ?? '';
    config.password = env.MLFLOW_TRACKING_PASSWORD ?? '';
  }
  if (env.MLFLOW_TRACKING_SERVER_CERT_PATH) config.certPath = env.MLFLOW_TRACKING_SERVER_CERT_PATH;
  if (config.insecureTls && config.certPath !== undefined) {
    throw new ConfigError('MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH cannot both be set');
  }
  if (url.username !== '' && config.username === undefined) {
    config.username = decodeURIComponent(url.username);
    config.password = decodeURIComponent(url.password);
  }
  return config;
}

/** The wait before retry `attempt` (1, 2, ...): factor * 2^(attempt-1) seconds, at most 120, plus jitter (urllib3's rule). */
export function backoffSeconds(config: HttpConfig, attempt: number): number {
  return Math.min(MAX_BACKOFF_S, config.backoffFactor * 2 ** (attempt - 1)) + Math.random() * config.backoffJitter;
}

/** One request: `body` is JSON (an object), raw bytes, or a file to stream; `toFile` streams the answer to a file. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under the base URL, e.g. `/api/2.0/mlflow/runs/get`. */
  endpoint: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  file?: string;
  toFile?: string;
  /** Overrides the configured retry count (the background uploader does its own backing off). */
  maxRetries?: number;
}

/** A sleep used between retries; injectable for tests. */
export type Sleep = (ms: number) => Promise<void>;
const defaultSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function isTransientError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return (code !== undefined && TRANSIENT_CODES.has(code)) || /socket hang up|timed out/i.test(String((e as Error).message));
}

/** An HTTP client for one tracking server. */
export class HttpClient {
  readonly #agent: http.Agent;
  readonly #auth: string | undefined;

  constructor(
    readonly config: HttpConfig,
    readonly sleep: Sleep = defaultSleep,
  ) {
    const secure = config.baseUrl.startsWith('https:');
    if (secure) {
      let ca: Buffer | undefined;
      if (config.certPath !== undefined) {
        try {
          ca = fs.readFileSync(config.certPath);
        } catch (e) {
          throw new ConfigError(`MLFLOW_TRACKING_SERVER_CERT_PATH: cannot read '${config.certPath}'`, { cause: e });
        }
      }
      this.#agent = new https.Agent({ keepAlive: true, rejectUnauthorized: !config.insecureTls, ...(ca ? { ca } : {}) });
    } else {
      this.#agent = new http.Agent({ keepAlive: true });
    }
    if (config.token !== undefined) this.#auth = `Bearer ${config.token}`;
    else if (config.username !== undefined)
      this.#auth = `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`;
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  /** Sends a request, retrying transient failures; resolves to the parsed JSON answer ({} when empty). */
  async request(req: HttpRequest): Promise<Record<string, unknown>> {
    const retries = req.maxRetries ?? this.config.maxRetries;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.#once(req);
        if (TRANSIENT_STATUS.has(res.status) && attempt < retries) {
          await this.#backoff(attempt + 1);
          continue;
        }
        return this.#answer(req, res);
      } catch (e) {
        if (!isTransientError(e)) throw e;
        if (attempt < retries) {
          await this.#backoff(attempt + 1);
          continue;
        }
        throw new TrackingUnreachableError(
          `tracking server ${this.config.baseUrl} unreachable (${req.method} ${req.endpoint}, ${attempt + 1} attempt${attempt === 0 ? '' : 's'}): ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
  }

  #backoff(attempt: number): Promise<void> {
    return this.sleep(backoffSeconds(this.config, attempt) * 1000);
  }

  #answer(req: HttpRequest, res: { status: number; body: Buffer }): Record<string, unknown> {
    const text = res.body.toString('utf8');
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.status >= 200 && res.status < 300) {
      if (parsed === undefined || typeof parsed !== 'object' || parsed === null) {
        throw new TrackingServerError(
          `${req.method} ${req.endpoint}: the server's answer is not JSON: ${text.slice(0, 200)}`,
          'BAD_RESPONSE',
          res.status,
        );
      }
      return parsed as Record<string, unknown>;
    }
    const body = (parsed ?? {}) as { error_code?: unknown; message?: unknown };
    const errorCode =
      typeof body.error_code === 'string'
        ? body.error_code
        : res.status === 401 || res.status === 403
          ? 'PERMISSION_DENIED'
          : `HTTP_${res.status}`;
    const message = typeof body.message === 'string' ? body.message : text.slice(0, 300) || `HTTP ${res.status}`;
    throw new TrackingServerError(`${req.method} ${req.endpoint}: ${errorCode}: ${message}`, errorCode, res.status);
  }

  #once(req: HttpRequest): Promise<{ status: number; body: Buffer }> {
    const url = new URL(this.config.baseUrl + req.endpoint);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string | number> = { 'User-Agent': 'informer-node', Accept: 'application/json' };
    if (this.#auth !== undefined) headers.Authorization = this.#auth;
    let payload: Buffer | undefined;
    if (req.json !== undefined) {
      payload = Buffer.from(JSON.stringify(req.json));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    } else if (req.file !== undefined) {
      headers['Content-Type'] = 'application/octet-stream';
      headers['Content-Length'] = fs.statSync(req.file).size;
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const r = lib.request(url, { method: req.method, headers, agent: this.#agent, timeout: this.config.timeoutS * 1000 }, (res) => {
        const status = res.statusCode ?? 0;
        if (req.toFile !== undefined && status >= 200 && status < 300) {
          streamToFile(res, req.toFile).then(() => resolve({ status, body: Buffer.from('{}') }), reject);
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      r.on('timeout', () =>
        r.destroy(Object.assign(new Error(`request timed out after ${this.config.timeoutS} s`), { code: 'ETIMEDOUT' })),
      );
      r.on('error', reject);
      if (req.file !== undefined) {
        const stream = fs.createReadStream(req.file);
        stream.on('error', (e) => r.destroy(e));
        stream.pipe(r);
      } else r.end(payload);
    });
  }
}

// Streams a response into `file` through a temp file beside it, so no half-written file is ever left.
function streamToFile(res: http.IncomingMessage, file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), tempName());
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(tmp);
    const fail = (e: unknown): void => {
      out.destroy();
      fs.rmSync(tmp, { force: true });
      reject(e);
    };
    res.on('error', fail);
    out.on('error', fail);
    out.on('finish', () => {
      try {
        fs.renameSync(tmp, file);
        resolve();
      } catch (e) {
        fail(e);
      }
    });
    res.pipe(out);
  });
}
