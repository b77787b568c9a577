// `tune`: the successive-halving schedule against hand-worked cases, the search space's parsing and
// sampling, and real searches on the bundled pod trace: child runs, the best trial, resuming an
// interrupted search, and trials in worker processes giving the same losses as in-process ones.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import {
  ConfigError,
  RunStore,
  nextAshaJob,
  parseSearchSpace,
  parseSpecString,
  readSearchSpace,
  readTable,
  rungEpochs,
  sampleTrial,
  tracking,
  tune,
} from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const POD = join(root, 'data', 'alibaba_pod.csv');

t.test('rungEpochs: minEpochs * eta^k below maxEpochs, then maxEpochs', async (t) => {
  t.same(rungEpochs(1, 9, 3), [1, 3, 9]);
  t.same(rungEpochs(1, 6, 3), [1, 3, 6]);
  t.same(rungEpochs(2, 16, 2), [2, 4, 8, 16]);
  t.same(rungEpochs(4, 4, 3), [4]);
  t.throws(() => rungEpochs(0, 9, 3), ConfigError);
  t.throws(() => rungEpochs(3, 2, 3), { name: 'ConfigError', message: /maxEpochs/ });
  t.throws(() => rungEpochs(1, 9, 1), { name: 'ConfigError', message: /eta/ });
});

t.test('nextAshaJob promotes the top 1/eta of a rung, highest rung first, else starts a trial', async (t) => {
  const trial = (results, running = null, final = false) => ({ results, running, final });
  // Two of three finished rung 0: floor(2/3) = 0 may move on, so a new trial starts.
  t.same(nextAshaJob([trial([0.5]), trial([0.4]), trial([], 0)], 3, 3, true), { kind: 'new', rung: 0 });
  t.equal(nextAshaJob([trial([0.5]), trial([0.4]), trial([], 0)], 3, 3, false), null, 'no new trial once the budget is spent');
  // Three finished rung 0: the best (trial 1) is promoted.
  const three = [trial([0.5]), trial([0.4]), trial([0.6])];
  t.same(nextAshaJob(three, 3, 3, true), { kind: 'promote', trial: 1, rung: 1 });
  // Once it runs rung 1 (or finished it), nothing else of rung 0 qualifies.
  t.same(nextAshaJob([trial([0.5]), trial([0.4], 1), trial([0.6])], 3, 3, true), { kind: 'new', rung: 0 });
  t.same(nextAshaJob([trial([0.5]), trial([0.4, 0.3]), trial([0.6])], 3, 3, false), null);
  // Six in rung 0: the best two move on, best first; a stopped-early trial is skipped.
  const six = [0.9, 0.2, 0.8, 0.1, 0.7, 0.6].map((v) => trial([v]));
  t.same(nextAshaJob(six, 3, 3, false), { kind: 'promote', trial: 3, rung: 1 });
  six[3] = trial([0.1], null, true);
  t.same(nextAshaJob(six, 3, 3, false), { kind: 'promote', trial: 1, rung: 1 });
  // Rung 1 has three finished: its best goes to rung 2 before anything of rung 0.
  const deep = [trial([0.3, 0.25]), trial([0.2, 0.15]), trial([0.1, 0.35]), ...[0.5, 0.6, 0.7, 0.8, 0.9].map((v) => trial([v]))];
  t.same(nextAshaJob(deep, 3, 3, true), { kind: 'promote', trial: 1, rung: 2 });
  // Ties break by trial number.
  t.same(nextAshaJob([trial([0.5]), trial([0.5]), trial([0.5])], 2, 3, false), { kind: 'promote', trial: 0, rung: 1 });
});

t.test('search spaces: written forms, names in both spellings, and errors that name the setting', async (t) => {
  const s = parseSearchSpace({
    d_model: [16, 32],
    learningRate: { loguniform: [1e-4, 1e-2] },
    dropout: { uniform: [0, 0.3] },
    eLayers: { int: [1, 3] },
    attn: 'full',
  });
  t.same(s.dModel, { kind: 'choice', values: [16, 32] }, 'snake_case names map to the config keys');
  t.same(s.learningRate, { kind: 'loguniform', low: 1e-4, high: 1e-2 });
  t.same(s.eLayers, { kind: 'int', low: 1, high: 3 });
  t.same(s.attn, { kind: 'choice', values: ['full'] }, 'a fixed value is a one-value choice');
  t.throws(() => parseSearchSpace({ dModle: [8] }), { name: 'ConfigError', message: /unknown setting 'dModle'/ });
  t.throws(() => parseSearchSpace({ predLen: [4, 8] }), { name: 'ConfigError', message: /'predLen' is fixed by the data/ });
  t.throws(() => parseSearchSpace({ dropout: { uniform: [0.3, 0.1] } }), { name: 'ConfigError', message: /dropout\.uniform/ });
  t.throws(() => parseSearchSpace({ learningRate: { loguniform: [0, 1] } }), { name: 'ConfigError', message: /learningRate/ });
  t.same(parseSpecString('dModel', '16,32,64'), { kind: 'choice', values: [16, 32, 64] });
  t.same(parseSpecString('learningRate', '1e-4:1e-2:log'), { kind: 'loguniform', low: 1e-4, high: 1e-2 });
  t.same(parseSpecString('eLayers', '1:3:int'), { kind: 'int', low: 1, high: 3 });

  const dir = mkdtempSync(join(tmpdir(), 'informer-space-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // YAML 1.2 numbers: 1e-4 is a number here (the search space is not an MLflow file).
  writeFileSync(join(dir, 'space.yaml'), 'learning_rate:\n  loguniform: [1e-4, 3e-3]\nnormalize: [none, revin]\n');
  t.same(readSearchSpace(join(dir, 'space.yaml')), {
    learningRate: { kind: 'loguniform', low: 1e-4, high: 3e-3 },
    normalize: { kind: 'choice', values: ['none', 'revin'] },
  });
  writeFileSync(join(dir, 'bad.json'), '{"dModel": [8,');
  t.throws(() => readSearchSpace(join(dir, 'bad.json')), { name: 'ConfigError', message: /bad\.json is not valid JSON/ });
  t.throws(() => readSearchSpace(join(dir, 'missing.yaml')), ConfigError);
});

t.test('sampleTrial: trial i always gets the same draw, inside the bounds, with valid configurations', async (t) => {
  const space = parseSearchSpace({
    dModel: [16, 32, 64],
    nHeads: [2, 4],
    learningRate: { loguniform: [1e-4, 1e-2] },
    dropout: { uniform: [0, 0.3] },
    eLayers: { int: [1, 3] },
  });
  const base = { seqLen: 24, labelLen: 12, predLen: 6, encIn: 1, decIn: 1, cOut: 1 };
  const draws = Array.from({ length: 200 }, (_, i) => sampleTrial(space, 7, i, base));
  t.same(sampleTrial(space, 7, 13, base), draws[13], 'same seed and index, same trial');
  t.not(JSON.stringify(sampleTrial(space, 8, 13, base)), JSON.stringify(draws[13]), 'another seed, another trial');
  t.ok(
    draws.every((d) => [16, 32, 64].includes(d.dModel) && [2, 4].includes(d.nHeads)),
    'choices come from their lists',
  );
  t.ok(
    draws.every((d) => d.learningRate >= 1e-4 && d.learningRate <= 1e-2 && d.dropout >= 0 && d.dropout <= 0.3),
    'ranges hold',
  );
  t.ok(
    draws.every((d) => Number.isInteger(d.eLayers) && d.eLayers >= 1 && d.eLayers <= 3),
    'int ranges give integers, both ends included',
  );
  t.same(new Set(draws.map((d) => d.eLayers)), new Set([1, 2, 3]));
  // Log-uniform: about half the draws below the geometric midpoint 1e-3.
  const low = draws.filter((d) => d.learningRate < 1e-3).length / draws.length;
  t.ok(low > 0.38 && low < 0.62, `log-uniform: ${low} of the draws below 1e-3`);
});

async function podTable() {
  const table = await readTable(POD);
  return table;
}

const quick = {
  space: { dModel: [8, 16], dFf: [16, 32], learningRate: { loguniform: [3e-4, 3e-3] }, normalize: ['none', 'revin'] },
  fixed: { nHeads: 2, eLayers: 1, dLayers: 1, dropout: 0 },
  target: 'cpu_utilization',
  features: 'S',
  seqLen: 12,
  labelLen: 6,
  predLen: 3,
  minEpochs: 1,
  maxEpochs: 3,
  eta: 3,
  maxStepsPerEpoch: 6,
  seed: 3,
  onnx: false,
};

t.test('a search on the pod trace: child runs, their metrics, the best trial and its model', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-tune-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = RunStore.open(dir);
  const events = [];
  const result = await tune({
    ...quick,
    data: POD,
    maxTrials: 5,
    parallel: 0,
    store,
    registeredModelName: 'pod-tuned',
    onProgress: (e) => events.push(e),
  });

  t.equal(result.trials.length, 5, 'five trials');
  t.equal(result.interrupted, false);
  const parent = tracking.reader.getRun(store, result.runId);
  t.equal(parent.info.status, 'FINISHED');
  const children = tracking.reader.searchRuns(store, {
    experimentIds: [result.experimentId],
    filter: `tags.mlflow.parentRunId = '${result.runId}'`,
  });
  t.equal(children.length, 5, 'one child run per trial');
  for (const trial of result.trials) {
    const child = children.find((c) => c.info.runId === trial.runId);
    t.ok(child, `trial ${trial.trial} has its run`);
    const history = tracking.reader.getMetricHistory(store, trial.runId, 'val_loss');
    t.equal(history.length, trial.epochs, `trial ${trial.trial}: one val_loss per epoch`);
    t.equal(Math.min(...history.map((m) => m.value)), trial.valLoss, `trial ${trial.trial}: its loss is its best logged val_loss`);
    // Params under the names `informer train` logs them.
    const p = trial.params;
    t.same(
      [child.data.params.d_model, child.data.params.d_ff, child.data.params.learning_rate, child.data.params.normalize],
      [String(p.dModel), String(p.dFf), String(p.learningRate), p.normalize],
      `trial ${trial.trial}: its settings are its run's params`,
    );
  }
  // The best is the smallest validation loss; rung 0 gives 1 epoch, promotion 3.
  const best = Math.min(...result.trials.map((x) => x.valLoss));
  t.equal(result.best.valLoss, best);
  t.same(
    result.table.rows.map((r) => r[0]),
    [...result.trials].sort((a, b) => a.valLoss - b.valLoss || a.trial - b.trial).map((x) => x.trial),
    'table best first',
  );
  t.ok(
    result.trials.some((x) => x.epochs === 3),
    'at least one trial was promoted to the last rung',
  );
  t.ok(result.trials.every((x) => x.epochs <= 3));
  t.ok(
    result.test.mse > 0 && result.test.naive_mse > 0 && Math.abs(result.test.skill - (1 - result.test.mse / result.test.naive_mse)) < 1e-9,
    'test metrics of the best trial next to the naive forecast',
  );
  t.ok(existsSync(join(parent.info.artifactUri.replace(/^file:\/\//, ''), 'tune', 'trials.csv')), 'trials table artifact');
  const svg = readFileSync(join(parent.info.artifactUri.replace(/^file:\/\//, ''), 'plots', 'tune_settings_vs_val_loss.svg'), 'utf8');
  t.match(svg, /<svg/, 'settings-vs-loss plot');
  t.equal(result.model.registeredModelVersion, 1, 'registered as version 1');
  t.ok(
    existsSync(join(parent.info.artifactUri.replace(/^file:\/\//, ''), 'model', 'MLmodel')),
    'the best model is logged in the parent run',
  );
  t.ok(events.some((e) => e.type === 'rung') && events.at(-1).type === 'finished', 'progress events');
});

t.test('an interrupted search resumes where it stopped and runs no trial twice', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-tune-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = RunStore.open(dir);
  const table = await podTable();
  const ac = new AbortController();
  let rungs = 0;
  const first = await tune({
    ...quick,
    data: table,
    maxTrials: 6,
    parallel: 0,
    store,
    signal: ac.signal,
    onProgress: (e) => {
      if (e.type === 'rung' && ++rungs === 2) ac.abort();
    },
  });
  t.equal(first.interrupted, true, 'the signal interrupts the search');
  t.ok(first.trials.length < 6, `stopped after ${first.trials.length} trials`);
  t.equal(
    tracking.reader.getRun(store, first.runId).info.status,
    'KILLED',
    'the interrupted parent run is marked KILLED, not left RUNNING',
  );

  const done = await tune({ data: table, resume: first.runId, parallel: 0, store });
  t.equal(done.runId, first.runId, 'same parent run');
  t.equal(done.trials.length, 6, 'the budget of six trials is completed');
  t.same(
    done.trials.map((x) => x.trial),
    [0, 1, 2, 3, 4, 5],
  );
  const children = tracking.reader.searchRuns(store, {
    experimentIds: [done.experimentId],
    filter: `tags.mlflow.parentRunId = '${done.runId}'`,
  });
  t.equal(children.length, 6, 'no trial was run twice');
  // Finished trials kept their results across the interruption.
  for (const x of first.trials.filter((x) => x.status === 'completed' || x.status === 'paused')) {
    const again = done.trials.find((y) => y.trial === x.trial);
    t.ok(again.valLoss <= x.valLoss, `trial ${x.trial} kept its loss (${x.valLoss} -> ${again.valLoss})`);
  }
  // A finished search takes a larger budget; its model folder is never replaced.
  const firstModel = readFileSync(join(done.model.modelDir, 'MLmodel'), 'utf8');
  const again = await tune({ data: table, resume: done.runId, maxTrials: 8, parallel: 0, store });
  t.equal(again.trials.length, 8);
  if (again.best.trial === done.best.trial) t.equal(again.modelUri, done.modelUri, 'same best trial: the same model');
  else t.equal(again.modelUri, `runs:/${done.runId}/model_trial_${again.best.trial}`, 'a new best trial: its model beside the first');
  t.equal(readFileSync(join(done.model.modelDir, 'MLmodel'), 'utf8'), firstModel, 'the first model folder is untouched');
  await t.rejects(tune({ data: table, resume: 'f'.repeat(32), store }), { message: /f{32}/ }, 'resuming an unknown run names it');
  t.equal(tracking.reader.getRun(store, done.runId).info.status, 'FINISHED');
});

t.test('trials in worker processes reach the same losses as in this process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-tune-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = RunStore.open(dir);
  const table = await podTable();
  // One rung: every trial trains the same epochs whatever order the workers finish in.
  const opts = { ...quick, minEpochs: 2, maxEpochs: 2, data: table, maxTrials: 4, store, threadsPerTrial: 1 };
  const inline = await tune({ ...opts, parallel: 0 });
  const pooled = await tune({ ...opts, parallel: 2 });
  const byTrial = (r) => Object.fromEntries(r.trials.map((x) => [x.trial, x]));
  const a = byTrial(inline);
  const b = byTrial(pooled);
  for (const i of Object.keys(a)) {
    t.same(b[i].params, a[i].params, `trial ${i}: same settings`);
    t.ok(Math.abs(b[i].valLoss - a[i].valLoss) <= 1e-6 * Math.max(1, a[i].valLoss), `trial ${i}: ${a[i].valLoss} vs ${b[i].valLoss}`);
  }
});

t.test('bad options fail before any run is created', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-tune-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = RunStore.open(dir);
  const table = await podTable();
  await t.rejects(tune({ ...quick, data: table, store, space: {} }), { name: 'ConfigError', message: /empty/ });
  await t.rejects(tune({ ...quick, data: table, store, maxTrials: 0 }), { name: 'ConfigError', message: /maxTrials/ });
  await t.rejects(tune({ ...quick, data: table, store, target: 'nope' }), /nope/);
  await t.rejects(
    tune({ ...quick, data: table, store, space: { dModel: [7] }, fixed: { nHeads: 2 } }),
    ConfigError,
    'd_model not divisible by heads',
  );
  t.same(tracking.reader.searchRuns(store, {}), [], 'no run was created');
});
