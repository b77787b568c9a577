// The HTTP layer of the server on node:http: a small router (exact segments and `:param`s, trailing
// slash ignored), JSON bodies read with a size limit, JSON replies, and Node's own request, headers and
// connection timeouts. Every error leaves as `{"error": "..."}`.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { RequestError } from './oip.js';

/** A non-JSON reply (the Prometheus text format). */
export class RawReply {
  constructor(
    readonly status: number,
    readonly contentType: string,
    readonly body: string,
  ) {}
}

export interface HttpRequest {
  /** The client's x-request-id, or one made here; echoed in the response. */
  id: string;
  method: string;
  path: string;
  params: Record<string, string>;
  /** The parsed JSON body (POST), else undefined. */
  body: unknown;
}

/** Returns the JSON reply, or [status, JSON] for a status other than 200. */
export type Handler = (req: HttpRequest) => unknown | Promise<unknown>;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export interface HttpOptions {
  bodyLimit: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  /** Maps an error thrown by a handler to a status (and is told about 5xx errors). */
  errorStatus: (e: unknown) => number;
  onServerError?: (e: unknown, req: HttpRequest) => void;
  /** Told about every answered request (the access log). */
  onResponse?: (req: HttpRequest, status: number, ms: number) => void;
}

export class JsonHttpServer {
  readonly server: Server;
  readonly #routes: Route[] = [];
  readonly #opts: HttpOptions;
  #closing = false;
  #requests = 0;
  readonly #idPrefix = `${process.pid.toString(36)}${Date.now().toString(36)}`;

  constructor(opts: HttpOptions) {
    this.#opts = opts;
    this.server = createHttpServer(
      {
        requestTimeout: opts.requestTimeoutMs,
        headersTimeout: opts.headersTimeoutMs,
        keepAliveTimeout: Math.min(opts.idleTimeoutMs || 5000, 5000),
        connectionsCheckingInterval: 1000,
      },
      (req, res) => void this.#handle(req, res),
    );
    // No traffic on a connection for idleTimeoutMs: close it (0 keeps it).
    this.server.setTimeout(opts.idleTimeoutMs, (socket) => socket.destroy());
  }

  route(method: 'GET' | 'POST', pattern: string, handler: Handler): void {
    this.#routes.push({ method, segments: split(pattern), handler });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  /** Stops accepting connections, answers 503 to new requests on open ones, and closes idle ones. */
  close(): Promise<void> {
    this.#closing = true;
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] as string;
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && given.length > 0 && given.length <= 200 ? given : `${this.#idPrefix}-${++this.#requests}`;
    const request: HttpRequest = { id, method, path, params: {}, body: undefined };
    res.setHeader('x-request-id', id);
    if (this.#opts.onResponse) res.once('finish', () => this.#opts.onResponse?.(request, res.statusCode, performance.now() - started));
    try {
      if (this.#closing) throw new RequestError(503, 'the server is shutting down');
      const found = this.#match(method, path);
      if (found === null) {
        req.resume();
        throw new RequestError(404, `no route ${method} ${path}; see GET /v2 and /v2/models/{name}`);
      }
      request.params = found.params;
      if (method === 'POST') request.body = await this.#readJson(req);
      else req.resume();
      const result = await found.route.handler(request);
      if (result instanceof RawReply) return send(res, result.status, result.contentType, result.body);
      const [status, body] = Array.isArray(result) && typeof result[0] === 'number' ? (result as [number, unknown]) : [200, result];
      reply(res, status, body);
    } catch (e) {
      const status = this.#opts.errorStatus(e);
      let message = (e as Error).message ?? String(e);
      if (status >= 500) this.#opts.onServerError?.(e, request);
      if (status >= 500 && !(e instanceof RequestError) && !isInformerError(e)) message = `internal error: ${message}`;
      reply(res, status, { error: message });
    }
  }

  #match(method: string, path: string): { route: Route; params: Record<string, string> } | null {
    const parts = split(path);
    for (const route of this.#routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = route.segments[i] as string;
        const part = parts[i] as string;
        if (seg.startsWith(':')) {
          let value: string;
          try {
            value = decodeURIComponent(part);
          } catch {
            return null;
          }
          params[seg.slice(1)] = value;
        } else ok = seg === part;
      }
      if (ok) return { route, params };
    }
    return null;
  }

  // The body as JSON whatever its content type (curl -d sends form encoding); 413 past the limit, also
  // for chunked bodies that never declare a length; 400 for malformed JSON.
  #readJson(req: IncomingMessage): Promise<unknown> {
    const limit = this.#opts.bodyLimit;
    const tooLarge = () => new RequestError(413, `request body is larger than the limit of ${limit} bytes`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return Promise.reject(tooLarge());
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      req.on('data', (chunk: Buffer) => {
        if (failed) return;
        size += chunk.length;
        if (size > limit) {
          failed = true;
          chunks.length = 0;
          reject(tooLarge());
          return;
        }
        chunks.push(chunk);
      });
      req.on('error', (e) => {
        if (!failed) reject(new RequestError(400, `could not read the request body: ${e.message}`));
        failed = true;
      });
      req.on('end', () => {
        if (failed) return;
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(new RequestError(400, `malformed JSON body: ${(e as Error).message}`));
        }
      });
    });
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function isInformerError(e: unknown): boolean {
  return typeof (e as { code?: unknown }).code === 'string' && String((e as { code: string }).code).startsWith('ERR_INFORMER');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function send(res: ServerResponse, status: number, contentType: string, text: string): void {
  if (res.headersSent) return;
  const headers: Record<string, string | number> = { 'content-type': contentType, 'content-length': Buffer.byteLength(text) };
  // The rest of an oversized body is not read: the connection ends with this answer.
  if (status === 413) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
}
