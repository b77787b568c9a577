// The tracking server transport and spool against small HTTP servers written here: retries and
// backoff, auth headers, TLS settings, MLflow error bodies, batching within MLflow's limits, order
// of replay, refused operations, and unsupported artifact stores. (The real MLflow server is in
// tracking-server.test.js.)
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { ConfigError } from '../dist/errors.js';
import { TrackingServerError, TrackingUnreachableError } from '../dist/tracking/errors.js';
import { HttpClient, httpConfigFromEnv } from '../dist/tracking/remote/http.js';
import { Spool } from '../dist/tracking/remote/spool.js';
import { artifactLocation } from '../dist/tracking/remote/artifacts.js';
import { openStore } from '../dist/tracking/open.js';

const noSleep = async () => {};

function serve(t, handler, options) {
  const server = options ? https.createServer(options, handler) : http.createServer(handler);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      t.teardown(() => new Promise((r) => server.close(r)));
      server.closeAllConnections?.();
      resolve(`${options ? 'https' : 'http'}://127.0.0.1:${server.address().port}`);
    });
  });
}

// An HTTP server in a worker thread (handler: a function whose source runs there), for code under
// test that makes synchronous calls.
function serveInThread(t, handler) {
  const src = `
    const http = require('node:http');
    const { parentPort } = require('node:worker_threads');
    const handler = ${handler.toString()};
    const server = http.createServer((req, res) => { req.resume(); req.on('end', () => handler(req, res)); });
    server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
    parentPort.on('message', () => server.close(() => process.exit(0)));
  `;
  const worker = new Worker(src, { eval: true });
  t.teardown(() => worker.terminate());
  return new Promise((resolve) => worker.once('message', (port) => resolve(`http://127.0.0.1:${port}`)));
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

t.test('environment: MLflow variable names, defaults, and bad values named', async (t) => {
  const c = httpConfigFromEnv('http://mlflow.example:5000/prefix/', {});
  t.same(
    { base: c.baseUrl, retries: c.maxRetries, factor: c.backoffFactor, jitter: c.backoffJitter, timeout: c.timeoutS },
    { base: 'http://mlflow.example:5000/prefix', retries: 5, factor: 2, jitter: 1, timeout: 120 },
  );
  const env = {
    MLFLOW_TRACKING_TOKEN: 'tok',
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2',
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0',
    MLFLOW_HTTP_REQUEST_TIMEOUT: '7',
    MLFLOW_TRACKING_INSECURE_TLS: 'true',
  };
  const e = httpConfigFromEnv('https://x', env);
  t.same([e.token, e.maxRetries, e.backoffFactor, e.timeoutS, e.insecureTls], ['tok', 2, 0, 7, true]);
  t.throws(() => httpConfigFromEnv('http://x', { MLFLOW_HTTP_REQUEST_MAX_RETRIES: 'many' }), {
    name: 'ConfigError',
    message: /MLFLOW_HTTP_REQUEST_MAX_RETRIES/,
  });
  t.throws(() => httpConfigFromEnv('http://x', { MLFLOW_TRACKING_INSECURE_TLS: 'maybe' }), ConfigError);
  t.throws(() => httpConfigFromEnv('https://x', { MLFLOW_TRACKING_INSECURE_TLS: 'true', MLFLOW_TRACKING_SERVER_CERT_PATH: '/ca.pem' }), {
    message: /cannot both be set/,
  });
  t.throws(() => httpConfigFromEnv('not a url', {}), ConfigError);
});

t.test('retries 429 and 5xx with backoff, then succeeds; auth headers are sent', async (t) => {
  let calls = 0;
  const seen = [];
  const url = await serve(t, async (req, res) => {
    calls++;
    seen.push(req.headers.authorization);
    await readBody(req);
    if (calls === 1) return json(res, 503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy' });
    if (calls === 2) return json(res, 429, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' });
    json(res, 200, { experiment_id: '7' });
  });
  const waits = [];
  const client = new HttpClient(
    httpConfigFromEnv(url, { MLFLOW_TRACKING_TOKEN: 'secret', MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0' }),
    async (ms) => waits.push(ms),
  );
  t.teardown(() => client.close());
  const out = await client.request({ method: 'POST', endpoint: '/api/2.0/mlflow/experiments/create', json: { name: 'x' } });
  t.same(out, { experiment_id: '7' });
  t.equal(calls, 3);
  t.same(waits, [2000, 4000], 'backoff factor 2: 2 s, then 4 s');
  t.same(seen, ['Bearer secret', 'Bearer secret', 'Bearer secret']);

  const basic = new HttpClient(httpConfigFromEnv(url, { MLFLOW_TRACKING_USERNAME: 'ann', MLFLOW_TRACKING_PASSWORD: 'pw' }), noSleep);
  t.teardown(() => basic.close());
  await basic.request({ method: 'GET', endpoint: '/x' });
  t.equal(seen.at(-1), `Basic ${Buffer.from('ann:pw').toString('base64')}`);
});

t.test("MLflow's error bodies become TrackingServerError with error_code; 4xx is not retried", async (t) => {
  let calls = 0;
  const url = await serve(t, (_req, res) => {
    calls++;
    json(res, 400, { error_code: 'RESOURCE_ALREADY_EXISTS', message: "Experiment 'x' already exists." });
  });
  const client = new HttpClient(httpConfigFromEnv(url, {}), noSleep);
  t.teardown(() => client.close());
  const err = await client.request({ method: 'POST', endpoint: '/api/2.0/mlflow/experiments/create', json: {} }).catch((e) => e);
  t.type(err, TrackingServerError);
  t.equal(err.errorCode, 'RESOURCE_ALREADY_EXISTS');
  t.equal(err.status, 400);
  t.match(err.message, /already exists/);
  t.equal(calls, 1);
});

t.test('an unreachable server is TrackingUnreachableError after MLFLOW_HTTP_REQUEST_MAX_RETRIES retries', async (t) => {
  const url = await serve(t, () => {});
  const port = new URL(url).port;
  // a port nothing listens on: take one, then close it
  const closed = await new Promise((r) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  t.not(String(closed), port);
  let sleeps = 0;
  const client = new HttpClient(httpConfigFromEnv(`http://127.0.0.1:${closed}`, { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '3' }), async () => {
    sleeps++;
  });
  const err = await client.request({ method: 'GET', endpoint: '/health' }).catch((e) => e);
  t.type(err, TrackingUnreachableError);
  t.match(err.message, /unreachable.*4 attempts/);
  t.equal(sleeps, 3);
});

t.test('TLS: the server certificate is checked against MLFLOW_TRACKING_SERVER_CERT_PATH, or not at all when insecure', async (t) => {
  const dir = t.testdir();
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  } catch {
    return t.skip('openssl is not installed');
  }
  const url = await serve(t, (_req, res) => json(res, 200, { ok: true }), {
    key: readFileSync(join(dir, 'key.pem')),
    cert: readFileSync(join(dir, 'cert.pem')),
  });
  const plain = new HttpClient(httpConfigFromEnv(url, { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' }), noSleep);
  await t.rejects(plain.request({ method: 'GET', endpoint: '/' }), /self-signed|certificate/i, 'an unknown CA is refused');
  plain.close();
  const pinned = new HttpClient(httpConfigFromEnv(url, { MLFLOW_TRACKING_SERVER_CERT_PATH: join(dir, 'cert.pem') }), noSleep);
  t.same(await pinned.request({ method: 'GET', endpoint: '/' }), { ok: true });
  pinned.close();
  const insecure = new HttpClient(httpConfigFromEnv(url, { MLFLOW_TRACKING_INSECURE_TLS: 'true' }), noSleep);
  t.same(await insecure.request({ method: 'GET', endpoint: '/' }), { ok: true });
  insecure.close();
  t.throws(() => new HttpClient(httpConfigFromEnv(url, { MLFLOW_TRACKING_SERVER_CERT_PATH: join(dir, 'missing.pem') })), {
    name: 'ConfigError',
    message: /missing\.pem/,
  });
});

t.test('the spool replays in order, merges batches within MLflow limits, and sets refused operations aside', async (t) => {
  const requests = [];
  const url = await serve(t, async (req, res) => {
    const body = JSON.parse((await readBody(req)).toString() || '{}');
    requests.push({ path: req.url, body });
    if (req.url.endsWith('/runs/set-tag') || (req.url.endsWith('/runs/delete-tag') && body.key === 'missing')) {
      return json(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'no such tag' });
    }
    json(res, 200, {});
  });
  const dir = t.testdir();
  const spool = new Spool(join(dir, 'spool'));
  const header = () => ({ op: 'run', runId: 'r1', artifactUri: 'mlflow-artifacts:/1/r1/artifacts', artifactsDir: join(dir, 'artifacts') });
  for (let i = 0; i < 2500; i++)
    spool.append('r1', header, { op: 'batch', metrics: [{ key: 'loss', value: i, timestamp: 1000 + i, step: i }] });
  spool.append('r1', header, { op: 'batch', params: Array.from({ length: 150 }, (_, i) => ({ key: `p${i}`, value: String(i) })) });
  spool.append('r1', header, { op: 'batch', tags: [{ key: 'a', value: '1' }] }, { op: 'batch', tags: [{ key: 'a', value: '2' }] });
  spool.append('r1', header, { op: 'delete-tag', key: 'missing' });
  spool.append('r1', header, { op: 'update', status: 'FINISHED', end_time: 5000 });
  t.ok(spool.pendingBytes('r1') > 0);
  t.same(spool.pendingRuns(), ['r1']);
  const client = new HttpClient(httpConfigFromEnv(url, {}), noSleep);
  t.teardown(() => client.close());
  await spool.replay(client, 'r1');
  t.equal(spool.pendingBytes('r1'), 0);
  t.same(spool.pendingRuns(), []);
  t.notOk(existsSync(spool.journal('r1')), 'an ended run, fully sent, leaves no journal behind');
  const batches = requests.filter((r) => r.path.endsWith('/runs/log-batch')).map((r) => r.body);
  for (const b of batches) {
    t.ok(b.metrics.length <= 1000 && b.params.length <= 100 && b.tags.length <= 100, 'within MLflow limits');
    t.ok(b.metrics.length + b.params.length + b.tags.length <= 1000);
    t.equal(b.run_id, 'r1');
  }
  const steps = batches.flatMap((b) => b.metrics.map((m) => m.step));
  t.same(
    steps,
    Array.from({ length: 2500 }, (_, i) => i),
    'every point once, in order',
  );
  t.same(
    batches.flatMap((b) => b.params.map((p) => p.key)),
    Array.from({ length: 150 }, (_, i) => `p${i}`),
  );
  t.same(
    batches.flatMap((b) => b.tags),
    [{ key: 'a', value: '2' }],
    'a later set of a tag wins',
  );
  const last = requests.at(-1);
  t.equal(last.path, '/api/2.0/mlflow/runs/update', 'refused delete-tag did not stop the update after it');
  t.same(last.body, { run_id: 'r1', status: 'FINISHED', end_time: 5000 });
  const rejected = readFileSync(spool.rejectedFile('r1'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(rejected.length, 1);
  t.match(rejected[0], { error: /INVALID_PARAMETER_VALUE/, line: /delete-tag/ });
  requests.length = 0;
  await spool.replay(client, 'r1');
  t.equal(requests.length, 0, 'nothing is sent twice');
  const late = { key: 'late', value: 1, timestamp: 9, step: 0 };
  spool.append('r1', header, { op: 'batch', metrics: [late] });
  t.same(spool.pendingRuns(), ['r1'], 'logging again after the journal was removed starts a new one');
  await spool.replay(client, 'r1');
  t.same(requests.at(-1).body.metrics, [late]);
});

t.test('a replay stopped by an unreachable server resumes where it stopped', async (t) => {
  let up = false;
  const got = [];
  const url = await serve(t, async (req, res) => {
    const body = JSON.parse((await readBody(req)).toString() || '{}');
    if (!up) {
      req.socket.destroy();
      return;
    }
    got.push(...(body.metrics ?? []).map((m) => m.step));
    json(res, 200, {});
  });
  const dir = t.testdir();
  const spool = new Spool(join(dir, 'spool'));
  const header = () => ({ op: 'run', runId: 'r2', artifactUri: 'mlflow-artifacts:/1/r2/artifacts', artifactsDir: dir });
  for (let i = 0; i < 5; i++) spool.append('r2', header, { op: 'batch', metrics: [{ key: 'm', value: i, timestamp: i, step: i }] });
  const client = new HttpClient(httpConfigFromEnv(url, { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1' }), noSleep);
  t.teardown(() => client.close());
  await t.rejects(spool.replay(client, 'r2'), TrackingUnreachableError);
  t.ok(spool.pendingBytes('r2') > 0);
  up = true;
  for (let i = 5; i < 8; i++) spool.append('r2', header, { op: 'batch', metrics: [{ key: 'm', value: i, timestamp: i, step: i }] });
  await spool.replay(client, 'r2');
  t.same(got, [0, 1, 2, 3, 4, 5, 6, 7]);
});

t.test('artifact stores informer-node cannot reach are an ArtifactStoreError naming the URI', async (t) => {
  t.same(artifactLocation('mlflow-artifacts:/3/abc/artifacts/model'), { kind: 'proxy', path: '3/abc/artifacts/model' });
  t.same(artifactLocation('mlflow-artifacts://host:5000/3/abc/artifacts'), { kind: 'proxy', path: '3/abc/artifacts' });
  t.same(artifactLocation('https://h/api/2.0/mlflow-artifacts/artifacts/3/abc'), { kind: 'proxy', path: '3/abc' });
  for (const uri of ['s3://bucket/mlflow/3/abc/artifacts', 'gs://bucket/x', 'wasbs://c@a.blob.core.windows.net/x']) {
    t.throws(() => artifactLocation(uri), { name: 'ArtifactStoreError', message: new RegExp(uri.replace(/[/.]/g, '\\$&')) });
  }
  // a server whose runs store artifacts in S3: the run is refused before anything is logged. The
  // server runs in its own thread: the store's calls block this one until they are answered.
  const url = await serveInThread(t, (req, res) => {
    const json = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url.startsWith('/api/2.0/mlflow/experiments/get')) {
      return json(200, {
        experiment: { experiment_id: '0', name: 'Default', artifact_location: 's3://bucket/0', lifecycle_stage: 'active' },
      });
    }
    if (req.url.endsWith('/runs/create')) {
      return json(200, {
        run: {
          info: {
            run_id: 'abc',
            experiment_id: '0',
            status: 'RUNNING',
            artifact_uri: 's3://bucket/0/abc/artifacts',
            lifecycle_stage: 'active',
            start_time: 1,
          },
        },
      });
    }
    json(404, { error_code: 'ENDPOINT_NOT_FOUND', message: req.url });
  });
  const saved = process.env.INFORMER_TRACKING_CACHE;
  process.env.INFORMER_TRACKING_CACHE = t.testdir();
  t.teardown(() => {
    if (saved === undefined) delete process.env.INFORMER_TRACKING_CACHE;
    else process.env.INFORMER_TRACKING_CACHE = saved;
  });
  const store = openStore(url);
  t.teardown(() => store.remote.close());
  t.throws(() => store.createRun(), { name: 'ArtifactStoreError', message: /s3:\/\/bucket\/0\/abc\/artifacts/ });
});
