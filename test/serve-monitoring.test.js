// Monitoring a served model: the Monitor's rolling errors against sums done by hand, its bounded
// store, and over HTTP: forecasts from history, actuals matched with them, GET .../monitoring against
// errors recomputed here from the served forecasts, and GET /metrics (KServe histograms, Triton
// counters, queue depth, process metrics, live accuracy gauges) in the Prometheus text format.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { ForecastDataset, Informer, Monitor, ValueError, readTable } from '../dist/index.js';
import { Predictor, createServer } from '../dist/serve/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const forecast = (timestamps, values) => ({ dates: timestamps.map(String), timestamps, columns: ['y'], values: values.map((v) => [v]) });

t.test('Monitor: per-step and overall errors, naive, skill, as computed by hand', async (t) => {
  const m = new Monitor(2, ['y']);
  // Two forecasts made at t=0 (for 1, 2) and t=1 (for 2, 3); last observed values 10 and 11.
  m.recordForecast(forecast([1, 2], [11, 13]), [10]);
  m.recordForecast(forecast([2, 3], [12, 14]), [11]);
  t.same(m.recordActuals({ dates: [1, 2, 3, 4], values: { y: [12, 12, 15, 99] } }), { matched: 4, unmatched: 1 });
  const s = m.snapshot();
  // step 1: forecast(0)@1 err -1, naive -2; forecast(1)@2 err 0, naive -1.
  // step 2: forecast(0)@2 err 1, naive -2; forecast(1)@3 err -1, naive -4.
  t.same(s.steps[0], { step: 1, n: 2, mae: 0.5, mse: 0.5, rmse: Math.sqrt(0.5), naiveMae: 1.5, naiveMse: 2.5, naiveRmse: Math.sqrt(2.5) });
  t.same(s.steps[1], { step: 2, n: 2, mae: 1, mse: 1, rmse: 1, naiveMae: 3, naiveMse: 10, naiveRmse: Math.sqrt(10) });
  t.equal(s.overall.mse, 0.75);
  t.equal(s.overall.naiveMse, 6.25);
  t.equal(s.overall.skill, 1 - 0.75 / 6.25);
  t.equal(s.pending, 0);
  t.equal(s.matched, 4);
  t.equal(s.unmatched, 1);
});

t.test('Monitor: the rolling window and the forecast store stay bounded', async (t) => {
  const m = new Monitor(1, ['y'], { maxForecasts: 3, window: 2 });
  for (let i = 0; i < 5; i++) m.recordForecast(forecast([i], [i]), [0]);
  t.equal(m.snapshot().pending, 3, 'only the 3 newest forecasts wait');
  t.same(m.recordActuals({ dates: [0, 1, 2, 3, 4], values: { y: [1, 1, 1, 1, 1] } }), { matched: 3, unmatched: 2 });
  // Errors of forecasts 2, 3, 4: 1, 2, 3; the window keeps the last two (2 and 3).
  t.equal(m.snapshot().steps[0].mae, 2.5);
  t.equal(m.snapshot().steps[0].n, 2);
  t.throws(() => m.recordActuals({ dates: [5], values: { z: [1] } }), { name: 'ValueError', message: /no column "y"/ });
  t.throws(() => m.recordActuals({ dates: [5], values: { y: [null] } }), ValueError);
  t.throws(() => m.recordActuals({ dates: ['not a date'], values: { y: [1] } }), { message: /not a date/ });
  t.throws(() => new Monitor(0, ['y']), ValueError);
});

t.test('over HTTP: forecasts, actuals, /monitoring and /metrics', async (t) => {
  const table = await readTable(path.join(here, '..', 'data', 'alibaba_pod.csv'));
  const win = { seqLen: 12, labelLen: 12, predLen: 3 };
  const ds = ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', ...win });
  const model = new Informer({ ...ds.modelConfig(), dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32, seed: 5 });
  t.teardown(() => model.dispose());
  const server = await createServer({ models: { pod: new Predictor(model, ds), bare: { model } } });
  const base = await server.listen(0);
  t.teardown(() => server.close());
  const post = async (url, body) => {
    const r = await fetch(base + url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, json: await r.json() };
  };
  const rows = (from, to) => ({
    dates: Array.from(table.dates.subarray(from, to)),
    values: { cpu_utilization: Array.from(table.data.cpu_utilization.subarray(from, to)) },
  });

  // Forecasts from 5 consecutive origins; then the actual values of the rows that follow.
  const origins = [100, 101, 102, 103, 104];
  const served = [];
  for (const end of origins) {
    const r = await post('/v2/models/pod/forecast', rows(end - 12, end));
    t.equal(r.status, 200);
    served.push({ end, values: r.json.values.map((v) => v[0]), last: table.data.cpu_utilization[end - 1] });
  }
  const matched = await post('/v2/models/pod/actuals', rows(100, 108));
  t.equal(matched.status, 200);
  t.same(matched.json, { model_name: 'pod', model_version: '1', matched: 15, unmatched: 1 });

  // A second implementation of the errors, from the served forecasts and the table.
  const want = Array.from({ length: 3 }, () => ({ se: 0, ae: 0, nse: 0, n: 0 }));
  for (const f of served) {
    for (let h = 0; h < 3; h++) {
      const actual = table.data.cpu_utilization[f.end + h];
      want[h].se += (f.values[h] - actual) ** 2;
      want[h].ae += Math.abs(f.values[h] - actual);
      want[h].nse += (f.last - actual) ** 2;
      want[h].n++;
    }
  }
  const mon = await (await fetch(`${base}/v2/models/pod/monitoring`)).json();
  t.same(mon.columns, ['cpu_utilization']);
  t.equal(mon.pending, 0);
  for (let h = 0; h < 3; h++) {
    t.equal(mon.steps[h].n, 5);
    t.ok(Math.abs(mon.steps[h].mse - want[h].se / 5) < 1e-6, `step ${h + 1} mse`);
    t.ok(Math.abs(mon.steps[h].mae - want[h].ae / 5) < 1e-6, `step ${h + 1} mae`);
    t.ok(Math.abs(mon.steps[h].naiveMse - want[h].nse / 5) < 1e-9, `step ${h + 1} naive mse`);
  }
  const totalSe = want.reduce((a, w) => a + w.se, 0);
  const totalNse = want.reduce((a, w) => a + w.nse, 0);
  t.ok(Math.abs(mon.overall.skill - (1 - totalSe / totalNse)) < 1e-6, 'skill');

  const badCol = await post('/v2/models/pod/actuals', { dates: [1], values: { cpu: [1] } });
  t.equal(badCol.status, 400);
  t.match(badCol.json.error, /no column "cpu_utilization"/);
  const bare = await post('/v2/models/bare/actuals', rows(100, 101));
  t.equal(bare.status, 400);
  t.match(bare.json.error, /without preprocessing metadata/);
  const failed = await post('/v2/models/pod/forecast', { dates: [1], values: {} });
  t.equal(failed.status, 400);

  const res = await fetch(`${base}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const value = (re) => Number(text.match(re)?.[1]);
  t.equal(value(/^nv_inference_request_success\{model="pod",version="1"\} (\d+)$/m), 5);
  t.equal(value(/^nv_inference_request_failure\{model="pod",version="1"\} (\d+)$/m), 1);
  t.equal(value(/^nv_inference_count\{model="pod",version="1"\} (\d+)$/m), 5, 'five series forecast');
  t.ok(value(/^nv_inference_exec_count\{model="pod",version="1"\} (\d+)$/m) >= 1);
  t.ok(value(/^nv_inference_compute_infer_duration_us\{model="pod",version="1"\} ([\d.e+-]+)$/m) > 0);
  t.equal(value(/^request_predict_seconds_count\{model_name="pod"\} (\d+)$/m), 5);
  t.equal(value(/^request_preprocess_seconds_count\{model_name="pod"\} (\d+)$/m), 5);
  t.match(text, /^request_postprocess_seconds_bucket\{le="0\.001",model_name="pod"\} \d+$/m);
  t.equal(value(/^informer_batcher_queue_depth\{model_name="pod"\} (\d+)$/m), 0);
  t.ok(Math.abs(value(/^informer_live_mse\{model_name="pod",step="1"\} ([\d.e+-]+)$/m) - want[0].se / 5) < 1e-6, 'live mse gauge');
  t.ok(Math.abs(value(/^informer_live_skill\{model_name="pod"\} ([\d.e+-]+)$/m) - mon.overall.skill) < 1e-9, 'live skill gauge');
  t.equal(value(/^informer_live_matched\{model_name="pod"\} (\d+)$/m), 15);
  for (const name of [
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
    'process_cpu_seconds_total',
  ]) {
    t.match(text, new RegExp(`^${name}`, 'm'), `process metric ${name}`);
  }
});

t.test('metrics: false serves no /metrics', async (t) => {
  const table = await readTable(path.join(here, '..', 'data', 'alibaba_pod.csv'));
  const ds = ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 6, predLen: 3 });
  const model = new Informer({ ...ds.modelConfig(), dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32 });
  t.teardown(() => model.dispose());
  const server = await createServer({ models: { pod: new Predictor(model, ds) }, metrics: false, monitor: false });
  const base = await server.listen(0);
  t.teardown(() => server.close());
  t.equal((await fetch(`${base}/metrics`)).status, 404);
  t.equal((await fetch(`${base}/v2/models/pod/monitoring`)).status, 400);
  t.equal(server.monitor('pod'), null);
});

t.test('training profile, PSI and KS against values computed here', async (t) => {
  const { profileDataset, psi, ksDistance, preprocessingFromDataset } = await import('../dist/index.js');
  const table = await readTable(path.join(here, '..', 'data', 'alibaba_pod.csv'));
  const ds = ForecastDataset.fromTable(table, { features: 'M', target: 'cpu_utilization', seqLen: 12, labelLen: 6, predLen: 3 });
  const profile = profileDataset(ds);
  const [start, end] = ds.borders.train;
  for (const name of ds.columns) {
    const raw = Float64Array.from(table.data[name].subarray(start, end)).sort();
    const p = profile[name];
    t.ok(Math.abs(p.quantiles[0] - raw[0]) < 1e-5 && Math.abs(p.quantiles[100] - raw[raw.length - 1]) < 1e-5, `${name}: min and max`);
    const median = (raw[Math.floor((raw.length - 1) / 2)] + raw[Math.ceil((raw.length - 1) / 2)]) / 2;
    t.ok(Math.abs(p.quantiles[50] - median) < 1e-5, `${name}: median ${p.quantiles[50]} vs ${median}`);
    const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
    t.ok(Math.abs(p.mean - mean) < 1e-5, `${name}: mean`);
    t.ok(psi(p, raw) < 0.01, `${name}: the training rows do not drift from themselves (PSI ${psi(p, raw)})`);
    t.ok(ksDistance(p, raw) < 0.02, `${name}: KS ${ksDistance(p, raw)}`);
    const shifted = raw.map((v) => v + 3 * p.std);
    t.ok(psi(p, shifted) > 0.2, `${name}: a shift of 3 std is drift (PSI ${psi(p, shifted).toFixed(2)})`);
    t.ok(ksDistance(p, shifted) > 0.5, `${name}: KS ${ksDistance(p, shifted).toFixed(2)}`);
  }
  // Everything below the first decile: one bin holds all, nine are empty (1e-4 each).
  const p = profile.cpu_utilization;
  const low = new Array(50).fill(p.quantiles[0] - 1);
  const want = (1 - 0.1) * Math.log(1 / 0.1) + 9 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1);
  t.ok(Math.abs(psi(p, low) - want) < 1e-12, 'PSI of a one-bin sample, by hand');
  t.same(preprocessingFromDataset(ds).profile, profile, 'the profile travels with the preprocessing');
});

t.test('the server warns about drifting inputs and exposes PSI and KS', async (t) => {
  const table = await readTable(path.join(here, '..', 'data', 'alibaba_pod.csv'));
  const ds = ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 6, predLen: 3 });
  const model = new Informer({ ...ds.modelConfig(), dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32 });
  t.teardown(() => model.dispose());
  const warnings = [];
  const server = await createServer({ models: { pod: new Predictor(model, ds) }, drift: { warn: (m) => warnings.push(m), minValues: 50 } });
  const base = await server.listen(0);
  t.teardown(() => server.close());
  const col = table.data.cpu_utilization;
  const send = async (end, offset) =>
    (
      await fetch(`${base}/v2/models/pod/forecast`, {
        method: 'POST',
        body: JSON.stringify({
          dates: Array.from(table.dates.subarray(end - 12, end)),
          values: { cpu_utilization: Array.from(col.subarray(end - 12, end), (v) => v + offset) },
        }),
      })
    ).status;
  // Histories spread over the whole training period: no drift.
  const [, trainEnd] = ds.borders.train;
  const origin = (i, n) => 12 + Math.floor((i * (trainEnd - 13)) / n);
  for (let i = 0; i < 100; i++) t.equal(await send(origin(i, 100), 0), 200);
  let mon = await (await fetch(`${base}/v2/models/pod/monitoring`)).json();
  t.equal(mon.drift[0].column, 'cpu_utilization');
  t.ok(mon.drift[0].psi < 0.2, `no drift on training-period inputs (PSI ${mon.drift[0].psi.toFixed(3)})`);
  t.same(warnings, []);
  // The same histories shifted far up: drift, a warning, and the gauges.
  for (let i = 0; i < 200; i++) await send(origin(i, 200), 5);
  mon = await (await fetch(`${base}/v2/models/pod/monitoring`)).json();
  t.ok(mon.drift[0].psi > 0.2, `drift (PSI ${mon.drift[0].psi.toFixed(2)})`);
  t.equal(warnings.length, 1, 'one warning (at most one a minute per column)');
  t.match(warnings[0], /input drift in column "cpu_utilization": PSI \d+\.\d+ > 0\.2/);
  const text = await (await fetch(`${base}/metrics`)).text();
  const gauge = Number(text.match(/^informer_drift_psi\{model_name="pod",column="cpu_utilization"\} ([\d.e+-]+)$/m)?.[1]);
  t.ok(Math.abs(gauge - mon.drift[0].psi) < 1e-9, 'PSI gauge');
  t.match(text, /^informer_drift_ks\{model_name="pod",column="cpu_utilization"\} /m);
});

t.test('access log: one JSON line per request, with the request id echoed', async (t) => {
  const { PassThrough } = await import('node:stream');
  const table = await readTable(path.join(here, '..', 'data', 'alibaba_pod.csv'));
  const ds = ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 6, predLen: 3 });
  const model = new Informer({ ...ds.modelConfig(), dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32 });
  t.teardown(() => model.dispose());
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (d) => {
    text += d;
  });
  const server = await createServer({ models: { pod: new Predictor(model, ds) }, logLevel: 'info', logDestination: sink });
  const base = await server.listen(0);
  t.teardown(() => server.close());
  const body = JSON.stringify({
    dates: Array.from(table.dates.subarray(100, 112)),
    values: { cpu_utilization: Array.from(table.data.cpu_utilization.subarray(100, 112)) },
  });
  const ok = await fetch(`${base}/v2/models/pod/forecast`, { method: 'POST', body, headers: { 'x-request-id': 'abc-123' } });
  t.equal(ok.status, 200);
  t.equal(ok.headers.get('x-request-id'), 'abc-123');
  const missing = await fetch(`${base}/v2/models/nope/ready`);
  t.equal(missing.status, 404);
  t.match(missing.headers.get('x-request-id'), /^[0-9a-z]+-\d+$/, 'an id is made when the client sends none');
  await new Promise((r) => setTimeout(r, 50));
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(lines.length, 2);
  t.match(lines[0], {
    level: 30,
    msg: 'request',
    req_id: 'abc-123',
    method: 'POST',
    path: '/v2/models/pod/forecast',
    model: 'pod',
    status: 200,
  });
  t.ok(lines[0].latency_ms > 0 && typeof lines[0].time === 'string');
  t.match(lines[1], { status: 404, model: 'nope', req_id: missing.headers.get('x-request-id') });
  await t.rejects(createServer({ models: { pod: new Predictor(model, ds) }, logLevel: 'loud' }), {
    name: 'ConfigError',
    message: /log level must be one of/,
  });
});

t.test('payload log: CloudEvents to a JSON Lines file and to an HTTP sink; a full queue drops and counts', async (t) => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const http = await import('node:http');
  const { PayloadLogger } = await import('../dist/serve/index.js');
  const table = await readTable(path.join(here, '..', 'data', 'alibaba_pod.csv'));
  const ds = ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 6, predLen: 3 });
  const model = new Informer({ ...ds.modelConfig(), dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32 });
  t.teardown(() => model.dispose());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'informer-payload-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const history = {
    dates: Array.from(table.dates.subarray(100, 112)),
    values: { cpu_utilization: Array.from(table.data.cpu_utilization.subarray(100, 112)) },
  };

  // File target.
  const file = path.join(dir, 'payloads.jsonl');
  const server = await createServer({ models: { pod: new Predictor(model, ds) }, payloadLog: file });
  const base = await server.listen(0);
  const r = await fetch(`${base}/v2/models/pod/forecast`, {
    method: 'POST',
    body: JSON.stringify(history),
    headers: { 'x-request-id': 'req-1' },
  });
  const answer = await r.json();
  await fetch(`${base}/v2/models/pod/forecast`, {
    method: 'POST',
    body: JSON.stringify({ dates: [1], values: {} }),
    headers: { 'x-request-id': 'req-2' },
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const metricsText = await (await fetch(`${base}/metrics`)).text();
  t.match(metricsText, /^informer_payload_events\{outcome="sent"\} 4$/m, 'sent events counted');
  t.match(metricsText, /^informer_payload_events\{outcome="dropped"\} 0$/m, 'dropped events counted');
  await server.close();
  const events = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(events.length, 4);
  t.match(events[0], {
    specversion: '1.0',
    id: 'req-1',
    type: 'org.kubeflow.serving.inference.request',
    datacontenttype: 'application/json',
    inferenceservicename: 'pod',
    endpoint: '/v2/models/pod/forecast',
  });
  t.same(events[0].data, history, 'the request as sent');
  t.match(events[1], { id: 'req-1', type: 'org.kubeflow.serving.inference.response' });
  t.same(events[1].data, answer, 'the response as answered');
  t.match(events[3], { id: 'req-2', type: 'org.kubeflow.serving.inference.response', data: { error: /history/ } });

  // HTTP target: binary mode, ce-* headers.
  const received = [];
  const sink = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(body) });
      res.end();
    });
  });
  await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve));
  t.teardown(() => sink.close());
  const url = `http://127.0.0.1:${sink.address().port}/events`;
  const server2 = await createServer({ models: { pod: new Predictor(model, ds) }, payloadLog: url });
  const base2 = await server2.listen(0);
  await fetch(`${base2}/v2/models/pod/forecast`, { method: 'POST', body: JSON.stringify(history), headers: { 'x-request-id': 'req-9' } });
  await server2.close();
  t.equal(received.length, 2);
  t.match(received[0].headers, {
    'ce-specversion': '1.0',
    'ce-id': 'req-9',
    'ce-type': 'org.kubeflow.serving.inference.request',
    'ce-inferenceservicename': 'pod',
    'content-type': 'application/json',
  });
  t.same(received[0].body, history);
  t.equal(received[1].headers['ce-type'], 'org.kubeflow.serving.inference.response');

  // A full queue drops (never waits), and the drops are counted.
  const logger = new PayloadLogger({ target: 'http://127.0.0.1:9/unreachable', maxQueue: 2 });
  for (let i = 0; i < 5; i++) logger.log('request', `r${i}`, 'pod', '/x', { i });
  t.same(logger.stats, { sent: 0, dropped: 3, queued: 2 });
  await logger.close();
  t.same(logger.stats, { sent: 0, dropped: 5, queued: 0 }, 'an unreachable sink drops too');
});

t.test('the Grafana dashboard queries only metrics the server exports', async (t) => {
  const { grafanaDashboard } = await import('../dist/serve/index.js');
  const table = await readTable(path.join(here, '..', 'data', 'alibaba_pod.csv'));
  const ds = ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 6, predLen: 3 });
  const model = new Informer({ ...ds.modelConfig(), dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32 });
  t.teardown(() => model.dispose());
  const server = await createServer({ models: { pod: new Predictor(model, ds) } });
  const base = await server.listen(0);
  t.teardown(() => server.close());
  await fetch(`${base}/v2/models/pod/forecast`, {
    method: 'POST',
    body: JSON.stringify({
      dates: Array.from(table.dates.subarray(0, 12)),
      values: { cpu_utilization: Array.from(table.data.cpu_utilization.subarray(0, 12)) },
    }),
  });
  const exported = new Set([...(await (await fetch(`${base}/metrics`)).text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  const d = grafanaDashboard();
  t.ok(d.panels.length >= 8);
  const promql = new Set(['sum', 'by', 'rate', 'histogram_quantile', 'label_values', 'le', 'model', 'model_name', 'step', 'all', 'column']);
  for (const panel of d.panels) {
    for (const target of panel.targets) {
      const names = (target.expr.replace(/"[^"]*"/g, '').match(/[a-z][a-z0-9_]*/g) ?? []).filter((w) => w.includes('_') && !promql.has(w));
      t.ok(names.length > 0, `${panel.title}: queries a metric`);
      for (const n of names) t.ok(exported.has(n.replace(/_bucket$/, '')), `${panel.title}: ${n} is exported`);
    }
  }
  t.equal(d.templating.list[0].query, 'label_values(nv_inference_request_success, model)');
});
