// `informer pipeline`: the pipeline file (schema, errors naming the key and line, defaults), the
// preprocess checks (gaps, fills, long format), and whole local runs on a small synthetic series:
// the parent run with a child run per step, evaluation metrics recomputed here by hand, the gate,
// the champion rule on the same test windows, resume after a failed step, step reuse by digest,
// and the local deploy hot-swapping a model in a running server.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { ForecastDataset } from '../dist/data/dataset.js';
import { writeParquetTable } from '../dist/data/parquet-write.js';
import { readSeriesTables, readTable } from '../dist/data/table.js';
import { ConfigError } from '../dist/errors.js';
import { savePredictorModel } from '../dist/artifact/preprocessing.js';
import { resolveConfig } from '../dist/config.js';
import { Informer } from '../dist/model.js';
import { examplePipeline } from '../dist/pipeline/init.js';
import { regularize } from '../dist/pipeline/preprocess.js';
import { runPipeline } from '../dist/pipeline/runner.js';
import { PIPELINE_SCHEMA } from '../dist/pipeline/schema.js';
import { readPipeline, resolvePipeline } from '../dist/pipeline/spec.js';
import { serve } from '../dist/serve/server.js';
import { getRun, searchRuns } from '../dist/tracking/reader.js';
import { getModelVersionByAlias, searchModelVersions } from '../dist/tracking/registry.js';
import { RunStore } from '../dist/tracking/store.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function tmp(t) {
  const dir = mkdtempSync(join(tmpdir(), 'informer-pipeline-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A minutely series: a daily-ish wave plus seeded noise; `skip` drops rows (gaps). */
function writeSeries(file, n = 480, { skip = [], seed = 1, extra = '' } = {}) {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  const lines = [`date,load${extra ? ',series' : ''}`];
  for (let i = 0; i < n; i++) {
    const v = 10 + 3 * Math.sin((2 * Math.PI * i) / 60) + 0.3 * rand();
    if (skip.includes(i)) continue;
    lines.push(
      `${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString().replace('T', ' ').slice(0, 19)},${v.toFixed(5)}${extra ? `,${extra}` : ''}`,
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const MODEL = { seqLen: 12, labelLen: 6, predLen: 3, dModel: 8, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 16 };

function writePipeline(dir, overrides = {}) {
  const spec = {
    name: 'wave',
    data: { path: 'wave.csv', target: 'load', features: 'S', freq: '1min' },
    model: MODEL,
    training: { epochs: 2, batchSize: 16, learningRate: 0.003, maxStepsPerEpoch: 12 },
    gate: { minSkill: -100 },
    register: { name: 'wave' },
    export: { formats: ['mlflow'] },
    ...overrides,
  };
  writeFileSync(join(dir, 'pipeline.json'), JSON.stringify(spec));
  return join(dir, 'pipeline.json');
}

t.test('pipeline file: the example validates, every error names its key (and line)', async (t) => {
  const dir = tmp(t);
  const file = join(dir, 'p.yaml');
  writeFileSync(file, examplePipeline(join(root, 'data', 'alibaba_pod.csv')));
  const spec = readPipeline(file);
  t.equal(spec.name, 'pod-cpu');
  t.same(spec.data.paths, [join(root, 'data', 'alibaba_pod.csv')]);
  t.equal(spec.data.fill, 'linear');
  t.same(spec.data.split, { train: 0.7, val: 0.1, test: 0.2 });
  t.equal(spec.model.dModel, 32);
  t.same(spec.gate, { minSkill: 0, metric: 'mse' });
  t.same(spec.register, { name: 'pod-cpu', alias: 'champion' });
  t.equal(spec.deploy.target, 'none');
  t.same(
    JSON.parse(readFileSync(join(root, 'schemas', 'pipeline.schema.json'), 'utf8')),
    PIPELINE_SCHEMA,
    'schemas/pipeline.schema.json is the schema in use',
  );

  const bad = (text, re, msg) => {
    writeFileSync(file, text);
    t.throws(() => readPipeline(file), re, msg);
    try {
      readPipeline(file);
    } catch (e) {
      t.ok(e instanceof ConfigError, `${msg}: a ConfigError`);
    }
  };
  bad(
    'name: x\ndata:\n  path: a.csv\n  targt: y\n',
    /data\.targt \(line 4\): unknown key \(allowed here: path, paths, seriesColumn/,
    'misspelt key: path and line',
  );
  bad('name: x\ndata:\n  path: a.csv\ntraining:\n  epochs: 0\n', /training\.epochs \(line 5\): must be >= 1/, 'bad value');
  bad(
    'name: x\ndata:\n  path: a.csv\ndeploy:\n  target: cloud\n',
    /deploy\.target \(line 5\): must be one of "none", "local", "kubernetes"/,
    'bad enum',
  );
  bad('name: Bad_Name\ndata: {path: a.csv}\n', /name \(line 1\): must match pattern/, 'name pattern');
  bad('data: {path: a.csv}\n', /p\.yaml: name \(line 1\): is required/, 'missing name');
  bad('name: x\ndata: {path: a.csv}\nmodel: {dModel: 30, nHeads: 4}\n', /model: .*dModel/, 'model rules');
  bad(
    'name: x\ndata: {path: a.csv}\nexport: {formats: [kserve]}\n',
    /export\.storageUri is required for the 'kserve' format/,
    'kserve needs storageUri',
  );
  bad(
    'name: x\ndata: {path: a.csv, seriesColumn: id}\nregister: {name: one}\n',
    /register\.name: a fleet .* '\{series\}'/,
    'fleet name pattern',
  );
  bad('name: x\ndata:\n  path: [a\n', /line \d+: not valid YAML\/JSON/, 'YAML syntax');
  bad(
    'name: x\ndata: {path: a.csv}\ntraining: {epochs: 2, batchSize: -1, lradj: cosine}\n',
    /2 problems:\n {2}training\.batchSize.*\n {2}training\.lradj/,
    'every problem listed',
  );
  t.throws(() => resolvePipeline({ name: 'x', data: { path: 'a', paths: ['b'] } }, dir), /exactly one of data\.path and data\.paths/);
});

t.test('preprocess: gaps are errors naming the dates unless filled; fills are exact', async (t) => {
  const dates = Float64Array.from([0, 60_000, 240_000, 300_000]);
  const table = { columns: ['v'], dateColumn: 'date', dates, data: { v: Float64Array.from([1, 2, 5, 6]) }, length: 4 };
  t.throws(() => regularize(table, 60_000, 'none', 'f.csv'), {
    name: 'ValueError',
    message: /f\.csv: between 1970-01-01 00:01:00 and 1970-01-01 00:04:00 \(data rows 2 and 3\): 2 step\(s\) missing; set data\.fill/,
  });
  const lin = regularize(table, 60_000, 'linear', 'f.csv');
  t.equal(lin.filled, 2);
  t.same(Array.from(lin.table.dates), [0, 60_000, 120_000, 180_000, 240_000, 300_000]);
  t.same(Array.from(lin.table.data.v), [1, 2, 3, 4, 5, 6]);
  t.same(Array.from(regularize(table, 60_000, 'ffill', 'f').table.data.v), [1, 2, 2, 2, 5, 6]);
  t.same(Array.from(regularize(table, 60_000, 'zero', 'f').table.data.v), [1, 2, 0, 0, 5, 6]);
  const odd = { ...table, dates: Float64Array.from([0, 60_000, 150_000, 210_000]) };
  t.throws(() => regularize(odd, 60_000, 'linear', 'f'), /90s is not a multiple of the frequency's 60s step/);
  t.equal(regularize({ ...table, dates: Float64Array.from([0, 60_000, 120_000, 180_000]) }, 60_000, 'none', 'f').filled, 0);

  const dir = tmp(t);
  const long = join(dir, 'long.csv');
  writeFileSync(
    long,
    'date,id,v\n2024-01-01 00:00,a,1\n2024-01-01 00:00,b,10\n2024-01-01 00:01,a,2\n2024-01-01 00:01,b,11\n2024-01-01 00:02,a,3\n',
  );
  const byId = await readSeriesTables(long, 'id');
  t.same([...byId.keys()], ['a', 'b']);
  t.same(Array.from(byId.get('a').data.v), [1, 2, 3]);
  t.same(Array.from(byId.get('b').data.v), [10, 11]);
  t.same(byId.get('a').columns, ['v']);
  writeFileSync(long, 'date,id,v\n2024-01-01 00:00,a,1\n2024-01-01 00:01,b,x\n');
  await t.rejects(readSeriesTables(long, 'id'), { name: 'ValueError', message: /long\.csv \(series "b"\): line 3, column "v"/ });
  await t.rejects(readSeriesTables(long, 'pod'), {
    name: 'ConfigError',
    message: /no series column "pod"; available columns: "date", "id", "v"/,
  });
});

/** Test metrics of a model folder on the dataset the pipeline wrote, computed here by hand. */
async function handMetrics(datasetDir, modelFile) {
  const args = JSON.parse(readFileSync(join(datasetDir, 'model_args.json'), 'utf8'));
  const ds = ForecastDataset.fromTable(await readTable(join(datasetDir, 'data.parquet')), args.dataset);
  const model = Informer.load(modelFile);
  const test = ds.split('test');
  const n = Math.floor(test.length / 16) * 16; // batches of 16, the last partial one dropped (dropLast)
  let se = 0;
  let nse = 0;
  let count = 0;
  for (let i = 0; i < n; i += 16) {
    const idx = Array.from({ length: 16 }, (_, k) => i + k);
    const { batch, target } = test.batch(idx);
    const pred = model.forwardSync(batch).data;
    const naive = test.naiveBatch(idx);
    for (let j = 0; j < target.data.length; j++) {
      se += (pred[j] - target.data[j]) ** 2;
      nse += (naive[j] - target.data[j]) ** 2;
      count++;
    }
  }
  model.dispose();
  return { mse: se / count, naive_mse: nse / count, windows: n };
}

t.test('a local run: parent and child runs, metrics against a hand computation, registration, reuse', async (t) => {
  const dir = tmp(t);
  writeSeries(join(dir, 'wave.csv'), 480, { skip: [100] });
  const store = RunStore.open(join(dir, 'mlruns'));
  const events = [];
  // The gap at row 100 is an error until a fill method is given.
  const failed = await runPipeline(readPipeline(writePipeline(dir)), { store, onEvent: (e) => events.push(e) });
  t.equal(failed.status, 'FAILED');
  t.equal(failed.error.step, 'preprocess');
  t.match(failed.error.message, /wave\.csv: between 2024-01-01 01:39:00 and 2024-01-01 01:41:00 .*1 step\(s\) missing/);

  const spec = readPipeline(
    writePipeline(dir, { data: { path: 'wave.csv', target: 'load', features: 'S', freq: '1min', fill: 'linear' } }),
  );
  const r = await runPipeline(spec, { store, onEvent: (e) => events.push(e) });
  t.equal(r.status, 'FINISHED', JSON.stringify(r.error));
  t.same(
    r.steps.map((s) => [s.step, s.status]),
    ['preprocess', 'train', 'evaluate', 'register', 'export', 'deploy'].map((s) => [s, 'FINISHED']),
  );
  const parent = getRun(store, r.runId);
  t.equal(parent.info.status, 'FINISHED');
  t.equal(parent.data.tags['informer.pipeline'], 'wave');
  t.equal(parent.data.params['model.dModel'], '8');
  t.ok(existsSync(join(store.getRun(r.runId).artifactDir('pipeline'), 'spec.json')));
  const children = searchRuns(store, { experimentIds: [r.experimentId], filter: `tags."mlflow.parentRunId" = '${r.runId}'` });
  t.equal(children.length, 6, 'one child run per step');
  for (const c of children) {
    t.equal(c.info.status, 'FINISHED', `${c.info.runName} finished`);
    t.ok(c.data.metrics.duration_seconds >= 0, `${c.info.runName} has its duration`);
    t.ok(c.data.tags['informer.pipeline.cache_key'].length === 64);
  }
  const byStep = Object.fromEntries(children.map((c) => [c.data.tags['informer.pipeline.step'], c]));
  t.equal(byStep.preprocess.data.metrics.rows, 480, '479 rows read + 1 filled');
  t.equal(byStep.preprocess.data.metrics.filled_steps, 1);
  t.ok(byStep.train.data.metrics.train_loss !== undefined, 'the train step run is autologged');
  t.equal(byStep.train.data.params.d_model, '8');
  t.equal(byStep.evaluate.data.params['gate.minSkill'], '-100', "each step's settings are its params");
  t.equal(byStep.register.data.params['register.alias'], 'champion');
  t.equal(byStep.preprocess.data.params['data.fill'], 'linear');

  // Evaluation: recomputed here from the dataset artifact and the model artifact.
  const datasetDir = r.steps[0].artifacts.dataset;
  const modelDir = r.steps[1].artifacts.model;
  const ev = JSON.parse(readFileSync(join(r.steps[2].artifacts.metrics, 'evaluation.json'), 'utf8'));
  const hand = await handMetrics(datasetDir, join(modelDir, 'model.safetensors'));
  t.ok(Math.abs(ev.series[0].test.mse - hand.mse) < 1e-6 * Math.max(1, hand.mse), `mse ${ev.series[0].test.mse} = ${hand.mse}`);
  t.ok(Math.abs(ev.series[0].test.naive_mse - hand.naive_mse) < 1e-9, 'naive mse');
  t.ok(Math.abs(ev.series[0].test.skill - (1 - hand.mse / hand.naive_mse)) < 1e-6, 'skill = 1 - mse / naive');
  t.equal(byStep.evaluate.data.metrics.mse, ev.series[0].test.mse);

  // Registration: version 1 is the champion.
  t.equal(getModelVersionByAlias(store, 'wave', 'champion').version, 1);
  t.equal(r.uris['register: registered'], 'models:/wave/1');
  t.ok(existsSync(join(r.steps[4].artifacts.export, 'mlflow', 'MLmodel')));
  t.ok(
    events.some((e) => e.type === 'step-log' && /epoch 2\/2/.test(e.line)),
    'per-epoch progress',
  );

  // The same pipeline again: every reusable step is reused, deploy runs.
  const again = await runPipeline(spec, { store });
  t.same(
    again.steps.map((s) => s.status),
    ['REUSED', 'REUSED', 'REUSED', 'REUSED', 'REUSED', 'FINISHED'],
  );
  t.equal(again.steps[1].reusedFrom, r.steps[1].runId);
  t.equal(searchModelVersions(store, "name = 'wave'").length, 1, 'no second version for the same model');
  // A training setting changes: preprocess is reused, train and what follows run again.
  const changed = await runPipeline(readPipeline(join(dir, 'pipeline.json'), { 'training.seed': 7 }), { store });
  t.same(
    changed.steps.map((s) => s.status),
    ['REUSED', 'FINISHED', 'FINISHED', 'FINISHED', 'FINISHED', 'FINISHED'],
  );
  // The data file changes: nothing upstream of it can be reused.
  writeSeries(join(dir, 'wave.csv'), 480, { skip: [100], seed: 9 });
  const newData = await runPipeline(spec, { store, until: 'train' });
  t.same(
    newData.steps.map((s) => s.status),
    ['FINISHED', 'FINISHED'],
    'a changed data file is a new input',
  );
  // MLflow's own reader (2.12.2, strict) reads the store: the pipeline run, its nested step runs, the registry.
  const readStore = join(root, '..', 'shared', 'tools', 'mlflow-read-store');
  if (existsSync(readStore)) {
    const seen = spawnSync(readStore, [store.root, '--strict'], { encoding: 'utf8', timeout: 600_000 });
    t.equal(seen.status, 0, seen.stderr.slice(-2000));
    const out = JSON.parse(seen.stdout);
    t.same(out.errors, []);
    const runs = out.experiments.flatMap((e) => e.runs);
    const nested = runs.filter((x) => x.tags?.['mlflow.parentRunId'] === r.runId || x.data?.tags?.['mlflow.parentRunId'] === r.runId);
    t.equal(nested.length, 6, 'MLflow sees the six step runs nested under the pipeline run');
  } else t.comment('MLflow reader not found (../shared/tools is absent): skipped');
  // A bad `until` is refused before any run is made.
  const before = searchRuns(store, { experimentIds: [r.experimentId] }).length;
  await t.rejects(runPipeline(spec, { store, until: 'deploy-all' }), {
    name: 'ConfigError',
    message: /until: unknown step "deploy-all"; steps: preprocess, train/,
  });
  t.equal(searchRuns(store, { experimentIds: [r.experimentId] }).length, before, 'no run was created');
  // --no-reuse runs everything.
  const fresh = await runPipeline(spec, { store, reuse: false, until: 'preprocess' });
  t.same(
    fresh.steps.map((s) => s.status),
    ['FINISHED'],
  );
});

t.test('the gate fails the pipeline with a clear message; resume continues from the failed step', async (t) => {
  const dir = tmp(t);
  writeSeries(join(dir, 'wave.csv'));
  const store = RunStore.open(join(dir, 'mlruns'));
  const r = await runPipeline(readPipeline(writePipeline(dir, { gate: { minSkill: 2 } })), { store });
  t.equal(r.status, 'FAILED');
  t.equal(r.error.step, 'evaluate');
  t.equal(r.error.code, 'ERR_INFORMER_PIPELINE_GATE');
  t.match(
    r.error.message,
    /gate failed: the model: skill -?\d\.\d+ \(test mse \d\.\d+ vs naive last-value mse \d\.\d+ on \d+ windows\); gate\.minSkill is 2/,
  );
  t.same(
    r.steps.map((s) => [s.step, s.status]),
    [
      ['preprocess', 'FINISHED'],
      ['train', 'FINISHED'],
      ['evaluate', 'FAILED'],
    ],
  );
  t.equal(getRun(store, r.runId).info.status, 'FAILED');
  t.equal(getRun(store, r.steps[2].runId).info.status, 'FAILED');
  t.match(getRun(store, r.steps[2].runId).data.tags['informer.pipeline.error'], /^GateError: gate failed/);
  t.same(searchModelVersions(store, "name = 'wave'"), [], 'nothing registered');

  const resumed = await runPipeline(readPipeline(writePipeline(dir, { gate: { minSkill: -100 } })), { store, resume: r.runId });
  t.equal(resumed.runId, r.runId, 'the same pipeline run');
  t.same(
    resumed.steps.map((s) => s.status),
    ['KEPT', 'KEPT', 'FINISHED', 'FINISHED', 'FINISHED', 'FINISHED'],
  );
  t.equal(resumed.steps[1].runId, r.steps[1].runId, 'the trained model of the failed run is kept');
  t.equal(getRun(store, r.runId).info.status, 'FINISHED');
  t.equal(getModelVersionByAlias(store, 'wave', 'champion').version, 1);
  t.rejects(runPipeline(readPipeline(join(dir, 'pipeline.json')), { store, resume: resumed.steps[0].runId }), /is not a pipeline run/);
});

t.test('the champion alias moves only to a version that beats it on the same test windows', async (t) => {
  const dir = tmp(t);
  writeSeries(join(dir, 'wave.csv'));
  const store = RunStore.open(join(dir, 'mlruns'));
  const good = await runPipeline(readPipeline(writePipeline(dir, { training: { epochs: 3, batchSize: 16, learningRate: 0.003 } })), {
    store,
  });
  t.equal(good.status, 'FINISHED', JSON.stringify(good.error));
  // A barely trained model: a tiny learning rate, one step.
  const bad = await runPipeline(
    readPipeline(writePipeline(dir, { training: { epochs: 1, batchSize: 16, learningRate: 1e-7, maxStepsPerEpoch: 1, seed: 3 } })),
    { store },
  );
  t.equal(bad.status, 'FINISHED', JSON.stringify(bad.error));
  const reg = JSON.parse(readFileSync(join(bad.steps[3].artifacts.registration, 'registration.json'), 'utf8')).models[0];
  t.equal(reg.version, 2);
  // The reference: both models on the same test windows, computed here.
  const datasetDir = bad.steps[0].artifacts.dataset;
  const champ = await handMetrics(datasetDir, join(good.steps[1].artifacts.model, 'model.safetensors'));
  const mine = await handMetrics(datasetDir, join(bad.steps[1].artifacts.model, 'model.safetensors'));
  t.ok(Math.abs(reg.championValue - champ.mse) < 1e-6 * Math.max(1, champ.mse), 'the champion was scored on these windows');
  t.ok(Math.abs(reg.value - mine.mse) < 1e-6 * Math.max(1, mine.mse));
  t.equal(reg.promoted, mine.mse < champ.mse);
  t.ok(mine.mse > champ.mse, 'the barely trained model is worse');
  t.equal(getModelVersionByAlias(store, 'wave', 'champion').version, 1, 'champion stays at version 1');
  t.match(reg.reason, /does not beat .* of 'champion' version 1 on the same windows/);
});

t.test('deploy local: loads the champion into a running server, then hot-swaps it', async (t) => {
  const dir = tmp(t);
  writeSeries(join(dir, 'wave.csv'));
  const store = RunStore.open(join(dir, 'mlruns'));
  const server = await serve([], { port: 0, modelControl: true, log: () => undefined, logLevel: 'silent' });
  t.teardown(() => server.close());
  const deploy = { target: 'local', url: server.url, serviceName: 'wave' };
  const r1 = await runPipeline(readPipeline(writePipeline(dir, { deploy })), { store });
  t.equal(r1.status, 'FINISHED', JSON.stringify(r1.error));
  t.equal(r1.uris['deploy: endpoint'], `${server.url}/v2/models/wave`);
  const meta = await (await fetch(`${server.url}/v2/models/wave`)).json();
  t.same(meta.versions, ['1']);
  const history = { dates: [], values: { load: [] } };
  for (let i = 0; i < 12; i++) {
    history.dates.push(new Date(Date.UTC(2024, 0, 2) + i * 60_000).toISOString());
    history.values.load.push(10 + Math.sin(i / 5));
  }
  const f1 = await (await fetch(`${server.url}/v2/models/wave/forecast`, { method: 'POST', body: JSON.stringify(history) })).json();
  t.equal(f1.model_version, '1');
  t.equal(f1.dates.length, 3);
  // A better model (more training) becomes champion version 2 and replaces version 1 in the server.
  const r2 = await runPipeline(
    readPipeline(writePipeline(dir, { deploy, training: { epochs: 4, batchSize: 16, learningRate: 0.003, seed: 5 } })),
    { store },
  );
  t.equal(r2.status, 'FINISHED', JSON.stringify(r2.error));
  const reg = JSON.parse(readFileSync(join(r2.steps[3].artifacts.registration, 'registration.json'), 'utf8')).models[0];
  const served = reg.promoted ? '2' : '1';
  const meta2 = await (await fetch(`${server.url}/v2/models/wave`)).json();
  t.same(meta2.versions, [served], `the server serves the champion (version ${served})`);
  const dep = JSON.parse(readFileSync(join(r2.steps[5].artifacts.deployment, 'deployment.json'), 'utf8'));
  t.same(
    dep.models.map((m) => [m.name, m.version, m.service]),
    [['wave', Number(served), 'wave']],
  );
  const f2 = await (await fetch(`${server.url}/v2/models/wave/forecast`, { method: 'POST', body: JSON.stringify(history) })).json();
  t.equal(f2.model_version, served);
  const index = await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST', body: '{}' })).json();
  t.same(index, [{ name: 'wave', version: served, state: 'READY' }]);
});

t.test('the model-control endpoints refuse bad requests with 4xx', async (t) => {
  const server = await serve([], { port: 0, modelControl: true, log: () => undefined, logLevel: 'silent' });
  t.teardown(() => server.close());
  const post = async (path, body) => {
    const r = await fetch(`${server.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    return [r.status, (await r.json()).error];
  };
  t.match(await post('/v2/repository/models/x/load', {}), [400, /parameters.*path/]);
  t.match(await post('/v2/repository/models/x/load', { parameters: { path: '/nonexistent' } }), [
    400,
    /cannot load \/nonexistent: .*no such file/,
  ]);
  t.match(await post('/v2/repository/models/x/unload', {}), [404, /unknown model "x"/]);
  const plain = await serve([], { port: 0, modelControl: false, log: () => undefined }).catch((e) => e);
  t.ok(plain instanceof ConfigError, 'without modelControl a server needs a model');
});

t.test('deploy local with no server running starts one in the background', async (t) => {
  const dir = tmp(t);
  writeSeries(join(dir, 'wave.csv'));
  const port = await new Promise((resolve) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const store = RunStore.open(join(dir, 'mlruns'));
  const r = await runPipeline(
    readPipeline(writePipeline(dir, { deploy: { target: 'local', port, serviceName: 'wave' }, tracking: { uri: 'mlruns' } })),
    { store },
  );
  t.equal(r.status, 'FINISHED', JSON.stringify(r.error));
  const dep = JSON.parse(readFileSync(join(r.steps[5].artifacts.deployment, 'deployment.json'), 'utf8'));
  t.ok(Number.isInteger(dep.startedPid), 'the step started a server and recorded its pid');
  t.teardown(() => {
    try {
      process.kill(dep.startedPid);
    } catch {}
  });
  t.equal(dep.url, `http://127.0.0.1:${port}`);
  const meta = await (await fetch(`${dep.url}/v2/models/wave`)).json();
  t.same(meta.versions, ['1']);
  t.equal(getRun(store, r.steps[5].runId).data.tags['informer.deploy.pid'], String(dep.startedPid));
  t.equal(readPipeline(join(dir, 'pipeline.json')).tracking.uri, join(dir, 'mlruns'), 'tracking.uri is relative to the file');
});

t.test('preprocess reads Parquet, and names a non-numeric cell', async (t) => {
  const dir = tmp(t);
  writeSeries(join(dir, 'wave.csv'));
  const table = await readTable(join(dir, 'wave.csv'));
  await writeParquetTable(join(dir, 'wave.parquet'), table);
  const store = RunStore.open(join(dir, 'mlruns'));
  const spec = (path) => readPipeline(writePipeline(dir, { data: { path, target: 'load', features: 'S', freq: '1min' } }));
  const r = await runPipeline(spec('wave.parquet'), { store, until: 'preprocess' });
  t.equal(r.status, 'FINISHED', JSON.stringify(r.error));
  const written = await readTable(join(r.steps[0].artifacts.dataset, 'data.parquet'));
  t.same(Array.from(written.dates), Array.from(table.dates), 'dates kept exactly');
  t.same(Array.from(written.data.load), Array.from(table.data.load), 'values kept exactly');
  const args = JSON.parse(readFileSync(join(r.steps[0].artifacts.dataset, 'model_args.json'), 'utf8'));
  t.same(args.dataset, { features: 'S', target: 'load', seqLen: 12, labelLen: 6, predLen: 3, freq: '1min' });
  t.same(args.model, MODEL);
  const v = JSON.parse(readFileSync(join(r.steps[0].artifacts.dataset, 'validation.json'), 'utf8'));
  t.same([v.rows, v.filled, v.first, v.last, v.freq], [480, 0, '2024-01-01 00:00:00', '2024-01-01 07:59:00', '1min']);

  writeFileSync(join(dir, 'bad.csv'), 'date,load\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,n/a\n');
  const bad = await runPipeline(spec('bad.csv'), { store, until: 'preprocess' });
  t.equal(bad.status, 'FAILED');
  t.match(bad.error.message, /bad\.csv: line 3, column "load": .*"n\/a"/);
  const missing = await runPipeline(spec('nope.csv'), { store, until: 'preprocess' });
  t.match(missing.error.message, /nope\.csv: cannot read the file \(ENOENT\)/);
  // Columns the model does not use may hold anything (features S: the target alone).
  writeFileSync(
    join(dir, 'mixed.csv'),
    `date,host,load\n${Array.from({ length: 60 }, (_, i) => `${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString()},web-${i % 3},${i % 7}`).join('\n')}\n`,
  );
  const mixed = await runPipeline(spec('mixed.csv'), { store, until: 'preprocess' });
  t.equal(mixed.status, 'FINISHED', JSON.stringify(mixed.error));
  const mixedTable = await readTable(join(mixed.steps[0].artifacts.dataset, 'data.parquet'));
  t.same(mixedTable.columns, ['load']);
  const wrongTarget = await runPipeline(readPipeline(writePipeline(dir, { data: { path: 'wave.csv', target: 'cpu' } })), {
    store,
    until: 'preprocess',
  });
  t.match(wrongTarget.error.message, /data\.target: .*wave\.csv: unknown column "cpu"; available columns: "date", "load"/);
});

t.test('hot-swap under load: requests in flight finish, none fails, later ones see the new version', async (t) => {
  const dir = tmp(t);
  writeSeries(join(dir, 'wave.csv'));
  const ds = ForecastDataset.fromTable(await readTable(join(dir, 'wave.csv')), {
    features: 'S',
    target: 'load',
    seqLen: 12,
    labelLen: 6,
    predLen: 3,
    freq: '1min',
  });
  for (const [k, seed] of [
    ['a', 1],
    ['b', 2],
  ]) {
    const m = new Informer(resolveConfig({ ...MODEL, seed, ...ds.modelConfig() }));
    savePredictorModel(m, ds, join(dir, `${k}.safetensors`));
    m.dispose();
  }
  const server = await serve([], { port: 0, modelControl: true, log: () => undefined, logLevel: 'silent' });
  t.teardown(() => server.close());
  const load = (file, version) =>
    fetch(`${server.url}/v2/repository/models/wave/load`, {
      method: 'POST',
      body: JSON.stringify({ parameters: { path: join(dir, file), version } }),
    }).then((r) => r.json());
  t.same(await load('a.safetensors', '1'), { name: 'wave', version: '1', ready: true, replaced: null });
  const history = { dates: [], values: { load: [] } };
  for (let i = 0; i < 12; i++) {
    history.dates.push(new Date(Date.UTC(2024, 0, 2) + i * 60_000).toISOString());
    history.values.load.push(10 + Math.sin(i / 5));
  }
  const forecast = () =>
    fetch(`${server.url}/v2/models/wave/forecast`, { method: 'POST', body: JSON.stringify(history) }).then(async (r) => [
      r.status,
      (await r.json()).model_version,
    ]);
  const inFlight = Array.from({ length: 60 }, forecast);
  const swapped = await load('b.safetensors', '2');
  t.same(swapped, { name: 'wave', version: '2', ready: true, replaced: '1' });
  const results = await Promise.all(inFlight);
  t.ok(
    results.every(([status]) => status === 200),
    'no request failed during the swap',
  );
  t.ok(results.every(([, v]) => v === '1' || v === '2'));
  const after = await Promise.all(Array.from({ length: 10 }, forecast));
  t.same(
    after.map(([, v]) => v),
    Array(10).fill('2'),
    'requests after the load see the new version',
  );
  // The old model's forecasts differ from the new one's: the swap really changed the model.
  const a = Informer.load(join(dir, 'a.safetensors'));
  const b = Informer.load(join(dir, 'b.safetensors'));
  const { batch } = ds.split('test').batch([0]);
  t.notSame(Array.from(a.forwardSync(batch).data), Array.from(b.forwardSync(batch).data));
  a.dispose();
  b.dispose();
});
