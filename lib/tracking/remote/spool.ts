// The spool: what a process logged to a tracking server, written to a local journal first (one
// JSON line per operation, one file per run) and replayed to the server in order. The training
// loop only ever appends a line; sending happens elsewhere (the tracking worker, or `informer runs
// sync`), so a slow or absent server costs the loop nothing and loses nothing. A replay advances a
// byte offset saved beside the journal after every request the server accepted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../fs/atomic.js';
import { withLockAsync } from '../../fs/lock.js';
import { uploadArtifacts } from './artifacts.js';
import { TrackingServerError } from '../errors.js';
import type { HttpClient } from './http.js';

const API = '/api/2.0/mlflow';
// MLflow's log-batch limits (mlflow/utils/validation.py).
const MAX_METRICS = 1000;
const MAX_PARAMS = 100;
const MAX_TAGS = 100;
const MAX_ENTITIES = 1000;

type KeyValue = { key: string; value: string };
type MetricJson = { key: string; value: number | string; timestamp: number; step: number };

/** One journal line. The first line of a journal is the `run` header the replay needs. */
export type SpoolOp =
  | { op: 'run'; runId: string; artifactUri: string; artifactsDir: string }
  | { op: 'batch'; metrics?: MetricJson[]; params?: KeyValue[]; tags?: KeyValue[] }
  | { op: 'update'; status?: string; end_time?: number; run_name?: string }
  | { op: 'delete-tag'; key: string }
  | { op: 'inputs'; datasets: unknown[] }
  | { op: 'log-model'; model_json: string }
  | { op: 'artifacts' };

const SUFFIX = '.jsonl';

/** The spool folder of one tracking server's mirror. */
export class Spool {
  // Journals this process appends to, kept open: a metric point costs one write, not an open and close.
  readonly #fds = new Map<string, number>();

  constructor(readonly dir: string) {}

  journal(runId: string): string {
    return path.join(this.dir, `${runId}${SUFFIX}`);
  }

  /** Operations the server refused (4xx), one JSON line each with its answer. */
  rejectedFile(runId: string): string {
    return path.join(this.dir, `${runId}.rejected`);
  }

  #offsetFile(runId: string): string {
    return path.join(this.dir, `${runId}.offset`);
  }

  /** Appends operations to a run's journal (writing the header first for a new journal). */
  append(runId: string, header: () => Extract<SpoolOp, { op: 'run' }>, ...ops: SpoolOp[]): void {
    let text = ops.map((o) => `${JSON.stringify(o)}\n`).join('');
    let fd = this.#fds.get(runId);
    // Another process may have sent and removed the journal (its run ended there): start a new one.
    if (fd !== undefined && fs.fstatSync(fd).nlink === 0) {
      this.close(runId);
      fd = undefined;
    }
    if (fd === undefined) {
      const file = this.journal(runId);
      if (!fs.existsSync(file)) {
        fs.mkdirSync(this.dir, { recursive: true });
        text = `${JSON.stringify(header())}\n${text}`;
      }
      fd = fs.openSync(file, 'a');
      this.#fds.set(runId, fd);
    }
    fs.writeSync(fd, text);
  }

  /** Closes the journal of a run this process is done with. */
  close(runId: string): void {
    const fd = this.#fds.get(runId);
    if (fd !== undefined) fs.closeSync(fd);
    this.#fds.delete(runId);
  }

  /** Bytes of a run's journal not yet accepted by the server (0 when none). */
  pendingBytes(runId: string): number {
    try {
      return fs.statSync(this.journal(runId)).size - this.#offset(runId);
    } catch {
      return 0;
    }
  }

  /** Runs whose journals hold operations the server has not accepted yet. */
  pendingRuns(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith(SUFFIX))
      .map((n) => n.slice(0, -SUFFIX.length))
      .filter((id) => this.pendingBytes(id) > 0);
  }

  #offset(runId: string): number {
    try {
      const v = Number(fs.readFileSync(this.#offsetFile(runId), 'utf8'));
      return Number.isInteger(v) && v >= 0 ? v : 0;
    } catch {
      return 0;
    }
  }

  /**
   * Sends a run's unsent operations in order (batches merged up to MLflow's limits), saving the
   * offset after each accepted request; a failure stops the replay there (the rest stays spooled)
   * and is thrown. Holds the journal's lock so two replays never send the same lines.
   */
  replay(client: HttpClient, runId: string, options: { maxRetries?: number } = {}): Promise<number> {
    return withLockAsync(`${this.journal(runId)}.lock`, async () => {
      const file = this.journal(runId);
      if (!fs.existsSync(file)) return 0; // sent and removed meanwhile
      // Only what follows the saved offset is read: a long run's journal is replayed many times.
      const { header, base, buf } = readUnsent(file, this.#offset(runId));
      let offset = base;
      const lines: Array<{ op: SpoolOp; end: number }> = [];
      for (let start = 0; start < buf.length; ) {
        const nl = buf.indexOf(10, start);
        if (nl < 0) break; // a line still being written
        try {
          lines.push({ op: JSON.parse(buf.subarray(start, nl).toString('utf8')) as SpoolOp, end: base + nl + 1 });
        } catch {
          // a torn line from a killed process: nothing can be recovered from it
        }
        start = nl + 1;
      }
      const send = async (body: () => Promise<unknown>, end: number): Promise<void> => {
        try {
          await body();
        } catch (e) {
          // The server refused the operation itself (4xx other than 429): resending cannot help, and
          // it must not hold back what follows. It is kept, with the server's answer, for a person.
          if (!(e instanceof TrackingServerError) || e.status < 400 || e.status >= 500 || e.status === 429) throw e;
          fs.appendFileSync(
            this.rejectedFile(runId),
            `${JSON.stringify({
              error: e.message,
              line: buf
                .subarray(offset - base, end - base)
                .toString('utf8')
                .trim(),
            })}\n`,
          );
        }
        offset = end;
        writeFileAtomic(this.#offsetFile(runId), String(offset));
      };
      let sent = 0;
      for (let i = 0; i < lines.length; ) {
        const { op } = lines[i]!;
        if (op.op === 'batch') {
          const merged = new BatchBuilder();
          let j = i;
          while (j < lines.length && lines[j]!.op.op === 'batch' && merged.fits(lines[j]!.op as Extract<SpoolOp, { op: 'batch' }>)) {
            merged.add(lines[j]!.op as Extract<SpoolOp, { op: 'batch' }>);
            j++;
          }
          if (j === i) {
            // one journal line larger than a request may be: send it in pieces
            for (const piece of splitBatch(op)) await postRun(client, runId, 'log-batch', piece, options);
            await send(async () => undefined, lines[i]!.end);
            i++;
          } else {
            await send(() => postRun(client, runId, 'log-batch', merged.body(), options), lines[j - 1]!.end);
            i = j;
          }
        } else {
          await send(() => sendOne(client, header, op, options), lines[i]!.end);
          i++;
        }
        sent++;
      }
      // A run that ended and is fully sent needs its journal no more (nothing appends after the end).
      const ended =
        lines.length > 0 &&
        lines[lines.length - 1]!.op.op === 'update' &&
        (lines[lines.length - 1]!.op as { end_time?: number }).end_time !== undefined;
      if (ended && offset === fs.statSync(file).size) {
        this.close(runId);
        fs.rmSync(this.#offsetFile(runId), { force: true });
        fs.rmSync(file, { force: true });
      }
      return sent;
    });
  }
}

// The journal's header and the bytes after `offset` (after the header when nothing was sent yet).
function readUnsent(file: string, offset: number): { header: Extract<SpoolOp, { op: 'run' }>; base: number; buf: Buffer } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    let head = Buffer.alloc(0);
    let nl = -1;
    while (nl < 0 && head.length < size) {
      const chunk = Buffer.alloc(Math.min(4096, size - head.length));
      fs.readSync(fd, chunk, 0, chunk.length, head.length);
      head = Buffer.concat([head, chunk]);
      nl = head.indexOf(10);
    }
    if (nl < 0) throw new Error(`journal ${file} has no complete header line`);
    const header = JSON.parse(head.subarray(0, nl).toString('utf8')) as Extract<SpoolOp, { op: 'run' }>;
    const base = Math.max(offset, nl + 1);
    const buf = Buffer.alloc(Math.max(0, size - base));
    fs.readSync(fd, buf, 0, buf.length, base);
    return { header, base, buf };
  } finally {
    fs.closeSync(fd);
  }
}

/** POST to the REST API's `runs/<endpoint>` for this run: `body` with the run's id. */
function postRun(client: HttpClient, runId: string, endpoint: string, body: object, options: { maxRetries?: number }): Promise<unknown> {
  return client.request({ method: 'POST', endpoint: `${API}/runs/${endpoint}`, json: { run_id: runId, ...body }, ...options });
}

function sendOne(
  client: HttpClient,
  header: Extract<SpoolOp, { op: 'run' }>,
  op: SpoolOp,
  options: { maxRetries?: number },
): Promise<unknown> {
  const runId = header.runId;
  switch (op.op) {
    case 'update':
      return postRun(client, runId, 'update', { ...op, op: undefined }, options);
    case 'delete-tag':
      return postRun(client, runId, 'delete-tag', { key: op.key }, options);
    case 'inputs':
      return postRun(client, runId, 'log-inputs', { datasets: op.datasets }, options);
    case 'log-model':
      return postRun(client, runId, 'log-model', { model_json: op.model_json }, options);
    case 'artifacts':
      return uploadArtifacts(client, header.artifactsDir, header.artifactUri);
    default:
      return Promise.resolve();
  }
}

// Consecutive batch lines merged into one log-batch request within MLflow's limits. Tags keep their
// last value (a later set wins, as it would have one request later); params their first.
class BatchBuilder {
  metrics: MetricJson[] = [];
  params = new Map<string, string>();
  tags = new Map<string, string>();

  fits(b: Extract<SpoolOp, { op: 'batch' }>): boolean {
    const m = this.metrics.length + (b.metrics?.length ?? 0);
    const p = this.params.size + (b.params?.length ?? 0);
    const t = this.tags.size + (b.tags?.length ?? 0);
    return m <= MAX_METRICS && p <= MAX_PARAMS && t <= MAX_TAGS && m + p + t <= MAX_ENTITIES;
  }

  add(b: Extract<SpoolOp, { op: 'batch' }>): void {
    this.metrics.push(...(b.metrics ?? []));
    for (const p of b.params ?? []) if (!this.params.has(p.key)) this.params.set(p.key, p.value);
    for (const t of b.tags ?? []) this.tags.set(t.key, t.value);
  }

  body(): { metrics: MetricJson[]; params: KeyValue[]; tags: KeyValue[] } {
    const list = (m: Map<string, string>): KeyValue[] => [...m].map(([key, value]) => ({ key, value }));
    return { metrics: this.metrics, params: list(this.params), tags: list(this.tags) };
  }
}

function* splitBatch(b: Extract<SpoolOp, { op: 'batch' }>): Generator<{ metrics: MetricJson[]; params: KeyValue[]; tags: KeyValue[] }> {
  const metrics = b.metrics ?? [];
  const params = b.params ?? [];
  const tags = b.tags ?? [];
  for (let i = 0; i < params.length; i += MAX_PARAMS) yield { metrics: [], params: params.slice(i, i + MAX_PARAMS), tags: [] };
  for (let i = 0; i < tags.length; i += MAX_TAGS) yield { metrics: [], params: [], tags: tags.slice(i, i + MAX_TAGS) };
  for (let i = 0; i < metrics.length; i += MAX_METRICS) yield { metrics: metrics.slice(i, i + MAX_METRICS), params: [], tags: [] };
}
