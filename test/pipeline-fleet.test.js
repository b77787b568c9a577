// Fleets: trainMany (worker processes, one model per job) against in-process training of the same
// jobs, its errors; the pooled dataset of the global model against the per-series windows; and a
// fleet pipeline (long format, one model per series plus a global one) with per-series skill for
// both, recomputed here for one series.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

import { resolveConfig } from '../dist/config.js';
import { ForecastDataset } from '../dist/data/dataset.js';
import { readTable } from '../dist/data/table.js';
import { Informer } from '../dist/model.js';
import { pooledDataset } from '../dist/pipeline/global-model.js';
import { runPipeline } from '../dist/pipeline/runner.js';
import { readPipeline } from '../dist/pipeline/spec.js';
import { trainMany } from '../dist/train/many.js';
import { Trainer } from '../dist/train/trainer.js';
import { getRun, searchRuns } from '../dist/tracking/reader.js';
import { getModelVersionByAlias } from '../dist/tracking/registry.js';
import { RunStore } from '../dist/tracking/store.js';

function tmp(t) {
  const dir = mkdtempSync(join(tmpdir(), 'informer-fleet-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const PODS = ['pod-a', 'pod-b', 'pod-c'];
function writePods(file, n = 300) {
  const lines = ['date,load,pod'];
  for (const [k, pod] of PODS.entries())
    for (let i = 0; i < n; i++)
      lines.push(`${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString()},${(5 + (k + 1) * Math.sin(i / (6 + k))).toFixed(4)},${pod}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}
function writeOne(file, phase, n = 300) {
  const lines = ['date,load'];
  for (let i = 0; i < n; i++)
    lines.push(`${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString()},${(5 + Math.sin(i / 6 + phase)).toFixed(4)}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const DS = { features: 'S', target: 'load', seqLen: 12, labelLen: 6, predLen: 3, freq: '1min' };
const MODEL = { dModel: 8, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 16 };
const TRAIN = { epochs: 2, batchSize: 16, learningRate: 0.003, maxStepsPerEpoch: 6 };

t.test('trainMany: the same models as training one by one in this process; failures per job', async (t) => {
  const dir = tmp(t);
  const files = [0, 1, 2].map((k) => {
    const f = join(dir, `s${k}.csv`);
    writeOne(f, k);
    return f;
  });
  const jobs = files.map((f, k) => ({
    id: `s${k}`,
    data: f,
    dataset: DS,
    model: { ...MODEL, seed: k },
    training: TRAIN,
    saveTo: join(dir, `s${k}.safetensors`),
  }));
  const events = [];
  const results = await trainMany([...jobs, { id: 'broken', data: join(dir, 'missing.csv'), dataset: DS }], {
    concurrency: 2,
    onEvent: (e) => events.push(e),
  });
  t.same(
    results.map((r) => [r.id, r.ok]),
    [
      ['s0', true],
      ['s1', true],
      ['s2', true],
      ['broken', false],
    ],
  );
  t.equal(results[3].error.name, 'FormatError');
  t.match(results[3].error.message, /missing\.csv: cannot read the file \(ENOENT\)/);
  t.equal(events.filter((e) => e.type === 'epoch').length, 6, 'two epochs per model reported');
  for (const [k, f] of files.entries()) {
    const ds = ForecastDataset.fromTable(await readTable(f), DS);
    const model = new Informer(resolveConfig({ ...MODEL, seed: k, ...ds.modelConfig() }));
    const ref = await new Trainer(model, ds, TRAIN).fit();
    const got = results[k];
    t.ok(Math.abs(got.test.mse - ref.test.mse) <= 1e-5 * ref.test.mse, `s${k}: mse ${got.test.mse} = ${ref.test.mse} in process`);
    t.equal(got.test.naive_mse, ref.test.naive_mse, 'the same test windows');
    t.same(
      got.epochs.map((e) => e.epoch),
      [1, 2],
    );
    // The saved model forecasts what the in-process one does.
    const saved = Informer.load(join(dir, `s${k}.safetensors`));
    const { batch } = ds.split('test').batch([0, 1]);
    const a = saved.forwardSync(batch).data;
    const b = model.forwardSync(batch).data;
    t.ok(
      a.every((v, i) => Math.abs(v - b[i]) < 1e-4),
      'saved weights match',
    );
    saved.dispose();
    model.dispose();
  }
  await t.rejects(trainMany([jobs[0], jobs[0]]), { name: 'ConfigError', message: /two jobs have the id "s0"/ });
  await t.rejects(trainMany(jobs, { concurrency: 0 }), { name: 'ConfigError', message: /concurrency must be an integer >= 1, got 0/ });
  await t.rejects(trainMany([{ id: '', data: 'x', dataset: DS }]), {
    name: 'ConfigError',
    message: /jobs\[0\]\.id must be a non-empty string/,
  });
  t.same(await trainMany([]), []);

  // An abort stops the running jobs after their current step and starts no more.
  const abort = new AbortController();
  const long = files.map((f, k) => ({
    id: `l${k}`,
    data: f,
    dataset: DS,
    model: MODEL,
    training: { ...TRAIN, epochs: 200, patience: 1000 },
  }));
  const stopped = await trainMany(long, {
    concurrency: 1,
    signal: abort.signal,
    onEvent: (e) => e.type === 'epoch' && e.epoch.epoch === 2 && abort.abort(),
  });
  t.equal(stopped[0].ok, true, 'the running job returns its best model so far');
  t.ok(stopped[0].epochs.length < 200, `stopped after ${stopped[0].epochs.length} epochs`);
  t.same(
    stopped.slice(1).map((r) => [r.ok, r.error.name]),
    [
      [false, 'AbortError'],
      [false, 'AbortError'],
    ],
    'the others never started',
  );
});

t.test('trainMany inProcess: the same models as the workers train, failures per job, abort', async (t) => {
  const dir = tmp(t);
  const files = [0, 1].map((k) => {
    const f = join(dir, `s${k}.csv`);
    writeOne(f, k);
    return f;
  });
  const jobs = files.map((f, k) => ({ id: `s${k}`, data: f, dataset: DS, model: { ...MODEL, seed: k }, training: TRAIN }));
  const all = [...jobs, { id: 'broken', data: join(dir, 'missing.csv'), dataset: DS }];
  const events = [];
  const here = await trainMany(all, { inProcess: true, onEvent: (e) => events.push(e) });
  const workers = await trainMany(all, { concurrency: 2 });
  t.same(
    here.map((r) => [r.id, r.ok]),
    workers.map((r) => [r.id, r.ok]),
  );
  t.same(here[2].error, workers[2].error, 'the same error as from a worker');
  t.equal(here[2].error.name, 'FormatError');
  // Workers run one native thread, this process splits each batch over its pool: equal up to rounding.
  for (const k of [0, 1]) {
    const [a, b] = [here[k].test.mse, workers[k].test.mse];
    t.ok(Math.abs(a - b) <= 1e-5 * b, `s${k}: mse ${a} in process, ${b} in a worker`);
    t.equal(here[k].test.naive_mse, workers[k].test.naive_mse);
  }
  t.same(
    events.map((e) => `${e.type}:${e.id}`),
    ['start:s0', 'epoch:s0', 'epoch:s0', 'done:s0', 'start:s1', 'epoch:s1', 'epoch:s1', 'done:s1', 'start:broken', 'done:broken'],
    'one job after another',
  );
  await t.rejects(trainMany(jobs, { inProcess: 'yes' }), { name: 'ConfigError', message: /inProcess must be a boolean, got string/ });

  const abort = new AbortController();
  const long = jobs.map((j) => ({ ...j, training: { ...TRAIN, epochs: 200, patience: 1000 } }));
  const stopped = await trainMany(long, {
    inProcess: true,
    signal: abort.signal,
    onEvent: (e) => e.type === 'epoch' && e.epoch.epoch === 2 && abort.abort(),
  });
  t.equal(stopped[0].ok, true, 'the running job returns its best model so far');
  t.ok(stopped[0].epochs.length < 200, `stopped after ${stopped[0].epochs.length} epochs`);
  t.same([stopped[1].ok, stopped[1].error.name], [false, 'AbortError'], 'the next never started');
});

t.test('the pooled dataset of the global model is the per-series windows, series after series', async (t) => {
  const dir = tmp(t);
  const sets = [];
  for (const k of [0, 1]) {
    writeOne(join(dir, `p${k}.csv`), k * 2, 200 + 40 * k);
    sets.push(ForecastDataset.fromTable(await readTable(join(dir, `p${k}.csv`)), DS));
  }
  const pooled = pooledDataset(sets);
  for (const split of ['train', 'val', 'test'])
    t.equal(pooled.split(split).length, sets[0].split(split).length + sets[1].split(split).length);
  const n0 = sets[0].split('train').length;
  const idx = [n0 + 3, 1, n0, 0];
  const got = pooled.split('train').batch(idx);
  const parts = [
    sets[1].split('train').batch([3]),
    sets[0].split('train').batch([1]),
    sets[1].split('train').batch([0]),
    sets[0].split('train').batch([0]),
  ];
  t.same(got.batch.xEnc.shape, [4, 12, 1]);
  t.same(
    Array.from(got.batch.xEnc.data),
    parts.flatMap((p) => Array.from(p.batch.xEnc.data)),
  );
  t.same(
    Array.from(got.batch.xMarkDec.data),
    parts.flatMap((p) => Array.from(p.batch.xMarkDec.data)),
  );
  t.same(
    Array.from(got.target.data),
    parts.flatMap((p) => Array.from(p.target.data)),
  );
  t.same(
    Array.from(pooled.split('train').naiveBatch(idx)),
    [
      sets[1].split('train').naiveBatch([3]),
      sets[0].split('train').naiveBatch([1]),
      sets[1].split('train').naiveBatch([0]),
      sets[0].split('train').naiveBatch([0]),
    ].flatMap((x) => Array.from(x)),
  );
  const other = ForecastDataset.fromTable(await readTable(join(dir, 'p0.csv')), { ...DS, predLen: 4 });
  t.throws(() => pooledDataset([sets[0], other]), /fleet\.global: the series differ/);
});

t.test('a fleet pipeline: a run and a registered model per series, per-series skill of both models', async (t) => {
  const dir = tmp(t);
  writePods(join(dir, 'pods.csv'));
  writeFileSync(
    join(dir, 'fleet.json'),
    JSON.stringify({
      name: 'pods',
      data: { path: 'pods.csv', seriesColumn: 'pod', target: 'load', features: 'S', freq: '1min' },
      model: { seqLen: 12, labelLen: 6, predLen: 3, ...MODEL },
      training: TRAIN,
      gate: { minSkill: -100 },
      register: { name: 'cpu-{series}' },
      export: { formats: ['onnx'] },
      fleet: { concurrency: 2, global: true },
    }),
  );
  const store = RunStore.open(join(dir, 'mlruns'));
  const r = await runPipeline(readPipeline(join(dir, 'fleet.json')), { store });
  t.equal(r.status, 'FINISHED', JSON.stringify(r.error));
  const trainRun = r.steps[1].runId;
  const seriesRuns = searchRuns(store, { filter: `tags."mlflow.parentRunId" = '${trainRun}'` });
  t.same(seriesRuns.map((x) => x.info.runName).sort(), ['train-global', 'train-pod-a', 'train-pod-b', 'train-pod-c']);
  for (const x of seriesRuns) {
    t.equal(x.info.status, 'FINISHED');
    t.ok(x.data.metrics.val_loss !== undefined, `${x.info.runName} is autologged`);
  }
  const ev = JSON.parse(readFileSync(join(r.steps[2].artifacts.metrics, 'evaluation.json'), 'utf8'));
  t.same(
    ev.series.map((e) => e.series),
    PODS,
  );
  for (const e of ev.series) {
    t.ok(Number.isFinite(e.test.skill) && Number.isFinite(e.global.skill), `${e.series}: skill of both models`);
    t.equal(e.global.naive_mse, e.test.naive_mse, 'both scored on the same windows');
  }
  // pod-b by hand: its dataset folder, its model and the global model.
  const dsDir = join(r.steps[0].artifacts.dataset, 'series', 'pod-b');
  const args = JSON.parse(readFileSync(join(dsDir, 'model_args.json'), 'utf8'));
  const ds = ForecastDataset.fromTable(await readTable(join(dsDir, 'data.parquet')), args.dataset);
  for (const [dirName, key] of [
    [join('series', 'pod-b'), 'test'],
    ['global', 'global'],
  ]) {
    const m = Informer.load(join(r.steps[1].artifacts.model, dirName, 'model.safetensors'));
    const ref = (await new Trainer(m, ds, { batchSize: 16 }).testMetrics()).test;
    t.ok(Math.abs(ev.series[1][key].mse - ref.mse) < 1e-6, `pod-b ${key} mse`);
    m.dispose();
  }
  const evalRun = getRun(store, r.steps[2].runId);
  t.equal(evalRun.data.metrics['skill/pod-b'], ev.series[1].test.skill);
  t.equal(evalRun.data.metrics['global_skill/pod-b'], ev.series[1].global.skill);
  for (const pod of PODS) t.equal(getModelVersionByAlias(store, `cpu-${pod}`, 'champion').version, 1);

  // A gate between the series' skills: only the series above it are registered; preprocess and
  // train are reused (only the gate changed).
  const skills = ev.series.map((e) => e.test.skill).sort((a, b) => a - b);
  const gate = (skills[0] + skills[1]) / 2;
  const gated = await runPipeline(readPipeline(join(dir, 'fleet.json'), { 'gate.minSkill': gate, 'register.name': 'gated-{series}' }), {
    store,
  });
  t.equal(gated.status, 'FINISHED', JSON.stringify(gated.error));
  t.same(
    gated.steps.slice(0, 2).map((s) => s.status),
    ['REUSED', 'REUSED'],
  );
  const reg = JSON.parse(readFileSync(join(gated.steps[3].artifacts.registration, 'registration.json'), 'utf8')).models;
  t.same(
    reg.map((m) => m.series).sort(),
    ev.series
      .filter((e) => e.test.skill > gate)
      .map((e) => e.series)
      .sort(),
    'the series above the gate, and only those',
  );
  t.equal(reg.length, 2);
  const none = await runPipeline(readPipeline(join(dir, 'fleet.json'), { 'gate.minSkill': skills[2] + 1 }), { store });
  t.equal(none.status, 'FAILED');
  t.match(none.error.message, /gate failed: series pod-a: skill .*; series pod-b: .*; series pod-c: /);

  // Files as series: ids from the file names.
  writeOne(join(dir, 'east.csv'), 0);
  writeOne(join(dir, 'west.csv'), 1);
  writeFileSync(join(dir, 'files.json'), JSON.stringify({ name: 'regions', data: { paths: ['east.csv', 'west.csv'], target: 'load' } }));
  const f = await runPipeline(readPipeline(join(dir, 'files.json')), { store, until: 'preprocess' });
  const index = JSON.parse(readFileSync(join(f.steps[0].artifacts.dataset, 'index.json'), 'utf8'));
  t.same(
    index.series.map((s) => [s.series, s.dir, s.rows]),
    [
      ['east', 'series/east', 300],
      ['west', 'series/west', 300],
    ],
  );
});
