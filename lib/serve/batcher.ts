// Dynamic batching: requests for one model that arrive together are concatenated along the batch axis
// into ONE forward call and the output is split back. One call is in flight per model at a time (the
// native model runs one pass at a time anyway), so under load every request that arrives while a call
// runs joins the next one: batches grow with the load instead of queueing native calls.

import { ConfigError } from '../errors.js';
import type { Batch } from '../model.js';
import type { Tensor } from '../tensor.js';
import { concatBatches } from './predictor.js';

export interface BatcherOptions {
  /** How long the first request of an idle batcher waits for company, in ms (default 0: the
   * current event-loop turn, via setImmediate). */
  windowMs?: number;
  /** Most batch rows per forward call (default 64); a single larger request still runs alone. */
  maxBatch?: number;
}

export interface BatcherStats {
  /** Forward calls made. */
  calls: number;
  /** Requests served (or failed). */
  requests: number;
  /** Batch rows served (sum of request batch sizes). */
  items: number;
  /** Most rows in one call. */
  largestBatch: number;
  /** Requests waiting now. */
  pending: number;
}

/** One forward call, as the metrics see it. */
export interface BatcherCall {
  requests: number;
  rows: number;
  /** Microseconds the requests waited in the queue, summed over them. */
  queueUs: number;
  /** Microseconds of the forward call. */
  computeUs: number;
}

interface Pending {
  batch: Batch;
  rows: number;
  queuedAt: number;
  resolve: (out: Float32Array) => void;
  reject: (e: unknown) => void;
}

/** The options with defaults applied; ConfigError when one is out of range. */
export function checkBatcherOptions(opts: BatcherOptions): Required<BatcherOptions> {
  const windowMs = opts.windowMs ?? 0;
  const maxBatch = opts.maxBatch ?? 64;
  if (typeof windowMs !== 'number' || !(windowMs >= 0 && Number.isFinite(windowMs)))
    throw new ConfigError(`batchWindowMs must be a number >= 0, got ${String(windowMs)}`);
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new ConfigError(`maxBatch must be an integer >= 1, got ${String(maxBatch)}`);
  return { windowMs, maxBatch };
}

export type ForwardFn = (batch: Batch) => Promise<Tensor<Float32Array>>;

async function call(run: ForwardFn, batch: Batch): Promise<Float32Array> {
  return (await run(batch)).data; // a synchronous throw becomes a rejection here
}

export class Batcher {
  readonly windowMs: number;
  readonly maxBatch: number;
  readonly #run: ForwardFn;
  #queue: Pending[] = [];
  #inFlight = false;
  #timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  #stats = { calls: 0, requests: 0, items: 0, largestBatch: 0 };
  readonly #onCall: ((call: BatcherCall) => void) | undefined;

  constructor(run: ForwardFn, opts: BatcherOptions = {}, onCall?: (call: BatcherCall) => void) {
    this.#run = run;
    this.#onCall = onCall;
    ({ windowMs: this.windowMs, maxBatch: this.maxBatch } = checkBatcherOptions(opts));
  }

  get stats(): BatcherStats {
    return { ...this.#stats, pending: this.#queue.length };
  }

  /** The forecast rows of `batch` (flat [B, predLen, cOut]), computed together with its neighbours. */
  submit(batch: Batch): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ batch, rows: batch.xEnc.shape[0]!, queuedAt: performance.now(), resolve, reject });
      this.#schedule(false);
    });
  }

  #schedule(afterCall: boolean): void {
    if (this.#inFlight || this.#timer !== undefined || this.#queue.length === 0) return;
    // After a call, the queue already waited for it: flush at the next turn, not after a window.
    if (this.windowMs > 0 && !afterCall) this.#timer = setTimeout(() => this.#flush(), this.windowMs);
    else this.#timer = setImmediate(() => this.#flush());
  }

  // One forward call for every request taken. When it fails and several requests shared it, each is
  // retried alone, so a request whose input the model cannot compute with (e.g. a NaN forecast)
  // fails by itself instead of failing its neighbours.
  async #runBatch(take: Pending[], rows: number): Promise<void> {
    let out: Float32Array;
    const started = performance.now();
    try {
      out = await call(this.#run, concatBatches(take.map((p) => p.batch)));
      if (this.#onCall) {
        const queueUs = take.reduce((sum, p) => sum + (started - p.queuedAt) * 1000, 0);
        this.#onCall({ requests: take.length, rows, queueUs, computeUs: (performance.now() - started) * 1000 });
      }
    } catch (e) {
      if (take.length === 1) return take[0]!.reject(e);
      for (const p of take) {
        this.#stats.calls++;
        await call(this.#run, p.batch).then(p.resolve, p.reject);
      }
      return;
    }
    const per = out.length / rows;
    let o = 0;
    for (const p of take) {
      p.resolve(out.subarray(o, o + p.rows * per));
      o += p.rows * per;
    }
  }

  #flush(): void {
    this.#timer = undefined;
    const take: Pending[] = [];
    let rows = 0;
    while (this.#queue.length > 0 && (take.length === 0 || rows + this.#queue[0]!.rows <= this.maxBatch)) {
      const p = this.#queue.shift()!;
      take.push(p);
      rows += p.rows;
    }
    if (take.length === 0) return;
    const s = this.#stats;
    s.calls++;
    s.requests += take.length;
    s.items += rows;
    s.largestBatch = Math.max(s.largestBatch, rows);
    this.#inFlight = true;
    void this.#runBatch(take, rows).finally(() => {
      this.#inFlight = false;
      this.#schedule(true);
    });
  }
}
