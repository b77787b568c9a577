// Payload logging as KServe's logger does it: each inference request and response as a CloudEvent
// (type org.kubeflow.serving.inference.request / .response, id = the request id), appended to a JSON
// Lines file (structured mode) or POSTed to an HTTP(S) sink (binary mode: ce-* headers, the payload as
// the body). Events wait in a bounded queue drained in the background, so logging never slows
// inference; when the queue is full the event is dropped and counted.
import * as fs from 'node:fs';

import { ConfigError } from '../errors.js';

export interface PayloadLogOptions {
  /** A .jsonl file path, or an http:// / https:// URL. */
  target: string;
  /** Events waiting at most (default 10 000); more are dropped and counted. */
  maxQueue?: number;
  /** `source` of the events (default 'informer-node'). */
  source?: string;
}

export type PayloadKind = 'request' | 'response';

interface PayloadEvent {
  kind: PayloadKind;
  id: string;
  model: string;
  endpoint: string;
  time: string;
  data: unknown;
}

export interface PayloadLogStats {
  /** Events written or delivered. */
  sent: number;
  /** Events dropped: the queue was full, or the sink refused them. */
  dropped: number;
  /** Events waiting now. */
  queued: number;
}

const TYPE: Record<PayloadKind, string> = {
  request: 'org.kubeflow.serving.inference.request',
  response: 'org.kubeflow.serving.inference.response',
};

export class PayloadLogger {
  readonly target: string;
  readonly #http: boolean;
  readonly #maxQueue: number;
  readonly #source: string;
  #queue: PayloadEvent[] = [];
  #draining: Promise<void> | null = null;
  #sent = 0;
  #dropped = 0;
  #file: fs.WriteStream | null = null;

  constructor(opts: PayloadLogOptions) {
    if (typeof opts?.target !== 'string' || opts.target === '')
      throw new ConfigError('payload log target must be a file path or an http(s) URL');
    this.target = opts.target;
    this.#http = /^https?:\/\//i.test(opts.target);
    this.#maxQueue = opts.maxQueue ?? 10_000;
    if (!Number.isSafeInteger(this.#maxQueue) || this.#maxQueue < 1)
      throw new ConfigError(`payload log maxQueue must be an integer >= 1, got ${this.#maxQueue}`);
    this.#source = opts.source ?? 'informer-node';
    if (!this.#http) {
      this.#file = fs.createWriteStream(opts.target, { flags: 'a' });
      this.#file.on('error', () => {
        this.#file = null; // counted as drops from now on
      });
    }
  }

  get stats(): PayloadLogStats {
    return { sent: this.#sent, dropped: this.#dropped, queued: this.#queue.length };
  }

  /** Queues one event; never waits. */
  log(kind: PayloadKind, id: string, model: string, endpoint: string, data: unknown): void {
    if (this.#queue.length >= this.#maxQueue) {
      this.#dropped++;
      return;
    }
    this.#queue.push({ kind, id, model, endpoint, time: new Date().toISOString(), data });
    this.#draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        if (this.#http) {
          for (const e of batch) await this.#post(e);
        } else {
          await this.#write(batch);
        }
      }
    } finally {
      this.#draining = null;
    }
  }

  #cloudEvent(e: PayloadEvent): Record<string, unknown> {
    return {
      specversion: '1.0',
      id: e.id,
      source: this.#source,
      type: TYPE[e.kind],
      time: e.time,
      datacontenttype: 'application/json',
      inferenceservicename: e.model,
      endpoint: e.endpoint,
      data: e.data,
    };
  }

  async #write(batch: PayloadEvent[]): Promise<void> {
    const file = this.#file;
    if (file === null) {
      this.#dropped += batch.length;
      return;
    }
    const text = batch.map((e) => `${JSON.stringify(this.#cloudEvent(e))}\n`).join('');
    const ok = await new Promise<boolean>((resolve) => file.write(text, (err) => resolve(!err)));
    if (ok) this.#sent += batch.length;
    else this.#dropped += batch.length;
  }

  async #post(e: PayloadEvent): Promise<void> {
    try {
      const res = await fetch(this.target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': e.id,
          'ce-source': this.#source,
          'ce-type': TYPE[e.kind],
          'ce-time': e.time,
          'ce-inferenceservicename': e.model,
          'ce-endpoint': e.endpoint,
        },
        body: JSON.stringify(e.data),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.ok) this.#sent++;
      else this.#dropped++;
    } catch {
      this.#dropped++;
    }
  }

  /** Delivers what is queued, then closes the file. */
  async close(): Promise<void> {
    while (this.#draining) await this.#draining;
    const file = this.#file;
    this.#file = null;
    if (file) await new Promise<void>((resolve) => file.end(resolve));
  }
}
