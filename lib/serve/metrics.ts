// Prometheus metrics of the server (prom-client, a registry per server: nothing global, nothing on
// import). Names follow KServe (request_*_seconds histograms by model_name) and Triton (nv_inference_*
// counters by model and version), plus the batcher's queue depth, Node's process metrics and the live
// accuracy of each model (monitor.ts). Every metric is documented in the README ("Monitoring").
import type * as PromClient from 'prom-client';

import { requireLazily } from '../lazy.js';
import type { BatcherCall } from './batcher.js';
import type { ColumnDrift } from './drift.js';
import type { MonitorSnapshot } from './monitor.js';
import type { PayloadLogStats } from './payload-log.js';

export interface ModelProbe {
  name: string;
  version: string;
  queueDepth(): number;
  snapshot(): MonitorSnapshot | null;
  drift(): ColumnDrift[] | null;
}

export type Phase = 'preprocess' | 'predict' | 'postprocess';

// KServe's latency buckets (seconds) start at 5 ms, which would hide sub-millisecond models: start lower.
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const PHASE_HELP: Record<Phase, string> = {
  preprocess: 'Time to parse and check a request (and, for /forecast, to scale and window its history)',
  predict: 'Time from handing a request to the batcher to its forecast (queue and forward call)',
  postprocess: 'Time to turn a forecast into the response body',
};

// The request path only adds to plain numbers (a bucket search, a few increments); prom-client reads
// them when /metrics is scraped. Its own labelled observe hashes the labels on every call, which cost
// several percent of the server's throughput.
class Buckets {
  readonly counts = new Float64Array(BUCKETS.length);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    if (i < BUCKETS.length) this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

interface ModelCounters {
  model: string;
  version: string;
  success: number;
  failure: number;
  count: number;
  execs: number;
  queueUs: number;
  computeUs: number;
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The metrics of one server. */
export class ServerMetrics {
  readonly registry: PromClient.Registry;
  readonly #histograms = new Map<string, Record<Phase, Buckets>>();
  readonly #counters = new Map<string, ModelCounters>();
  readonly #probe: () => ModelProbe[];
  // One reading of the models per scrape: nine gauges read each model's accuracy and two its drift
  // (whose KS sorts the window), and none of them needs its own.
  #scrape: ModelProbe[] | null = null;

  constructor(probe: () => ModelProbe[], payloads: () => PayloadLogStats | null = () => null) {
    this.#probe = probe;
    const models = (): ModelProbe[] => this.#scrape ?? this.#read();
    const prom = requireLazily<typeof PromClient>('prom-client', 'the /metrics endpoint');
    const registry = new prom.Registry();
    this.registry = registry;
    prom.collectDefaultMetrics({ register: registry });
    const counter = (name: string, help: string, key: Exclude<keyof ModelCounters, 'model' | 'version'>) =>
      new prom.Counter({
        name,
        help,
        labelNames: ['model', 'version'],
        registers: [registry],
        collect: () => {
          const c = registry.getSingleMetric(name) as PromClient.Counter<'model' | 'version'>;
          c.reset();
          for (const m of this.#counters.values()) if (m[key] > 0) c.inc({ model: m.model, version: m.version }, m[key]);
        },
      });
    counter('nv_inference_request_success', 'Inference requests (/infer and /forecast) answered with 200', 'success');
    counter('nv_inference_request_failure', 'Inference requests answered with an error', 'failure');
    counter('nv_inference_count', 'Series forecast (batch rows); batch size = nv_inference_count / nv_inference_exec_count', 'count');
    counter('nv_inference_exec_count', 'Forward calls of the model (requests are batched into them)', 'execs');
    counter('nv_inference_queue_duration_us', 'Microseconds requests waited in the batcher queue, summed', 'queueUs');
    counter('nv_inference_compute_infer_duration_us', 'Microseconds of forward calls, summed', 'computeUs');

    const gauge = <L extends string>(name: string, help: string, labelNames: L[], collect: (g: PromClient.Gauge<L>) => void) =>
      new prom.Gauge<L>({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          collect(this);
        },
      });
    gauge('informer_batcher_queue_depth', 'Requests waiting for a forward call', ['model_name'], (g) => {
      for (const m of models()) g.set({ model_name: m.name }, m.queueDepth());
    });
    const live = (key: 'mae' | 'mse' | 'rmse' | 'naiveMae' | 'naiveMse' | 'naiveRmse', name: string, help: string) =>
      gauge(name, help, ['model_name', 'step'], (g) => {
        for (const m of models()) {
          const s = m.snapshot();
          if (!s) continue;
          for (const st of s.steps) if (st[key] !== null) g.set({ model_name: m.name, step: String(st.step) }, st[key] as number);
          if (s.overall[key] !== null) g.set({ model_name: m.name, step: 'all' }, s.overall[key] as number);
        }
      });
    live('mae', 'informer_live_mae', 'Rolling mean absolute error of served forecasts against actuals, per horizon step (and "all")');
    live('mse', 'informer_live_mse', 'Rolling mean squared error of served forecasts against actuals');
    live('rmse', 'informer_live_rmse', 'Rolling root mean squared error of served forecasts against actuals');
    live('naiveMae', 'informer_live_naive_mae', 'The same for the naive last-value forecast of the same histories');
    live('naiveMse', 'informer_live_naive_mse', 'The same for the naive last-value forecast (MSE)');
    live('naiveRmse', 'informer_live_naive_rmse', 'The same for the naive last-value forecast (RMSE)');
    gauge('informer_live_skill', 'Rolling 1 - mse / naive mse over every step (> 0: better than persistence)', ['model_name'], (g) => {
      for (const m of models()) {
        const skill = m.snapshot()?.overall.skill;
        if (skill !== null && skill !== undefined) g.set({ model_name: m.name }, skill);
      }
    });
    gauge('informer_live_matched', 'Actual values matched with a served forecast, since the start', ['model_name'], (g) => {
      for (const m of models()) {
        const s = m.snapshot();
        if (s) g.set({ model_name: m.name }, s.matched);
      }
    });
    const drift = (key: 'psi' | 'ks', name: string, help: string) =>
      gauge(name, help, ['model_name', 'column'], (g) => {
        for (const m of models()) {
          for (const d of m.drift() ?? []) if (d[key] !== null) g.set({ model_name: m.name, column: d.column }, d[key] as number);
        }
      });
    drift(
      'psi',
      'informer_drift_psi',
      'Population stability index of served inputs against the training deciles (> 0.2: a significant shift)',
    );
    drift('ks', 'informer_drift_ks', 'Kolmogorov-Smirnov distance between served inputs and the training distribution');
    gauge(
      'informer_payload_events',
      'Payload log events written or delivered (sent) and dropped (queue full or sink failed)',
      ['outcome'],
      (g) => {
        const p = payloads();
        if (p) {
          g.set({ outcome: 'sent' }, p.sent);
          g.set({ outcome: 'dropped' }, p.dropped);
          g.set({ outcome: 'queued' }, p.queued);
        }
      },
    );
    gauge('informer_live_pending', 'Forecast steps waiting for their actual value', ['model_name'], (g) => {
      for (const m of models()) {
        const s = m.snapshot();
        if (s) g.set({ model_name: m.name }, s.pending);
      }
    });
  }

  /** Starts a timer for one phase of one request; call the result when the phase ends. */
  time(phase: Phase, model: string): () => void {
    let h = this.#histograms.get(model);
    if (h === undefined) {
      h = { preprocess: new Buckets(), predict: new Buckets(), postprocess: new Buckets() };
      this.#histograms.set(model, h);
    }
    const b = h[phase];
    const t0 = performance.now();
    return () => b.observe((performance.now() - t0) / 1000);
  }

  #model(model: string, version: string): ModelCounters {
    const key = `${model}\u0000${version}`;
    let c = this.#counters.get(key);
    if (c === undefined) {
      c = { model, version, success: 0, failure: 0, count: 0, execs: 0, queueUs: 0, computeUs: 0 };
      this.#counters.set(key, c);
    }
    return c;
  }

  request(model: string, version: string, ok: boolean): void {
    const c = this.#model(model, version);
    if (ok) c.success++;
    else c.failure++;
  }

  forwardCall(model: string, version: string, call: BatcherCall): void {
    const c = this.#model(model, version);
    c.execs++;
    c.count += call.rows;
    c.queueUs += call.queueUs;
    c.computeUs += call.computeUs;
  }

  // The latency histograms in the Prometheus text format (cumulative buckets, +Inf, sum, count).
  #histogramText(): string {
    const out: string[] = [];
    for (const phase of ['preprocess', 'predict', 'postprocess'] as const) {
      const name = `request_${phase}_seconds`;
      out.push(`# HELP ${name} ${PHASE_HELP[phase]}`, `# TYPE ${name} histogram`);
      for (const [model, h] of this.#histograms) {
        const b = h[phase];
        const label = `model_name="${escapeLabel(model)}"`;
        let cumulative = 0;
        BUCKETS.forEach((le, i) => {
          cumulative += b.counts[i]!;
          out.push(`${name}_bucket{le="${le}",${label}} ${cumulative}`);
        });
        out.push(`${name}_bucket{le="+Inf",${label}} ${b.count}`, `${name}_sum{${label}} ${b.sum}`, `${name}_count{${label}} ${b.count}`);
      }
    }
    return `${out.join('\n')}\n`;
  }

  #read(): ModelProbe[] {
    return this.#probe().map((m) => {
      const snapshot = m.snapshot();
      const drift = m.drift();
      const depth = m.queueDepth();
      return { name: m.name, version: m.version, queueDepth: () => depth, snapshot: () => snapshot, drift: () => drift };
    });
  }

  async text(): Promise<string> {
    this.#scrape = this.#read();
    try {
      return `${await this.registry.metrics()}\n${this.#histogramText()}`;
    } finally {
      this.#scrape = null;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
