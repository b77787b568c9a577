// Open Inference Protocol v2 server over real HTTP on 127.0.0.1: every endpoint (plain and
// /versions/{v} forms), flat and nested tensors, several models, micro-batching of concurrent
// requests, the raw-history forecast endpoint, and every malformed request answered with a 4xx
// {"error"} while the server stays up.
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ForecastDataset, Informer, readTable } from '../dist/index.js';
import { Predictor, createServer, preprocessingFromDataset, savePredictorModel, serve } from '../dist/serve/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const table = await readTable(path.join(here, '..', 'data', 'alibaba_pod.csv'));
const WIN = { seqLen: 12, labelLen: 12, predLen: 6 };
const SEED = { ...WIN, dModel: 32, nHeads: 4, eLayers: 1, dLayers: 1, dFf: 128, freq: 't', seed: 3 };
const TARGET = 'cpu_utilization';

const dsS = ForecastDataset.fromTable(table, { features: 'S', target: TARGET, ...WIN });
const dsM = ForecastDataset.fromTable(table, { features: 'M', target: TARGET, ...WIN });
const seedModel = new Informer({ ...SEED, ...dsS.modelConfig() });
const multiModel = new Informer({ ...SEED, ...dsM.modelConfig() });
const bareModel = new Informer({ ...SEED, ...dsS.modelConfig(), seed: 11 });
t.teardown(() => [seedModel, multiModel, bareModel].forEach((m) => m.dispose()));
const seed = new Predictor(seedModel, dsS);

let releaseLate;
const late = new Promise((resolve) => (releaseLate = resolve));
const server = await createServer({
  models: {
    seed,
    multi: { model: multiModel, preprocessing: preprocessingFromDataset(dsM), version: '3' },
    bare: { model: bareModel },
    late,
  },
  maxBodyBytes: 256 * 1024,
});
const base = await server.listen(0);
t.teardown(() => server.close());
t.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);

async function call(method, url, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + url, init);
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, type: res.headers.get('content-type') };
}

const NAMES = ['x_enc', 'x_mark_enc', 'x_dec', 'x_mark_dec'];
const KEYS = ['xEnc', 'xMarkEnc', 'xDec', 'xMarkDec'];

/** An OIP request for the last `B` windows of the table (ending at different rows). */
function inferBody(predictor, B = 1, { nested = false } = {}) {
  const n = table.length;
  const batches = Array.from({ length: B }, (_, b) => {
    const end = n - 37 * b;
    const values = {};
    for (const c of table.columns) values[c] = table.data[c].subarray(0, end);
    return predictor.prepare({ dates: table.dates.subarray(0, end), values }).batch;
  });
  const inputs = NAMES.map((name, i) => {
    const shape = [B, ...batches[0][KEYS[i]].shape.slice(1)];
    const flat = batches.flatMap((bt) => Array.from(bt[KEYS[i]].data));
    return { name, shape, datatype: 'FP32', data: nested ? nest(flat, shape) : flat };
  });
  const batch = {};
  KEYS.forEach((k, i) => (batch[k] = { data: Float32Array.from(inputs[i].data.flat(3)), shape: inputs[i].shape }));
  return { body: { inputs }, batch };
}

function nest(flat, shape) {
  if (shape.length === 1) return flat;
  const step = flat.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => nest(flat.slice(i * step, (i + 1) * step), shape.slice(1)));
}

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

t.test('health and server metadata', async (t) => {
  t.same((await call('GET', '/v2/health/live')).json, { live: true });
  const notReady = await call('GET', '/v2/health/ready');
  t.equal(notReady.status, 503, 'not ready while a model is loading');
  t.match(notReady.json.error, /late/);
  for (const url of ['/v2', '/v2/']) {
    const r = await call('GET', url);
    t.equal(r.status, 200);
    t.match(r.json, { name: 'informer-node', version: String, extensions: [] });
  }
});

t.test('model metadata and readiness, with and without /versions/{v}', async (t) => {
  const want = {
    name: 'seed',
    versions: ['1'],
    platform: 'informer-node',
    inputs: [
      { name: 'x_enc', datatype: 'FP32', shape: [-1, 12, 1] },
      { name: 'x_mark_enc', datatype: 'FP32', shape: [-1, 12, 5] },
      { name: 'x_dec', datatype: 'FP32', shape: [-1, 18, 1] },
      { name: 'x_mark_dec', datatype: 'FP32', shape: [-1, 18, 5] },
    ],
    outputs: [{ name: 'forecast', datatype: 'FP32', shape: [-1, 6, 1] }],
  };
  t.same((await call('GET', '/v2/models/seed')).json, want);
  t.same((await call('GET', '/v2/models/seed/versions/1')).json, want);
  const multi = await call('GET', '/v2/models/multi/versions/3');
  t.equal(multi.status, 200);
  t.same(multi.json.inputs[0].shape, [-1, 12, 2]);
  t.same(multi.json.outputs[0].shape, [-1, 6, 2]);
  t.same((await call('GET', '/v2/models/seed/ready')).json, { name: 'seed', ready: true });
  t.same((await call('GET', '/v2/models/multi/versions/3/ready')).json, { name: 'multi', ready: true });
  const wrongVersion = await call('GET', '/v2/models/multi/versions/1');
  t.equal(wrongVersion.status, 404);
  t.match(wrongVersion.json.error, /no version "1" \(versions: 3\)/);
  const unknown = await call('GET', '/v2/models/nope/ready');
  t.equal(unknown.status, 404);
  t.match(unknown.json.error, /unknown model "nope"; this server has seed, multi, bare, late/);
  const lateReady = await call('GET', '/v2/models/late/ready');
  t.equal(lateReady.status, 503);
  t.match(lateReady.json.error, /not ready: still loading/);
  t.equal((await call('POST', '/v2/models/late/infer', inferBody(seed).body)).status, 503);
});

t.test('infer: flat and nested data, batch > 1, id and outputs, versions form', async (t) => {
  for (const [B, nested] of [
    [1, false],
    [1, true],
    [3, false],
    [2, true],
  ]) {
    const { body, batch } = inferBody(seed, B, { nested });
    const want = seedModel.forwardSync(batch).data;
    const r = await call('POST', '/v2/models/seed/infer', { id: `req-${B}`, ...body, outputs: [{ name: 'forecast' }] });
    t.equal(r.status, 200, `B=${B} nested=${nested}`);
    t.equal(r.json.model_name, 'seed');
    t.equal(r.json.model_version, '1');
    t.equal(r.json.id, `req-${B}`);
    t.equal(r.json.outputs.length, 1);
    const out = r.json.outputs[0];
    t.match(out, { name: 'forecast', datatype: 'FP32', shape: [B, 6, 1] });
    t.ok(maxAbsDiff(out.data, want) < 1e-6, `B=${B}: matches forwardSync`);
  }
  const partial = inferBody(seed, 1);
  partial.body.inputs[0].data = [partial.body.inputs[0].data]; // [1][12]: nested over the batch axis only
  const rp = await call('POST', '/v2/models/seed/infer', partial.body);
  t.equal(rp.status, 200, 'partly nested data (leading dims nested, inner rows flat) is accepted');
  t.ok(maxAbsDiff(rp.json.outputs[0].data, seedModel.forwardSync(partial.batch).data) < 1e-6);
  const { body, batch } = inferBody(multi(), 2);
  const r = await call('POST', '/v2/models/multi/versions/3/infer', body);
  t.equal(r.status, 200);
  t.same(r.json.outputs[0].shape, [2, 6, 2]);
  t.ok(maxAbsDiff(r.json.outputs[0].data, multiModel.forwardSync(batch).data) < 1e-6, 'second model');
  const bare = inferBody(seed, 1);
  const rb = await call('POST', '/v2/models/bare/infer', bare.body);
  t.ok(maxAbsDiff(rb.json.outputs[0].data, bareModel.forwardSync(bare.batch).data) < 1e-6, 'model without preprocessing');
  t.notOk('id' in rb.json, 'no id when none was sent');
});

let multiPredictor;
function multi() {
  multiPredictor ??= new Predictor(multiModel, dsM);
  return multiPredictor;
}

/** Sends a request built from a valid one by `edit`, expects `status` and an error matching `re`. */
async function expectError(t, edit, status, re, url = '/v2/models/seed/infer') {
  const { body } = inferBody(seed, 1);
  const sent = edit(body);
  const r = await call('POST', url, sent);
  t.equal(r.status, status, `status ${status}`);
  t.match(r.type, /application\/json/);
  t.same(Object.keys(r.json ?? {}), ['error'], `body is {"error"}: ${r.text.slice(0, 200)}`);
  t.match(r.json?.error, re);
}

t.test('malformed requests are 4xx {"error"} with clear messages', async (t) => {
  const input = (b, name) => b.inputs.find((i) => i.name === name);
  await expectError(t, () => '{"inputs": [', 400, /malformed JSON body/);
  await expectError(t, () => '', 400, /malformed JSON body/);
  await expectError(t, (b) => JSON.stringify(b).replace(/"data":\[/, '"data":[NaN,'), 400, /malformed JSON body/);
  await expectError(t, () => [], 400, /must be a JSON object with "inputs"/);
  await expectError(t, () => ({}), 400, /"inputs" must be an array of tensors \(x_enc, x_mark_enc, x_dec, x_mark_dec\)/);
  await expectError(t, (b) => ((input(b, 'x_enc').datatype = 'FP64'), b), 400, /input x_enc has datatype "FP64"; the model takes FP32/);
  await expectError(t, (b) => ((input(b, 'x_dec').datatype = 'INT32'), b), 400, /x_dec has datatype "INT32"/);
  await expectError(
    t,
    (b) => ((input(b, 'x_enc').shape = [1, 10, 1]), b),
    400,
    /x_enc has shape \[1, 10, 1\]; the model takes \[batch, 12, 1\] \(batch, seqLen, encIn\)/,
  );
  await expectError(t, (b) => ((input(b, 'x_mark_enc').shape = [1, 60]), b), 400, /x_mark_enc has shape \[1, 60\]/);
  await expectError(t, (b) => (input(b, 'x_enc').data.pop(), b), 400, /input x_enc has 11 values; shape \[1, 12, 1\] needs 12/);
  await expectError(
    t,
    (b) => ((input(b, 'x_enc').data = nest(input(b, 'x_enc').data, [3, 4])), b),
    400,
    /nested data has 3 entries at depth 0/,
  );
  await expectError(
    t,
    (b) => ((input(b, 'x_enc').data[3] = null), b),
    400,
    /x_enc: element 3 is null, not a number \(NaN and Infinity are not JSON numbers/,
  );
  await expectError(t, (b) => ((input(b, 'x_enc').data[4] = '0.5'), b), 400, /element 4 is "0.5", not a number/);
  await expectError(t, (b) => ((input(b, 'x_dec').data[0] = 1e39), b), 400, /x_dec: element 0 \(1e\+39\) is outside the FP32 range/);
  await expectError(t, (b) => ((b.inputs = b.inputs.filter((i) => i.name !== 'x_mark_dec')), b), 400, /missing input x_mark_dec/);
  await expectError(t, (b) => (b.inputs.push({ ...b.inputs[0], name: 'x_extra' }), b), 400, /unknown input "x_extra"/);
  await expectError(t, (b) => (b.inputs.push(b.inputs[0]), b), 400, /input "x_enc" is given twice/);
  await expectError(
    t,
    (b) => {
      const two = inferBody(seed, 2).body;
      b.inputs[2] = two.inputs[2];
      return b;
    },
    400,
    /different batch sizes: x_enc has 1, x_dec has 2/,
  );
  await expectError(
    t,
    (b) => ((input(b, 'x_enc').shape = [0, 12, 1]), (input(b, 'x_enc').data = []), b),
    400,
    /batch size must be at least 1|different batch sizes/,
  );
  await expectError(t, (b) => ((b.id = 42), b), 400, /"id" must be a string/);
  await expectError(t, (b) => ((b.outputs = [{ name: 'nope' }]), b), 400, /unknown output "nope"; the model has "forecast"/);
  await expectError(t, (b) => b, 404, /unknown model "ghost"/, '/v2/models/ghost/infer');
  await expectError(t, (b) => b, 404, /no version "9"/, '/v2/models/seed/versions/9/infer');
  await expectError(t, (b) => b, 404, /no route POST \/v2\/modelz\/seed\/infer/, '/v2/modelz/seed/infer');
  t.equal((await call('GET', '/v2/health/live')).status, 200, 'still alive');
});

t.test('oversized bodies get 413 {"error"} (declared and streamed)', async (t) => {
  const big = JSON.stringify({ inputs: [{ name: 'x_enc', shape: [1], datatype: 'FP32', data: new Array(100_000).fill(0.123456) }] });
  t.ok(big.length > 256 * 1024);
  const r = await call('POST', '/v2/models/seed/infer', big);
  t.equal(r.status, 413);
  t.match(r.json, { error: /larger than the limit of 262144 bytes/ });
  // Chunked upload without a content-length: the limit applies while streaming.
  const streamed = await new Promise((resolve, reject) => {
    const u = new URL(`${base}/v2/models/seed/infer`);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('error', reject);
    for (let i = 0; i < 8; i++) req.write(big.slice(i * 50_000, (i + 1) * 50_000));
    req.end();
  });
  t.equal(streamed.status, 413);
  t.match(JSON.parse(streamed.text), { error: /larger than the limit/ });
  t.equal((await call('GET', '/v2/health/live')).status, 200, 'still alive');
});

t.test('concurrent requests share native forward calls', async (t) => {
  const N = 24;
  const reqs = Array.from({ length: N }, (_, k) => inferBody(seed, 1 + (k % 2)));
  const round = async () => {
    const before = server.stats().seed;
    const res = await Promise.all(reqs.map((r, k) => call('POST', '/v2/models/seed/infer', { id: String(k), ...r.body })));
    res.forEach((r, k) => {
      t.equal(r.status, 200);
      t.equal(r.json.id, String(k));
      const want = seedModel.forwardSync(reqs[k].batch).data;
      if (maxAbsDiff(r.json.outputs[0].data, want) >= 1e-6) t.fail(`request ${k} got another request's rows`);
    });
    const after = server.stats().seed;
    t.equal(after.requests - before.requests, N);
    return after.calls - before.calls;
  };
  // The first round opens the client's keep-alive connections; on open connections the requests
  // reach the server together, so they must share calls (a few rounds absorb scheduler noise).
  const calls = [await round()];
  for (let k = 0; k < 3 && calls.at(-1) >= N; k++) calls.push(await round());
  t.ok(calls.at(-1) < N, `${N} requests in ${calls.join(' / ')} native calls`);
  t.ok(server.stats().seed.largestBatch > 1);
});

t.test('a batch window gathers requests sent over time into one call', async (t) => {
  const s = await createServer({ models: { seed }, batchWindowMs: 50, maxBatch: 8 });
  const url = await s.listen(0);
  t.teardown(() => s.close());
  const { body } = inferBody(seed, 1);
  const send = () =>
    fetch(`${url}/v2/models/seed/infer`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    }).then((r) => r.status);
  const statuses = await Promise.all([
    send(),
    new Promise((r) => setTimeout(r, 10)).then(send),
    new Promise((r) => setTimeout(r, 20)).then(send),
  ]);
  t.same(statuses, [200, 200, 200]);
  t.equal(s.stats().seed.calls, 1, 'three requests, one call');
  const many = await Promise.all(Array.from({ length: 12 }, send));
  t.ok(many.every((st) => st === 200));
  t.ok(s.stats().seed.largestBatch <= 8, 'maxBatch caps a call');
});

t.test('forecast endpoint: raw history in, dated forecast out', async (t) => {
  const n = table.length;
  const history = {
    dates: Array.from(table.dates.subarray(n - 20), (ms) => new Date(ms).toISOString()),
    values: {
      [TARGET]: Array.from(table.data[TARGET].subarray(n - 20)),
      memory_utilization: Array.from(table.data.memory_utilization.subarray(n - 20)),
    },
  };
  const r = await call('POST', '/v2/models/seed/forecast', history);
  t.equal(r.status, 200);
  const want = await seed.predict(history);
  t.same(r.json, { model_name: 'seed', model_version: '1', ...want });
  t.equal(r.json.dates[0], '1970-01-14 00:00:00');
  const m = await call('POST', '/v2/models/multi/versions/3/forecast', history);
  t.equal(m.status, 200);
  t.same(m.json.columns, ['memory_utilization', TARGET]);
  t.equal(m.json.values[0].length, 2);

  const short = await call('POST', '/v2/models/seed/forecast', {
    dates: history.dates.slice(0, 5),
    values: { [TARGET]: history.values[TARGET].slice(0, 5) },
  });
  t.equal(short.status, 400);
  t.match(short.json.error, /5 row\(s\); the model needs at least seqLen = 12/);
  const missing = await call('POST', '/v2/models/multi/versions/3/forecast', {
    dates: history.dates,
    values: { [TARGET]: history.values[TARGET] },
  });
  t.equal(missing.status, 400);
  t.match(missing.json.error, /no column "memory_utilization"/);
  const nan = { ...history, values: { [TARGET]: history.values[TARGET].map((v, i) => (i === 19 ? null : v)) } };
  const rn = await call('POST', '/v2/models/seed/forecast', nan);
  t.equal(rn.status, 400);
  t.match(rn.json.error, /at row 19 .* is null/);
  const bare = await call('POST', '/v2/models/bare/forecast', history);
  t.equal(bare.status, 400);
  t.match(bare.json.error, /without preprocessing metadata/);
  t.equal((await call('POST', '/v2/models/seed/forecast', '"text"')).status, 400);
});

t.test('a model that finishes loading becomes ready; one that fails stays 503 with the reason', async (t) => {
  releaseLate({ model: bareModel, version: '2' });
  await new Promise((r) => setImmediate(r));
  t.equal((await call('GET', '/v2/health/ready')).status, 200);
  t.same((await call('GET', '/v2/models/late/versions/2/ready')).json, { name: 'late', ready: true });
  const s = await createServer({ models: { broken: Promise.reject(new Error('disk on fire')) } });
  const url = await s.listen(0);
  t.teardown(() => s.close());
  const r = await fetch(`${url}/v2/models/broken`);
  t.equal(r.status, 503);
  t.match(await r.json(), { error: /loading failed: disk on fire/ });
  t.equal((await fetch(`${url}/v2/health/ready`)).status, 503);
});

t.test('createServer rejects bad options', async (t) => {
  await t.rejects(createServer({ models: {} }), { name: 'ConfigError' });
  await t.rejects(createServer({ models: { 'a/b': seed } }), { name: 'ConfigError', message: /URL path segment/ });
  await t.rejects(createServer({ models: { a: seed }, maxBodyBytes: -1 }), { name: 'ConfigError' });
  await t.rejects(createServer({ models: { a: seed }, maxBatch: 0 }), { name: 'ConfigError', message: /maxBatch/ });
  await t.rejects(createServer({ models: { a: seed }, batchWindowMs: -1 }), { name: 'ConfigError', message: /batchWindowMs/ });
});

t.test('serve(): model files in, URL printed, Predictor and bare models', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'informer-serve-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const withPrep = path.join(dir, 'pod.safetensors');
  const plain = path.join(dir, 'plain.safetensors');
  savePredictorModel(seedModel, dsS, withPrep);
  bareModel.save(plain);
  const lines = [];
  const s = await serve([withPrep, plain], { port: 0, log: (l) => lines.push(l) });
  t.teardown(() => s.close());
  t.match(lines.at(-1), /serving pod, plain at http:\/\/127\.0\.0\.1:\d+/);
  const n = table.length;
  const history = {
    dates: Array.from(table.dates.subarray(n - 12)),
    values: { [TARGET]: Array.from(table.data[TARGET].subarray(n - 12)) },
  };
  const r = await fetch(`${s.url}/v2/models/pod/forecast`, { method: 'POST', body: JSON.stringify(history) });
  t.equal(r.status, 200);
  t.same((await r.json()).values, (await seed.predict(history)).values);
  t.equal((await fetch(`${s.url}/v2/models/plain`)).status, 200);
  await t.rejects(serve([withPrep, withPrep], { port: 0, log: () => {} }), { name: 'ConfigError', message: /two models are named "pod"/ });
});
