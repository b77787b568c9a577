// A real `informer serve` process under hostile traffic: malformed, oversized, absurdly shaped and
// slow requests, inputs the model cannot compute with, and many at once. Every client error is a 4xx
// with a message, slow clients are cut off, the health endpoints answer meanwhile, and the process
// keeps serving correct forecasts throughout.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { ForecastDataset, Informer, readTable } from '../../dist/index.js';
import { Predictor, createServer, savePredictorModel } from '../../dist/serve/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli', 'index.js');
const dir = t.testdir();

const table = await readTable(join(root, 'data', 'alibaba_pod.csv'));
const WIN = { seqLen: 12, labelLen: 12, predLen: 6 };
const data = ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', ...WIN });
const model = new Informer({ ...WIN, ...data.modelConfig(), dModel: 32, nHeads: 4, eLayers: 1, dLayers: 1, dFf: 128, seed: 5 });
t.teardown(() => model.dispose());
const file = join(dir, 'pod.safetensors');
savePredictorModel(model, data, file);

const proc = spawn(
  process.execPath,
  [cli, 'serve', `pod=${file}`, '--port', '0', '--request-timeout', '1500', '--headers-timeout', '1000'],
  {
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let stderr = '';
proc.stderr.on('data', (d) => (stderr += d));
t.teardown(() => proc.kill('SIGKILL'));
const base = await new Promise((resolve, reject) => {
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d;
    const m = /serving pod at (http:\/\/[^ ]+)/.exec(out);
    if (m) resolve(m[1]);
  });
  proc.on('exit', (code) => reject(new Error(`informer serve exited (${code}): ${stderr}`)));
});
const { hostname: host, port } = new URL(base);

async function post(path, body, headers = { 'content-type': 'application/json' }) {
  const res = await fetch(base + path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

// A valid infer request for `rows` windows of the data (test split); with `fill`, every x_enc and
// x_dec value is that number instead.
function inferBody(rows, fill) {
  const { batch } = data.split('test').batch(Array.from({ length: rows }, (_, i) => i * 7));
  const names = ['x_enc', 'x_mark_enc', 'x_dec', 'x_mark_dec'];
  const keys = ['xEnc', 'xMarkEnc', 'xDec', 'xMarkDec'];
  return {
    batch,
    body: {
      inputs: keys.map((k, i) => ({
        name: names[i],
        datatype: 'FP32',
        shape: batch[k].shape,
        data: Array.from(batch[k].data, (v) => (fill !== undefined && (k === 'xEnc' || k === 'xDec') ? fill : v)),
      })),
    },
  };
}

async function healthMs(t) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v2/health/live`);
  t.equal(res.status, 200);
  return performance.now() - t0;
}

t.test('client errors are 4xx with a message, never 500', async (t) => {
  const { body } = inferBody(1);
  const cases = [
    ['malformed JSON', '{"inputs": [', 400, /malformed JSON/],
    ['not an object', '[1, 2, 3]', 400, /JSON object/],
    [
      'a billion rows with 12 values',
      { inputs: body.inputs.map((i) => ({ ...i, shape: [1_000_000_000, ...i.shape.slice(1)] })) },
      400,
      /needs/,
    ],
    ['a negative batch', { inputs: body.inputs.map((i) => ({ ...i, shape: [-1, ...i.shape.slice(1)] })) }, 400, /non-negative/],
    ['a fractional dim', { inputs: body.inputs.map((i) => ({ ...i, shape: [1.5, ...i.shape.slice(1)] })) }, 400, /integers/],
    ['strings as data', { inputs: body.inputs.map((i) => ({ ...i, data: i.data.map(String) })) }, 400, /not a number/],
    [
      '1e39 overflows FP32',
      { inputs: body.inputs.map((i, k) => (k === 0 ? { ...i, data: i.data.map(() => 1e39) } : i)) },
      400,
      /FP32 range/,
    ],
    ['deep nesting', { inputs: body.inputs.map((i) => ({ ...i, data: [[[[[[[[i.data]]]]]]]] })) }, 400, /nested|depth/],
  ];
  for (const [name, req, status, message] of cases) {
    const r = await post('/v2/models/pod/infer', req);
    t.equal(r.status, status, `${name}: ${r.status}`);
    t.match(r.body.error, message, `${name}: ${r.body.error}`);
  }
  // A body declared over the 8 MiB limit is refused from its headers.
  const big = await rawRequest(
    `POST /v2/models/pod/infer HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${9 * 1024 * 1024}\r\n\r\n{"inputs": [`,
  );
  t.match(big, /^HTTP\/1\.1 413 /, 'a body over the limit');
  t.match(big, /larger than the limit/);
  t.equal((await post('/v2/models/nope/infer', body)).status, 404, 'unknown model');
});

t.test('inputs the model cannot compute with are a 400 naming the problem, never a null forecast', async (t) => {
  const r = await post('/v2/models/pod/infer', inferBody(2, 3.4e38).body);
  t.equal(r.status, 400);
  t.match(r.body.error, /forecast of batch \d is not finite.*x_enc 3\.4e\+38/);
  const history = {
    dates: Array.from({ length: 12 }, (_, i) => 1_700_000_000_000 + i * 60_000),
    values: { cpu_utilization: Array(12).fill(3.4e38) },
  };
  const f = await post('/v2/models/pod/forecast', history);
  t.equal(f.status, 400, `forecast endpoint: ${JSON.stringify(f.body).slice(0, 200)}`);
  t.notMatch(JSON.stringify(f.body), /null/, 'no nulls served');
});

// Sends `text` on a new connection and resolves to everything the server answered before closing.
function rawRequest(text) {
  const socket = connect(Number(port), host);
  let response = '';
  socket.on('data', (d) => {
    response += d;
    if (/\r\n\r\n/.test(response) && /Content-Length: (\d+)/i.test(response)) {
      const [head, body] = response.split('\r\n\r\n');
      if (Buffer.byteLength(body) >= Number(/Content-Length: (\d+)/i.exec(head)[1])) socket.end();
    }
  });
  socket.on('error', () => {});
  socket.write(text);
  return new Promise((resolve) => socket.on('close', () => resolve(response)));
}

function slowClient(contentLength) {
  // Headers at once, then one body byte every 100 ms (the one byte every 10 s, faster).
  const socket = connect(Number(port), host);
  let response = '';
  socket.on('data', (d) => (response += d));
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.on('close', () => resolve(response)));
  socket.write(
    `POST /v2/models/pod/infer HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`,
  );
  const timer = setInterval(() => socket.writable && socket.write('['), 100);
  closed.finally(() => clearInterval(timer));
  return { socket, closed };
}

t.test('slow bodies are cut off with 408 while health stays responsive', async (t) => {
  const t0 = performance.now();
  const clients = Array.from({ length: 40 }, () => slowClient(100_000));
  await new Promise((r) => setTimeout(r, 300));
  const healthy = [];
  for (let i = 0; i < 5; i++) healthy.push(await healthMs(t));
  t.ok(
    Math.max(...healthy) < 1000,
    `health answers while 40 slow clients are connected (${healthy.map((v) => v.toFixed(0)).join(', ')} ms)`,
  );
  const responses = await Promise.all(clients.map((c) => c.closed));
  const elapsed = performance.now() - t0;
  t.ok(elapsed < 6000, `all slow connections closed after ${elapsed.toFixed(0)} ms (request timeout 1.5 s, checked every second)`);
  t.ok(
    responses.every((r) => r === '' || /^HTTP\/1\.1 408/.test(r)),
    'each got 408 or was closed',
  );
  t.ok(
    responses.some((r) => /^HTTP\/1\.1 408/.test(r)),
    `with 408 Request Timeout ${JSON.stringify(responses.slice(0, 2))}`,
  );
});

t.test('slow headers are cut off too', async (t) => {
  const socket = connect(Number(port), host);
  socket.on('error', () => {});
  socket.write('POST /v2/models/pod/infer HTTP/1.1\r\n');
  const timer = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 100);
  const t0 = performance.now();
  await new Promise((resolve) => socket.on('close', resolve));
  clearInterval(timer);
  t.ok(performance.now() - t0 < 4000, 'closed within the headers timeout and one check interval');
});

t.test('many concurrent requests all get their own correct forecast', async (t) => {
  const reqs = Array.from({ length: 64 }, (_, i) => inferBody(1 + (i % 3)));
  const results = await Promise.all(reqs.map((r) => post('/v2/models/pod/infer', r.body)));
  for (let i = 0; i < reqs.length; i++) {
    t.equal(results[i].status, 200);
    const want = Array.from(model.forwardSync(reqs[i].batch).data);
    const got = results[i].body.outputs[0].data;
    if (got.some((v, j) => Math.abs(v - want[j]) > 1e-6)) t.fail(`request ${i}: forecast differs from the model's`);
  }
  t.equal(proc.exitCode, null, 'the server is still running');
  t.notMatch(stderr, /Error/, 'and logged no error');
});

t.test('one request the model cannot compute with does not fail the others batched with it', async (t) => {
  // In process, with a batch window, so the good and the bad request share one forward call.
  const server = await createServer({ models: { pod: new Predictor(model, data) }, batchWindowMs: 50 });
  const url = await server.listen(0);
  t.teardown(() => server.close());
  const send = (body) =>
    fetch(`${url}/v2/models/pod/infer`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    }));
  const good = inferBody(2);
  const [a, bad, b] = await Promise.all([send(good.body), send(inferBody(1, 3.4e38).body), send(good.body)]);
  t.equal(server.stats().pod.requests, 3);
  t.equal(server.stats().pod.calls, 4, 'one shared forward call failed, then each request ran alone');
  t.equal(bad.status, 400);
  t.equal(a.status, 200);
  t.equal(b.status, 200);
  t.same(
    a.body.outputs[0].data.map((v) => Math.fround(v)),
    Array.from(model.forwardSync(good.batch).data),
  );
});
