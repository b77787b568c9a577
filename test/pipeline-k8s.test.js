// deploy.target kubernetes against a fake Kubernetes API server (node:http, in this test) that
// implements the endpoints the client uses — get, create and merge-patch of
// serving.kserve.io/v1beta1 inferenceservices — checks every request body against the KServe CRD
// schema (../shared/schemas/kserve-inferenceservices-v1beta1.openapi.json) and moves the service to
// Ready after a few reads. Also: the cluster's refusals and failures arrive with its reason.
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import t from 'tap';

import { applyInferenceService } from '../dist/pipeline/kubernetes.js';
import { runPipeline } from '../dist/pipeline/runner.js';
import { readPipeline } from '../dist/pipeline/spec.js';
import { RunStore } from '../dist/tracking/store.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA = join(root, '..', 'shared', 'schemas', 'kserve-inferenceservices-v1beta1.openapi.json');
const haveSchema = existsSync(SCHEMA);

function tmp(t) {
  const dir = mkdtempSync(join(tmpdir(), 'informer-k8s-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The fake API server. `mode`: ok | forbidden | failing | never. */
async function fakeCluster(t, mode = 'ok', readsUntilReady = 2) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('int32', { type: 'number', validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isInteger(n) });
  ajv.addFormat('date-time', true);
  const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
  const objects = new Map();
  const requests = [];
  const problems = [];
  const base = '/apis/serving.kserve.io/v1beta1/namespaces/';
  const status = (res, code, reason, message) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code }));
  };
  const checkBody = (body, ns, name) => {
    if (!validate(body)) problems.push(`schema: ${ajv.errorsText(validate.errors)}`);
    if (body.apiVersion !== 'serving.kserve.io/v1beta1' || body.kind !== 'InferenceService')
      problems.push(`apiVersion/kind ${body.apiVersion} ${body.kind}`);
    if (body.metadata?.namespace !== ns) problems.push(`namespace ${body.metadata?.namespace} != ${ns}`);
    if (name !== undefined && body.metadata?.name !== name) problems.push(`name ${body.metadata?.name} != ${name}`);
  };
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      requests.push({
        method: req.method,
        url: req.url,
        contentType: req.headers['content-type'],
        auth: req.headers.authorization,
        body: text ? JSON.parse(text) : null,
      });
      const m = /^\/apis\/serving\.kserve\.io\/v1beta1\/namespaces\/([^/]+)\/inferenceservices(?:\/([^/?]+))?(?:\?.*)?$/.exec(req.url);
      if (m === null || !req.url.startsWith(base)) {
        problems.push(`unexpected ${req.method} ${req.url}`);
        return status(res, 404, 'NotFound', `the server could not find the requested resource`);
      }
      const [, ns, name] = m;
      const key = `${ns}/${name}`;
      if (mode === 'forbidden' && req.method !== 'GET')
        return status(
          res,
          403,
          'Forbidden',
          `inferenceservices.serving.kserve.io is forbidden: User "system:serviceaccount:kubeflow:pipeline-runner" cannot create resource "inferenceservices" in API group "serving.kserve.io" in the namespace "${ns}"`,
        );
      if (req.method === 'GET' && name) {
        const o = objects.get(key);
        if (!o) return status(res, 404, 'NotFound', `inferenceservices.serving.kserve.io "${name}" not found`);
        o.reads++;
        const ready = mode === 'ok' && o.reads > readsUntilReady;
        o.obj.status = {
          observedGeneration: ready ? o.obj.metadata.generation : o.obj.metadata.generation - 1,
          conditions: [
            ready
              ? { type: 'Ready', status: 'True' }
              : {
                  type: 'Ready',
                  status: 'False',
                  reason: 'PredictorConfigurationReady',
                  message: 'Revision "x-predictor-00001" is not ready',
                },
          ],
          ...(ready ? { url: `http://${name}.${ns}.example.com` } : {}),
          ...(mode === 'failing' && o.reads > 1
            ? {
                modelStatus: {
                  states: { targetModelState: 'FailedToLoad' },
                  lastFailureInfo: { reason: 'ModelLoadFailed', message: 'storage s3://models/wave: access denied' },
                },
              }
            : {}),
        };
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(o.obj));
      }
      const body = JSON.parse(text);
      if (req.method === 'POST' && !name) {
        checkBody(body, ns);
        const k = `${ns}/${body.metadata.name}`;
        if (objects.has(k)) return status(res, 409, 'AlreadyExists', 'exists');
        const obj = { ...body, metadata: { ...body.metadata, generation: 1, uid: 'u-1' } };
        objects.set(k, { obj, reads: 0 });
        res.writeHead(201, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(obj));
      }
      if (req.method === 'PATCH' && name) {
        if (req.headers['content-type'] !== 'application/merge-patch+json')
          problems.push(`PATCH content-type ${req.headers['content-type']}`);
        checkBody(body, ns, name);
        const o = objects.get(key);
        if (!o) return status(res, 404, 'NotFound', 'not found');
        o.obj = { ...o.obj, ...body, metadata: { ...o.obj.metadata, ...body.metadata, generation: o.obj.metadata.generation + 1 } };
        o.reads = 0;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(o.obj));
      }
      problems.push(`unexpected ${req.method} ${req.url}`);
      status(res, 405, 'MethodNotAllowed', 'no');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  const dir = tmp(t);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${server.address().port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'me', user: { token: 'secret-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'me', namespace: 'models' } }],
      'current-context': 'fake',
    }),
  );
  return { kubeconfig, objects, requests, problems };
}

const MANIFEST = {
  apiVersion: 'serving.kserve.io/v1beta1',
  kind: 'InferenceService',
  metadata: { name: 'wave' },
  spec: {
    predictor: {
      model: { modelFormat: { name: 'onnx' }, protocolVersion: 'v2', storageUri: 's3://models/wave', runtime: 'kserve-tritonserver' },
    },
  },
};

t.test('create, wait for Ready, then patch an existing service', { skip: !haveSchema && 'no ../shared/schemas' }, async (t) => {
  const c = await fakeCluster(t);
  const lines = [];
  const a = await applyInferenceService(MANIFEST, { kubeconfig: c.kubeconfig, timeoutSeconds: 10, pollMs: 20, log: (l) => lines.push(l) });
  t.same({ ...a, seconds: 0 }, { name: 'wave', namespace: 'models', url: 'http://wave.models.example.com', created: true, seconds: 0 });
  t.same(
    c.requests.map((r) => r.method),
    ['GET', 'POST', 'GET', 'GET', 'GET'],
  );
  t.equal(c.requests[1].auth, 'Bearer secret-token');
  t.equal(c.requests[1].body.metadata.namespace, 'models', "the context's namespace");
  const b = await applyInferenceService(
    { ...MANIFEST, metadata: { name: 'wave', namespace: 'prod' } },
    { kubeconfig: c.kubeconfig, namespace: 'models', timeoutSeconds: 10, pollMs: 20 },
  );
  t.equal(b.created, false);
  const patch = c.requests.find((r) => r.method === 'PATCH');
  t.equal(patch.contentType, 'application/merge-patch+json');
  t.equal(patch.body.metadata.namespace, 'models', 'the namespace option wins');
  t.equal(c.objects.get('models/wave').obj.metadata.generation, 2);
  t.same(c.problems, [], 'every request was one the fake server knows, with a body the CRD schema accepts');
  t.ok(lines.some((l) => /created serving\.kserve\.io\/v1beta1 InferenceService models\/wave/.test(l)));
});

t.test("the cluster's reasons reach the error", { skip: !haveSchema && 'no ../shared/schemas' }, async (t) => {
  const forbidden = await fakeCluster(t, 'forbidden');
  await t.rejects(applyInferenceService(MANIFEST, { kubeconfig: forbidden.kubeconfig, timeoutSeconds: 5, pollMs: 20 }), {
    name: 'DeployError',
    message:
      /the cluster refused serving\.kserve\.io\/v1beta1 InferenceService models\/wave on http:\/\/127\.0\.0\.1:\d+: 403 Forbidden: .*cannot create resource "inferenceservices"/,
  });
  const failing = await fakeCluster(t, 'failing');
  await t.rejects(applyInferenceService(MANIFEST, { kubeconfig: failing.kubeconfig, timeoutSeconds: 5, pollMs: 20 }), {
    name: 'DeployError',
    message: /models\/wave .* failed: ModelLoadFailed: storage s3:\/\/models\/wave: access denied/,
  });
  const never = await fakeCluster(t, 'never');
  await t.rejects(applyInferenceService(MANIFEST, { kubeconfig: never.kubeconfig, timeoutSeconds: 0.3, pollMs: 50 }), {
    name: 'DeployError',
    message: /was not Ready within 0\.3s \(Ready is False: PredictorConfigurationReady: Revision "x-predictor-00001" is not ready\)/,
  });
  const dir = tmp(t);
  writeFileSync(join(dir, 'bad'), 'not: [a kubeconfig');
  await t.rejects(applyInferenceService(MANIFEST, { kubeconfig: join(dir, 'bad'), timeoutSeconds: 1 }), {
    name: 'DeployError',
    message: /cannot load the Kubernetes configuration from/,
  });
});

t.test('a pipeline deploys its champion to the cluster and reports the URL', { skip: !haveSchema && 'no ../shared/schemas' }, async (t) => {
  const c = await fakeCluster(t);
  const dir = tmp(t);
  const lines = ['date,load'];
  for (let i = 0; i < 360; i++)
    lines.push(`${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString()},${(10 + 3 * Math.sin(i / 9.5)).toFixed(4)}`);
  writeFileSync(join(dir, 'wave.csv'), `${lines.join('\n')}\n`);
  const spec = (training) =>
    JSON.stringify({
      name: 'wave',
      data: { path: 'wave.csv', target: 'load', features: 'S', freq: '1min' },
      model: { seqLen: 12, labelLen: 6, predLen: 3, dModel: 8, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 16 },
      training,
      gate: { minSkill: -100 },
      export: { formats: ['kserve'], storageUri: 's3://models/wave' },
      deploy: { target: 'kubernetes', kubeconfig: c.kubeconfig, namespace: 'models', timeoutSeconds: 10, pollSeconds: 0.02 },
    });
  writeFileSync(join(dir, 'p.json'), spec({ epochs: 3, batchSize: 16, learningRate: 0.003 }));
  const store = RunStore.open(join(dir, 'mlruns'));
  const r = await runPipeline(readPipeline(join(dir, 'p.json')), { store });
  t.equal(r.status, 'FINISHED', JSON.stringify(r.error));
  t.equal(r.uris['deploy: service'], 'http://wave.models.example.com');
  const post = c.requests.find((x) => x.method === 'POST');
  t.equal(post.body.spec.predictor.model.storageUri, 's3://models/wave');
  t.equal(post.body.metadata.annotations['informer-node/model'], 'models:/wave/1');
  // A worse model does not beat the champion: the service is left alone.
  writeFileSync(join(dir, 'p.json'), spec({ epochs: 1, batchSize: 16, learningRate: 1e-7, maxStepsPerEpoch: 1, seed: 4 }));
  const before = c.requests.length;
  const r2 = await runPipeline(readPipeline(join(dir, 'p.json')), { store });
  t.equal(r2.status, 'FINISHED', JSON.stringify(r2.error));
  t.equal(c.requests.length, before, 'no request to the cluster');
  t.same(c.problems, []);
});
