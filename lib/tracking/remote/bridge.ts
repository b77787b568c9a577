// Synchronous calls to the tracking worker: the store's API is synchronous (as on the local
// FileStore), so the main thread posts a request and blocks on a shared flag until the worker has
// put the answer on a dedicated port. Background replays need no answer and only get a kick.
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { TrackingError, TrackingServerError, TrackingUnreachableError, ArtifactStoreError } from '../errors.js';
import type { HttpConfig, HttpRequest } from './http.js';
import type { DrainResult, SerializedError, SyncMessage } from './worker.js';

function revive(e: SerializedError): Error {
  if (e.name === 'TrackingServerError') return new TrackingServerError(e.message, e.errorCode ?? 'UNKNOWN', e.status ?? 0);
  if (e.name === 'TrackingUnreachableError') return new TrackingUnreachableError(e.message);
  if (e.name === 'ArtifactStoreError') return new ArtifactStoreError(e.message);
  return new TrackingError(`${e.name}: ${e.message}`);
}

/** The main thread's end of the tracking worker. */
export class WorkerBridge {
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  #flag = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    readonly config: HttpConfig,
    readonly spoolDir: string,
    readonly onNotice: (msg: { type: string; message?: string }) => void,
  ) {}

  #start(): { worker: Worker; port: MessagePort } {
    if (this.#worker !== undefined && this.#port !== undefined) return { worker: this.#worker, port: this.#port };
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { config: this.config, spoolDir: this.spoolDir, signal: this.#flag.buffer, port: port2 },
      transferList: [port2],
    });
    worker.on('message', (m: { type: string; message?: string }) => this.onNotice(m));
    worker.on('error', (e) => this.onNotice({ type: 'error', message: e.message }));
    worker.on('exit', () => {
      this.#worker = undefined;
      this.#port = undefined;
    });
    // The worker never keeps the process alive: what it has not sent stays in the spool.
    worker.unref();
    port1.unref();
    this.#worker = worker;
    this.#port = port1;
    return { worker, port: port1 };
  }

  #sync(msg: SyncMessage): unknown {
    const { port } = this.#start();
    Atomics.store(this.#flag, 0, 0);
    port.postMessage(msg);
    // Worst case per request: every attempt times out, plus the backoff waits (capped at 120 s each).
    const limitMs = (this.config.timeoutS + 120) * (this.config.maxRetries + 1) * 1000 + 60_000;
    if (Atomics.wait(this.#flag, 0, 0, limitMs) === 'timed-out') {
      throw new TrackingUnreachableError(`the tracking worker did not answer within ${Math.round(limitMs / 1000)} s`);
    }
    const got = receiveMessageOnPort(port);
    if (got === undefined) throw new TrackingError('the tracking worker stopped without answering');
    const reply = got.message as { ok: true; value: unknown } | { ok: false; error: SerializedError };
    if (!reply.ok) throw revive(reply.error);
    return reply.value;
  }

  /** One REST call, synchronously. */
  call(req: HttpRequest): Record<string, unknown> {
    return this.#sync({ type: 'call', req }) as Record<string, unknown>;
  }

  /** Sends what is spooled (for the given runs, or all) now; reports what is left. */
  drain(runIds?: string[]): DrainResult {
    return this.#sync({ type: 'drain', runIds }) as DrainResult;
  }

  /** Downloads artifacts at `uri` into `dir` (files already there with the same size are kept). */
  download(uri: string, dir: string): number {
    return this.#sync({ type: 'download', uri, dir }) as number;
  }

  /** The files at an artifact URI, relative to it. */
  list(uri: string): string[] {
    return this.#sync({ type: 'list', uri }) as string[];
  }

  /** Asks the worker to replay the spool soon, without waiting. */
  kick(): void {
    this.#start().worker.postMessage({ type: 'kick' });
  }

  /** Stops the worker (what is unsent stays spooled). */
  close(): Promise<number> | undefined {
    const w = this.#worker;
    this.#worker = undefined;
    this.#port?.close();
    this.#port = undefined;
    return w?.terminate();
  }
}
