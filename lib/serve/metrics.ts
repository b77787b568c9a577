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

/** The metrics of one server. */
export class ServerMetrics {
  readonly registry: PromClient.Registry;
  readonly #phase: Record<Phase, PromClient.Histogram<'model_name'>>;
  readonly #success: PromClient.Counter<'model' | 'version'>;
  readonly #failure: PromClient.Counter<'model' | 'version'>;
  readonly #count: PromClient.Counter<'model' | 'version'>;
  readonly #execs: PromClient.Counter<'model' | 'version'>;
  readonly #queueUs: PromClient.Counter<'model' | 'version'>;
  readonly #computeUs: PromClient.Counter<'model' | 'version'>;

  constructor(models: () => ModelProbe[], payloads: () => PayloadLogStats | null = () => null) {
    const prom = requireLazily<typeof PromClient>('prom-client', 'the /metrics endpoint');
    const registry = new prom.Registry();
    this.registry = registry;
    prom.collectDefaultMetrics({ register: registry });
    // KServe's latency buckets (seconds): 5 ms to 10 s would hide microsecond models, so start lower.
    const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    const histogram = (phase: Phase, help: string) =>
      new prom.Histogram({ name: `request_${phase}_seconds`, help, labelNames: ['model_name'], buckets, registers: [registry] });
    this.#phase = {
      preprocess: histogram('preprocess', 'Time to parse and check a request (and, for /forecast, to scale and window its history)'),
      predict: histogram('predict', 'Time from handing a request to the batcher to its forecast (queue and forward call)'),
      postprocess: histogram('postprocess', 'Time to turn a forecast into the response body'),
    };
    const counter = (name: string, help: string) =>
      new prom.Counter({ name, help, labelNames: ['model', 'version'], registers: [registry] });
    this.#success = counter('nv_inference_request_success', 'Inference requests (/infer and /forecast) answered with 200');
    this.#failure = counter('nv_inference_request_failure', 'Inference requests answered with an error');
    this.#count = counter('nv_inference_count', 'Series forecast (batch rows); batch size = nv_inference_count / nv_inference_exec_count');
    this.#execs = counter('nv_inference_exec_count', 'Forward calls of the model (requests are batched into them)');
    this.#queueUs = counter('nv_inference_queue_duration_us', 'Microseconds requests waited in the batcher queue, summed');
    this.#computeUs = counter('nv_inference_compute_infer_duration_us', 'Microseconds of forward calls, summed');

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
    return this.#phase[phase].startTimer({ model_name: model });
  }

  request(model: string, version: string, ok: boolean): void {
    (ok ? this.#success : this.#failure).inc({ model, version });
  }

  forwardCall(model: string, version: string, call: BatcherCall): void {
    const labels = { model, version };
    this.#execs.inc(labels);
    this.#count.inc(labels, call.rows);
    this.#queueUs.inc(labels, call.queueUs);
    this.#computeUs.inc(labels, call.computeUs);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
