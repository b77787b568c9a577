// Open Inference Protocol server under load: autocannon (in this process) against the server in a
// CHILD process on 127.0.0.1, serving the seed config (seq 12 / label 12 / pred 6, 1 channel, d_model 32,
// 4 heads, 1+1 layers, d_ff 128, freq 't') with the alibaba_pod preprocessing. Reports requests/s,
// latency percentiles, the server's event-loop delay (perf_hooks.monitorEventLoopDelay, read over IPC),
// and how many requests each native forward call served.
//
//   node bench/server.bench.mjs [--duration 10] [--connections 4,8,16,32,64] [--window 0]
//   node bench/server.bench.mjs --metrics-overhead [--duration 5] [--rounds 4]
//     the cost of the instrumentation: two servers, metrics and live accuracy on / off, loaded in
//     alternation (A B A B ...), median requests/s of each and their ratio
import { fork } from 'node:child_process';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { SEED as COMMON_SEED } from './common.mjs';

const SEED = { ...COMMON_SEED, freq: 't', seed: 1 };
const DATA = fileURLToPath(new URL('../data/alibaba_pod.csv', import.meta.url));

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

async function seedPredictor() {
  const { Informer, readTable, ForecastDataset } = await import('../dist/index.js');
  const { Predictor } = await import('../dist/serve/index.js');
  const table = await readTable(DATA);
  const ds = ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 12, predLen: 6 });
  return { predictor: new Predictor(new Informer(SEED), ds), table };
}

// ---------------------------------------------------------------------------------------------------
// Child: the server, plus an event-loop delay histogram the parent resets and reads between runs.
async function child() {
  const { createServer } = await import('../dist/serve/index.js');
  const { predictor } = await seedPredictor();
  // --no-metrics: no instrumentation at all; --off metrics,monitor,drift: some of it off (to find a cost).
  const off = process.argv.includes('--no-metrics') ? ['metrics', 'monitor', 'drift'] : (arg('off', '') || '').split(',');
  const server = await createServer({
    models: { seed: predictor },
    batchWindowMs: Number(arg('window', '0')),
    ...Object.fromEntries(off.filter(Boolean).map((k) => [k, false])),
    ...(arg('monitor-max', '') && !off.includes('monitor') ? { monitor: { maxForecasts: Number(arg('monitor-max', '')) } } : {}),
  });
  const port = new URL(await server.listen(0)).port;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let cpu = process.cpuUsage();
  let t0 = performance.now();
  let base = server.stats().seed;
  process.on('message', (m) => {
    if (m === 'reset') {
      h.reset();
      cpu = process.cpuUsage();
      t0 = performance.now();
      base = server.stats().seed;
      process.send({ ok: true });
    } else if (m === 'stats') {
      const s = server.stats().seed;
      const used = process.cpuUsage(cpu);
      process.send({
        loop: { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 },
        calls: s.calls - base.calls,
        requests: s.requests - base.requests,
        cpu: (used.user + used.system) / 1000 / (performance.now() - t0),
      });
    } else if (m === 'exit') {
      void server.close().then(() => process.exit(0));
    }
  });
  process.send({ port });
}

// ---------------------------------------------------------------------------------------------------
// Parent: the load generator.
function ask(proc, msg) {
  return new Promise((resolve) => {
    proc.once('message', resolve);
    proc.send(msg);
  });
}

async function parent() {
  const { default: autocannon } = await import('autocannon');
  const duration = Number(arg('duration', '10'));
  // Closed loop (each connection waits for its answer): latency ~ connections / throughput. autocannon's
  // overallRate is not used because it sends each second's quota in a burst, which measures queueing.
  const connections = arg('connections', '4,8,16,32,64').split(',').map(Number);
  const proc = fork(fileURLToPath(import.meta.url), ['--child', ...process.argv.slice(2)], { stdio: 'inherit' });
  const { port } = await new Promise((resolve) => proc.once('message', resolve));
  const base = `http://127.0.0.1:${port}`;

  // One real request: the last window of the bundled data.
  const { predictor, table } = await seedPredictor();
  const p = predictor.prepare(table);
  const tensor = (name, t) => ({ name, shape: t.shape, datatype: 'FP32', data: Array.from(t.data) });
  const inferBody = JSON.stringify({
    id: 'bench',
    inputs: [
      tensor('x_enc', p.batch.xEnc),
      tensor('x_mark_enc', p.batch.xMarkEnc),
      tensor('x_dec', p.batch.xDec),
      tensor('x_mark_dec', p.batch.xMarkDec),
    ],
  });
  const n = table.length;
  const forecastBody = JSON.stringify({
    dates: Array.from(table.dates.subarray(n - 12)),
    values: { cpu_utilization: Array.from(table.data.cpu_utilization.subarray(n - 12)) },
  });

  const run = async (label, path, body, opts) => {
    await ask(proc, 'reset');
    const r = await autocannon({
      url: base + path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duration,
      ...opts,
    });
    const s = await ask(proc, 'stats');
    return { label, r, s };
  };

  await run('warm-up', '/v2/models/seed/infer', inferBody, { connections: 16, duration: 2 });
  await ask(proc, 'reset');
  await new Promise((r) => setTimeout(r, 2000));
  const idle = await ask(proc, 'stats'); // the event-loop delay baseline without load
  const rows = [];
  for (const c of connections) rows.push(await run(`infer, ${c} connections`, '/v2/models/seed/infer', inferBody, { connections: c }));
  rows.push(await run('forecast (raw history), 16 connections', '/v2/models/seed/forecast', forecastBody, { connections: 16 }));
  proc.send('exit');

  const cpu = os.cpus();
  console.log(
    `\nServer benchmark: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ` +
      `autocannon ${duration} s per row, server in a child process on 127.0.0.1, batchWindowMs ${arg('window', '0')}; ` +
      `infer body ${inferBody.length} B, forecast body ${forecastBody.length} B\n`,
  );
  console.log(
    `Server event-loop delay at idle: p50 ${idle.loop.p50.toFixed(2)} / p99 ${idle.loop.p99.toFixed(2)} / max ${idle.loop.max.toFixed(2)} ms (monitorEventLoopDelay, 1 ms resolution).\n`,
  );
  console.log(
    '| load | req/s | p50 ms | p97.5 ms | p99 ms | max ms | non-2xx | server event-loop delay p50 / p99 / max ms | requests per native call | server CPU |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const { label, r, s } of rows) {
    const l = r.latency;
    const bad = r.non2xx + r.errors + r.timeouts;
    console.log(
      `| ${label} | ${Math.round(r.requests.average)} | ${l.p50} | ${l.p97_5} | ${l.p99} | ${l.max} | ${bad} | ` +
        `${s.loop.p50.toFixed(1)} / ${s.loop.p99.toFixed(1)} / ${s.loop.max.toFixed(1)} | ${(s.requests / Math.max(1, s.calls)).toFixed(2)} | ${(s.cpu * 100).toFixed(0)}% |`,
    );
  }
}

async function overhead() {
  const { default: autocannon } = await import('autocannon');
  const duration = Number(arg('duration', '5'));
  const rounds = Number(arg('rounds', '4'));
  const start = async (extra) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child', ...extra], { stdio: 'inherit' });
    const { port } = await new Promise((resolve) => proc.once('message', resolve));
    return { proc, base: `http://127.0.0.1:${port}` };
  };
  const onArgs = [
    ...(arg('on-off', '') ? ['--off', arg('on-off', '')] : []),
    ...(arg('monitor-max', '') ? ['--monitor-max', arg('monitor-max', '')] : []),
  ];
  const servers = { on: await start(onArgs), off: await start(['--no-metrics']) };
  const { predictor, table } = await seedPredictor();
  const n = table.length;
  const bodies = {
    infer: (() => {
      const p = predictor.prepare(table);
      const tensor = (name, t) => ({ name, shape: t.shape, datatype: 'FP32', data: Array.from(t.data) });
      return JSON.stringify({
        inputs: [
          tensor('x_enc', p.batch.xEnc),
          tensor('x_mark_enc', p.batch.xMarkEnc),
          tensor('x_dec', p.batch.xDec),
          tensor('x_mark_dec', p.batch.xMarkDec),
        ],
      });
    })(),
    forecast: JSON.stringify({
      dates: Array.from(table.dates.subarray(n - 12)),
      values: { cpu_utilization: Array.from(table.data.cpu_utilization.subarray(n - 12)) },
    }),
  };
  const load = (base, path, body, d) =>
    autocannon({ url: base + path, method: 'POST', headers: { 'content-type': 'application/json' }, body, duration: d, connections: 16 });
  for (const s of Object.values(servers)) await load(s.base, '/v2/models/seed/infer', bodies.infer, 2);
  const results = { infer: { on: [], off: [] }, forecast: { on: [], off: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const path of ['infer', 'forecast']) {
      for (const mode of r % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
        const res = await load(servers[mode].base, `/v2/models/seed/${path}`, bodies[path], duration);
        results[path][mode].push(res.requests.average);
        console.error(`${path} metrics ${mode}: ${Math.round(res.requests.average)} req/s`);
      }
    }
  }
  for (const s of Object.values(servers)) s.proc.send('exit');
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cpu = os.cpus();
  console.log(
    `\nInstrumentation cost: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ` +
      `two servers (child processes) loaded in alternation, 16 connections, ${duration} s per run, ${rounds} runs each; median req/s\n`,
  );
  console.log('| endpoint | metrics + live accuracy on | off | on / off |');
  console.log('|---|---|---|---|');
  for (const path of ['infer', 'forecast']) {
    const on = median(results[path].on);
    const off = median(results[path].off);
    console.log(`| ${path} | ${Math.round(on)} | ${Math.round(off)} | ${(on / off).toFixed(3)} |`);
  }
}

if (process.argv.includes('--child')) await child();
else if (process.argv.includes('--metrics-overhead')) await overhead();
else await parent();
