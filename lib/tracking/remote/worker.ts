// The tracking worker: a thread that talks to the tracking server for one process. It answers the
// main thread's synchronous calls (the main thread blocks on a shared flag until the answer is on
// its port) and replays the spool in the background, backing off while the server is unreachable.
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { TrackingUnreachableError } from '../errors.js';
import { HttpClient } from './http.js';
import type { HttpConfig, HttpRequest } from './http.js';
import { Spool } from './spool.js';
import { downloadArtifacts, listArtifactFiles } from './artifacts.js';

interface WorkerInput {
  config: HttpConfig;
  spoolDir: string;
  signal: SharedArrayBuffer;
  port: MessagePort;
}

/** What the main thread asks synchronously. */
export type SyncMessage =
  | { type: 'call'; req: HttpRequest }
  | { type: 'drain'; runIds?: string[] }
  | { type: 'download'; uri: string; dir: string }
  | { type: 'list'; uri: string };

/** The result of a drain: runs still holding unsent operations, and whether the server was unreachable. */
export interface DrainResult {
  pendingRuns: string[];
  unreachable: boolean;
  error?: string;
}

/** An error crossing the thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  errorCode?: string;
  status?: number;
}

const { config, spoolDir, signal, port } = workerData as WorkerInput;
const client = new HttpClient(config);
const spool = new Spool(spoolDir);
const flag = new Int32Array(signal);

let chain: Promise<unknown> = Promise.resolve();
// One replay at a time in this process (the journal lock covers other processes).
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const next = chain.then(fn, fn);
  chain = next.catch(() => undefined);
  return next;
}

let unreachable = false;
let retryMs = 1000;
let timer: NodeJS.Timeout | undefined;

async function drain(runIds: string[] | undefined, maxRetries: number): Promise<DrainResult> {
  return exclusive(async () => {
    const ids = runIds ?? spool.pendingRuns();
    try {
      for (const id of ids) if (spool.pendingBytes(id) > 0) await spool.replay(client, id, { maxRetries });
      if (unreachable) parentPort!.postMessage({ type: 'replayed' });
      unreachable = false;
      retryMs = 1000;
      return { pendingRuns: spool.pendingRuns(), unreachable: false };
    } catch (e) {
      const down = e instanceof TrackingUnreachableError;
      if (down && !unreachable) parentPort!.postMessage({ type: 'spooling', message: (e as Error).message });
      unreachable ||= down;
      return { pendingRuns: spool.pendingRuns(), unreachable: down, error: (e as Error).message };
    }
  });
}

function schedule(ms: number): void {
  if (timer !== undefined) return;
  timer = setTimeout(async () => {
    timer = undefined;
    const r = await drain(undefined, 0);
    if (r.unreachable) {
      retryMs = Math.min(retryMs * 2, 30_000);
      schedule(retryMs);
    } else if (r.pendingRuns.length > 0 && r.error === undefined) schedule(250);
  }, ms);
}

function serialize(e: unknown): SerializedError {
  const err = e as Error & { errorCode?: string; status?: number };
  return { name: err.name ?? 'Error', message: err.message ?? String(e), errorCode: err.errorCode, status: err.status };
}

port.on('message', async (msg: SyncMessage) => {
  let reply: { ok: true; value: unknown } | { ok: false; error: SerializedError };
  try {
    if (msg.type === 'call') reply = { ok: true, value: await client.request(msg.req) };
    else if (msg.type === 'drain') reply = { ok: true, value: await drain(msg.runIds, unreachable ? 0 : 1) };
    else if (msg.type === 'list') reply = { ok: true, value: await listArtifactFiles(client, msg.uri) };
    else reply = { ok: true, value: await downloadArtifacts(client, msg.uri, msg.dir) };
  } catch (e) {
    reply = { ok: false, error: serialize(e) };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});

parentPort!.on('message', (msg: { type: string }) => {
  if (msg.type === 'kick' && !unreachable) schedule(200);
});

process.on('uncaughtException', (e) => {
  port.postMessage({ ok: false, error: serialize(e) });
  Atomics.store(flag, 0, 2);
  Atomics.notify(flag, 0);
});

// Journals left by earlier processes are replayed as soon as this process talks to the server.
if (spool.pendingRuns().length > 0) schedule(0);
