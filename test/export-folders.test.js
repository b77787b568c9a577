// Deployable folders from exportModel: plain ONNX, a Triton model repository, an MLflow model folder and
// KServe InferenceServices; each is validated by its checker and independently here (YAML / pbtxt
// parsed, the served model.onnx run in onnxruntime against the native forward).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { parse } from 'yaml';

import { Informer, ConfigError, FormatError } from '../dist/index.js';
import {
  checkMlflowModelDir,
  checkOnnxModel,
  checkTritonRepository,
  exportModel,
  inferenceServiceYaml,
  parsePbtxt,
  validateInferenceService,
  writeFolderAtomic,
} from '../dist/export/index.js';

const CONFIG = { seqLen: 24, labelLen: 12, predLen: 6, encIn: 3, decIn: 3, cOut: 2, dModel: 16, nHeads: 2, dFf: 32, seed: 5 };
const GRAPH_INPUTS = [
  ['x_enc', [-1, 24, 3]],
  ['x_mark_enc', [-1, 24, 4]],
  ['x_dec', [-1, 18, 3]],
  ['x_mark_dec', [-1, 18, 4]],
];

const model = new Informer(CONFIG);
t.teardown(() => model.dispose());
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'informer-export-'));
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
const out = (name) => path.join(root, name);

function randomBatch(B) {
  let s = 12345;
  const r = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5;
  const f = (...shape) => ({ data: Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, r), shape });
  return { xEnc: f(B, 24, 3), xMarkEnc: f(B, 24, 4), xDec: f(B, 18, 3), xMarkDec: f(B, 18, 4) };
}

/** The served model.onnx gives the native forecast. */
async function servesForecast(t, file) {
  const batch = randomBatch(3);
  const session = await ort.InferenceSession.create(fs.readFileSync(file));
  t.same(
    session.inputNames,
    GRAPH_INPUTS.map(([n]) => n),
  );
  t.same(session.outputNames, ['forecast']);
  const feeds = {};
  for (const [name, key] of [
    ['x_enc', 'xEnc'],
    ['x_mark_enc', 'xMarkEnc'],
    ['x_dec', 'xDec'],
    ['x_mark_dec', 'xMarkDec'],
  ])
    feeds[name] = new ort.Tensor('float32', batch[key].data, batch[key].shape);
  const { forecast } = await session.run(feeds);
  const want = model.forwardSync(batch);
  let err = 0;
  for (let i = 0; i < want.data.length; i++) err = Math.max(err, Math.abs(want.data[i] - forecast.data[i]));
  t.ok(err < 1e-4, `served model matches forward (max abs error ${err.toExponential(2)})`);
}

function noTempLeft(t) {
  t.same(
    fs.readdirSync(root).filter((f) => /\.(tmp|old)-/.test(f)),
    [],
    'no temp or backup folder left',
  );
}

t.test('onnx', async (t) => {
  const stages = new Set();
  const r = exportModel(model, out('onnx'), { format: 'onnx', onProgress: (s) => stages.add(s) });
  t.same(r.files, ['model.onnx']);
  t.same([...stages], ['building', 'serialising', 'writing', 'validating']);
  t.equal(checkOnnxModel(fs.readFileSync(out('onnx/model.onnx'))).opset, 17);
  await servesForecast(t, out('onnx/model.onnx'));
  noTempLeft(t);
});

t.test('triton model repository', async (t) => {
  const r = exportModel(model, out('triton'), { format: 'triton', name: 'etth1' });
  t.same(r.files, ['etth1/1/model.onnx', 'etth1/config.pbtxt']);
  const report = checkTritonRepository(out('triton'));
  t.equal(report.name, 'etth1');
  t.same(report.versions, [1]);
  // Independent read of config.pbtxt.
  const cfg = parsePbtxt(fs.readFileSync(out('triton/etth1/config.pbtxt'), 'utf8'));
  t.same(cfg.name, ['etth1']);
  t.same(cfg.platform, ['onnxruntime_onnx']);
  t.same(cfg.max_batch_size, [0]);
  t.same(
    cfg.input.map((i) => [i.name[0], i.data_type[0], i.dims]),
    GRAPH_INPUTS.map(([n, d]) => [n, 'TYPE_FP32', d]),
  );
  t.same(
    cfg.output.map((o) => [o.name[0], o.data_type[0], o.dims]),
    [['forecast', 'TYPE_FP32', [-1, 6, 2]]],
  );
  await servesForecast(t, out('triton/etth1/1/model.onnx'));

  exportModel(model, out('triton-batched'), { format: 'triton', maxBatchSize: 16 });
  const batched = parsePbtxt(fs.readFileSync(out('triton-batched/informer/config.pbtxt'), 'utf8'));
  t.same(batched.max_batch_size, [16]);
  t.same(batched.input[0].dims, [24, 3], 'dims omit the batch dim when Triton batches');
  t.ok(batched.dynamic_batching, 'dynamic batching on');
  t.equal(checkTritonRepository(out('triton-batched')).maxBatchSize, 16);

  // The checker catches a config that no longer matches the graph, and unknown keys.
  const file = out('triton/etth1/config.pbtxt');
  const good = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, good.replace('"x_dec"', '"x_decoder"'));
  t.throws(() => checkTritonRepository(out('triton')), { name: 'FormatError', message: /does not match the ONNX graph/ });
  fs.writeFileSync(file, good.replace('max_batch_size', 'max_batchsize'));
  t.throws(() => checkTritonRepository(out('triton')), { name: 'FormatError', message: /unexpected key 'max_batchsize'/ });
  fs.writeFileSync(file, good.replace('name: "etth1"', 'name: "other"'));
  t.throws(() => checkTritonRepository(out('triton')), { name: 'FormatError', message: /folder name/ });
  fs.writeFileSync(file, good);
  t.throws(() => parsePbtxt('input [ { name: "x" '), FormatError, 'unterminated pbtxt');
  noTempLeft(t);
});

t.test('mlflow model folder', async (t) => {
  const r = exportModel(model, out('mlflow'), { format: 'mlflow' });
  t.same(r.files, ['MLmodel', 'conda.yaml', 'model.onnx', 'python_env.yaml', 'requirements.txt']);
  t.equal(checkMlflowModelDir(out('mlflow')).opset, 17);
  const mlmodel = parse(fs.readFileSync(out('mlflow/MLmodel'), 'utf8'));
  t.same(Object.keys(mlmodel.flavors).sort(), ['onnx', 'python_function']);
  t.equal(mlmodel.flavors.onnx.data, 'model.onnx');
  t.equal(mlmodel.flavors.python_function.loader_module, 'mlflow.onnx');
  t.same(mlmodel.flavors.python_function.env, { conda: 'conda.yaml', virtualenv: 'python_env.yaml' });
  t.match(mlmodel.model_uuid, /^[0-9a-f]{32}$/);
  t.match(mlmodel.utc_time_created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  const inputs = JSON.parse(mlmodel.signature.inputs);
  t.same(
    inputs.map((s) => [s.name, s.type, s['tensor-spec'].dtype, s['tensor-spec'].shape]),
    GRAPH_INPUTS.map(([n, d]) => [n, 'tensor', 'float32', d]),
  );
  t.same(JSON.parse(mlmodel.signature.outputs), [
    { type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 6, 2] }, name: 'forecast' },
  ]);
  t.equal(mlmodel.metadata.informer_config.c_out, 2);
  const reqs = fs.readFileSync(out('mlflow/requirements.txt'), 'utf8');
  t.match(reqs, /^mlflow>=/m);
  t.match(reqs, /^onnxruntime>=/m);
  const pyenv = parse(fs.readFileSync(out('mlflow/python_env.yaml'), 'utf8'));
  t.same(pyenv.dependencies, ['-r requirements.txt']);
  const conda = parse(fs.readFileSync(out('mlflow/conda.yaml'), 'utf8'));
  t.ok(conda.dependencies.some((d) => typeof d === 'object' && d.pip.some((p) => p.startsWith('onnx>='))));
  await servesForecast(t, out('mlflow/model.onnx'));

  const file = out('mlflow/MLmodel');
  const good = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, good.replace('loader_module: mlflow.onnx', 'loader_module: mlflow.pytorch'));
  t.throws(() => checkMlflowModelDir(out('mlflow')), { name: 'FormatError', message: /loader_module/ });
  fs.writeFileSync(file, good.replace('mlflow_version', 'mlflow_verison'));
  t.throws(() => checkMlflowModelDir(out('mlflow')), { name: 'FormatError', message: /unexpected key 'mlflow_verison'/ });
  fs.writeFileSync(file, good.replace('"name": "x_enc"', '"name": "x_encoder"'));
  t.throws(() => checkMlflowModelDir(out('mlflow')), { name: 'FormatError', message: /does not match the ONNX graph/ });
  fs.writeFileSync(file, good);
  fs.rmSync(out('mlflow/conda.yaml'));
  t.throws(() => checkMlflowModelDir(out('mlflow')), { name: 'FormatError', message: /missing file conda.yaml/ });
  noTempLeft(t);
});

t.test('kserve: onnx (Triton) and mlflow InferenceServices', async (t) => {
  const r = exportModel(model, out('kserve-onnx'), { format: 'kserve', name: 'etth1', storageUri: 's3://models/informer/etth1' });
  t.same(r.files, ['inferenceservice.yaml', 'model/etth1/1/model.onnx', 'model/etth1/config.pbtxt']);
  const isvc = parse(fs.readFileSync(out('kserve-onnx/inferenceservice.yaml'), 'utf8'));
  t.same(isvc, {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    // KServe scrapes the predictor's Prometheus metrics with this annotation (#15).
    metadata: { name: 'etth1', annotations: { 'serving.kserve.io/enable-prometheus-scraping': 'true' } },
    spec: {
      predictor: {
        model: { modelFormat: { name: 'onnx', version: '1' }, protocolVersion: 'v2', storageUri: 's3://models/informer/etth1' },
      },
    },
  });
  t.same(r.inferenceService, isvc);
  t.same(validateInferenceService(isvc), []);
  checkTritonRepository(out('kserve-onnx/model'), 'etth1');

  const m = exportModel(model, out('kserve-mlflow'), {
    format: 'kserve',
    modelFormat: 'mlflow',
    storageUri: 'gs://bucket/informer',
    namespace: 'forecasting',
    serviceAccountName: 'kserve-s3',
    runtime: 'kserve-mlserver',
    annotations: { 'serving.kserve.io/deploymentMode': 'RawDeployment' },
  });
  t.ok(m.files.includes('model/MLmodel'));
  const isvc2 = parse(fs.readFileSync(out('kserve-mlflow/inferenceservice.yaml'), 'utf8'));
  t.same(isvc2.spec.predictor.model, {
    modelFormat: { name: 'mlflow', version: '2' },
    protocolVersion: 'v2',
    runtime: 'kserve-mlserver',
    storageUri: 'gs://bucket/informer',
  });
  t.equal(isvc2.spec.predictor.serviceAccountName, 'kserve-s3');
  t.equal(isvc2.metadata.namespace, 'forecasting');
  t.same(validateInferenceService(isvc2), []);
  checkMlflowModelDir(out('kserve-mlflow/model'));
  noTempLeft(t);
});

t.test('InferenceService validation: CRD schema plus the strict check', async (t) => {
  const good = parse(inferenceServiceYaml({ name: 'x', storageUri: 'pvc://claim/models', modelFormat: 'onnx' }));
  const typo = structuredClone(good);
  typo.spec.predictor.model.storageURI = typo.spec.predictor.model.storageUri;
  delete typo.spec.predictor.model.storageUri;
  const noFormatName = structuredClone(good);
  delete noFormatName.spec.predictor.model.modelFormat.name;
  const badType = structuredClone(good);
  badType.spec.predictor.minReplicas = 'two';
  const deep = structuredClone(good);
  deep.spec.predictor.containers = [
    { name: 'a', image: 'b', resources: { limits: { cpu: '1', memory: 2 } } },
    { name: 'c', ports: [{ containerPort: 'x' }] },
  ];
  const v1 = structuredClone(good);
  v1.spec.predictor.model.protocolVersion = 'v1';
  v1.metadata.name = 'Not_A_Label';

  t.same(validateInferenceService(good), []);
  const typoProblems = validateInferenceService(typo);
  t.notOk(
    typoProblems.some((p) => p.startsWith('CRD')),
    'the CRD schema accepts the misspelt key',
  );
  t.ok(
    typoProblems.some((p) => /additional properties 'storageURI'/.test(p)),
    'the strict check does not',
  );
  t.ok(validateInferenceService(noFormatName).some((p) => /CRD schema: .*modelFormat must have required property 'name'/.test(p)));
  t.ok(validateInferenceService(badType).some((p) => /CRD schema: \/spec\/predictor\/minReplicas must be integer/.test(p)));
  t.ok(
    validateInferenceService(deep).some((p) =>
      /CRD schema: \/spec\/predictor\/containers\/1\/ports\/0\/containerPort must be integer/.test(p),
    ),
  );
  t.ok(validateInferenceService(v1).some((p) => /protocolVersion/.test(p)));
  t.ok(validateInferenceService(v1).some((p) => /metadata\/name/.test(p)));
  // The cut-down CRD schema decides like the whole one (compiling it takes seconds, so once).
  for (const [name, manifest] of Object.entries({ good, typo, noFormatName, badType, deep, v1 })) {
    const crd = (opts) =>
      validateInferenceService(manifest, opts)
        .filter((p) => p.startsWith('CRD'))
        .sort();
    t.same(crd({}), crd({ fullSchema: true }), `${name}: pruned schema = full schema`);
  }
});

t.test('option errors and atomic replacement', async (t) => {
  t.throws(() => exportModel(model, out('x1'), { format: 'zip' }), ConfigError);
  t.throws(() => exportModel(model, out('x2'), { format: 'kserve' }), { name: 'ConfigError', message: /storageUri/ });
  t.throws(() => exportModel(model, out('x3'), { format: 'triton', storageUri: 's3://a/b' }), { name: 'ConfigError', message: /kserve/ });
  t.throws(() => exportModel(model, out('x4'), { format: 'kserve', storageUri: 'ftp://a/b' }), {
    name: 'ConfigError',
    message: /storageUri/,
  });
  t.throws(() => exportModel(model, out('x5'), { format: 'triton', name: 'Bad_Name' }), { name: 'ConfigError', message: /name/ });
  t.throws(() => exportModel(model, out('x6'), { format: 'onnx', opset: 12 }), { name: 'ConfigError', message: /opset/ });
  t.throws(() => exportModel(model, out('x7'), { format: 'triton', maxBatchSize: -1 }), ConfigError);
  for (const d of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7']) t.notOk(fs.existsSync(out(d)), `${d} not created`);

  const dir = out('replace');
  exportModel(model, dir, { format: 'onnx' });
  t.throws(() => exportModel(model, dir, { format: 'mlflow' }), { name: 'ConfigError', message: /not empty/ });
  t.same(fs.readdirSync(dir), ['model.onnx'], 'existing folder untouched');
  exportModel(model, dir, { format: 'mlflow', overwrite: true });
  t.ok(fs.existsSync(path.join(dir, 'MLmodel')), 'replaced with overwrite');
  t.notOk(fs.existsSync(path.join(dir, 'model.onnx.tmp')), 'no stray files');
  // A folder that fails validation is never published, and an existing one survives.
  const failing = () => {
    throw new FormatError('bad folder');
  };
  t.throws(() => writeFolderAtomic(out('never'), { 'a/b.txt': 'x' }, { check: failing }), FormatError);
  t.notOk(fs.existsSync(out('never')), 'nothing published');
  t.throws(() => writeFolderAtomic(dir, { 'a.txt': 'x' }, { check: failing, overwrite: true }), FormatError);
  t.ok(fs.existsSync(path.join(dir, 'MLmodel')), 'previous folder kept');
  t.throws(() => writeFolderAtomic(out('escape'), { '../evil.txt': 'x' }), ConfigError, 'paths stay inside the folder');
  t.notOk(fs.existsSync(path.join(root, 'evil.txt')));
  fs.mkdirSync(out('empty'));
  exportModel(model, out('empty'), { format: 'onnx' });
  t.same(fs.readdirSync(out('empty')), ['model.onnx'], 'an existing empty folder is filled');
  noTempLeft(t);
});
