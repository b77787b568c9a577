// Training: Adam against its formula, the schedule and early stopping against the reference rules,
// and a short real run on the bundled Alibaba pod trace that must beat the naive forecast.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { Adam, ConfigError, EarlyStopping, ForecastDataset, Informer, Trainer, adjustedLearningRate, readTable } from '../dist/index.js';
import { randomBatch } from './helpers/fixtures.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tiny = { seqLen: 16, labelLen: 8, predLen: 4, encIn: 2, decIn: 2, cOut: 2, dModel: 8, nHeads: 2, dFf: 16, dropout: 0, seed: 4 };

t.test('trainStep applies exactly one PyTorch-style Adam update to the lossAndGrad gradients', (t) => {
  const m = new Informer(tiny);
  t.teardown(() => m.dispose());
  const batch = randomBatch(m.config, m.nMark, 2, 3);
  const target = { data: Float32Array.from({ length: 2 * 4 * 2 }, (_, i) => Math.sin(i)), shape: [2, 4, 2] };
  const samples = m.inferenceSampleIndices();
  const opts = { sampleIndices: samples };
  const before = m.stateDict();
  const { loss, grads } = m.lossAndGradSync(batch, target, opts);
  const adam = new Adam({ lr: 1e-2, weightDecay: 0.1 });
  const stepLoss = m.trainStepSync(batch, target, adam, opts);
  t.equal(stepLoss, loss, 'trainStep reports the loss before the update');
  const after = m.stateDict();
  const [b1, b2] = adam.betas;
  let worst = 0;
  for (const [name, g] of Object.entries(grads)) {
    const p0 = before[name].data,
      p1 = after[name].data;
    for (let i = 0; i < g.length; i++) {
      const gi = g[i] + 0.1 * p0[i];
      const mHat = ((1 - b1) * gi) / (1 - b1);
      const vHat = ((1 - b2) * gi * gi) / (1 - b2);
      const want = p0[i] - (1e-2 * mHat) / (Math.sqrt(vHat) + 1e-8);
      worst = Math.max(worst, Math.abs(p1[i] - want));
    }
  }
  t.ok(worst < 1e-6, `max deviation from the Adam formula ${worst}`);
  for (const name of Object.keys(before).filter((k) => k.endsWith('.pe')))
    t.same(after[name].data, before[name].data, `${name} is a buffer`);
  const state = m.optimizerState();
  t.equal(state.step, 1);
  m.resetOptimizer();
  t.equal(m.optimizerState().step, 0);
  m.setOptimizerState(state);
  t.equal(m.optimizerState().step, 1);
  t.throws(() => m.setOptimizerState({ step: 1, m: new Float32Array(3), v: new Float32Array(3) }), /optimizer state|elements|m has/);
  t.end();
});

t.test('repeated steps on one batch drive its loss down', async (t) => {
  const m = new Informer(tiny);
  t.teardown(() => m.dispose());
  const batch = randomBatch(m.config, m.nMark, 8, 5);
  const target = { data: Float32Array.from({ length: 8 * 4 * 2 }, (_, i) => Math.cos(i / 3)), shape: [8, 4, 2] };
  const adam = new Adam({ lr: 3e-3 });
  const first = await m.trainStep(batch, target, adam);
  let last = first;
  for (let i = 0; i < 60; i++) last = await m.trainStep(batch, target, adam);
  t.ok(last < first * 0.5, `loss ${first} -> ${last}`);
});

t.test('learning-rate schedules follow the reference', (t) => {
  t.same(
    [1, 2, 3, 4].map((e) => adjustedLearningRate('type1', 1e-4, e)),
    [1e-4, 5e-5, 2.5e-5, 1.25e-5],
  );
  t.same(
    [1, 2, 3, 4, 6].map((e) => adjustedLearningRate('type2', 1e-4, e)),
    [undefined, 5e-5, undefined, 1e-5, 5e-6],
  );
  t.equal(adjustedLearningRate('none', 1e-4, 3), undefined);
  t.throws(() => adjustedLearningRate('type9', 1e-4, 1), ConfigError);
  t.end();
});

t.test('early stopping follows the reference rule', (t) => {
  const s = new EarlyStopping(2);
  t.equal(s.update(1.0), true, 'first epoch is the best');
  t.equal(s.update(1.0), true, 'an equal loss counts as improvement');
  t.equal(s.update(1.1), false);
  t.equal(s.stop, false);
  t.equal(s.update(0.9), true, 'improvement resets the counter');
  t.equal(s.update(0.95), false);
  t.equal(s.update(NaN), false, 'NaN is no improvement');
  t.equal(s.stop, true);
  t.equal(s.bestLoss, 0.9);
  const d = new EarlyStopping(3, 0.05);
  d.update(1.0);
  t.equal(d.update(0.97), false, 'improvements smaller than delta do not count');
  t.end();
});

t.test('Trainer rejects a model that does not fit the dataset', async (t) => {
  const table = await readTable(join(root, 'data', 'alibaba_pod.csv'));
  const ds = ForecastDataset.fromTable(table, {
    features: 'S',
    target: 'cpu_utilization',
    seqLen: 12,
    labelLen: 12,
    predLen: 6,
    freq: 't',
  });
  const wrong = new Informer({ ...ds.modelConfig(), predLen: 7, dModel: 8, nHeads: 2, dFf: 8 });
  t.throws(() => new Trainer(wrong, ds), { name: 'ConfigError', message: /predLen/ });
  const hourly = new Informer({ ...ds.modelConfig(), freq: 'h', dModel: 8, nHeads: 2, dFf: 8 });
  t.throws(() => new Trainer(hourly, ds), { name: 'ConfigError', message: /time-mark/ });
  t.throws(() => new Trainer(new Informer({ ...ds.modelConfig(), dModel: 8, nHeads: 2, dFf: 8 }), ds, { batchSize: 0 }), ConfigError);
  wrong.dispose();
  hourly.dispose();
});

t.test('seed config on the Alibaba pod trace beats the naive forecast; save/reload keeps forecasts', async (t) => {
  const table = await readTable(join(root, 'data', 'alibaba_pod.csv'));
  const ds = ForecastDataset.fromTable(table, {
    features: 'S',
    target: 'cpu_utilization',
    seqLen: 12,
    labelLen: 12,
    predLen: 6,
    freq: 't',
  });
  const model = new Informer({ ...ds.modelConfig(), dModel: 32, nHeads: 4, eLayers: 1, dLayers: 1, dFf: 128, seed: 0 });
  t.teardown(() => model.dispose());
  const steps = [];
  const trainer = new Trainer(model, ds, { epochs: 2, onStep: (e) => steps.push(e.loss), inverse: true });
  const r = await trainer.fit();
  t.equal(r.epochs.length, 2);
  const head = steps.slice(0, 50).reduce((a, b) => a + b) / 50;
  const tail = steps.slice(-50).reduce((a, b) => a + b) / 50;
  t.ok(tail < head, `train loss decreases: first 50 steps ${head.toFixed(4)}, last 50 ${tail.toFixed(4)}`);
  t.ok(r.epochs[1].valLoss <= r.epochs[0].valLoss * 1.05, 'validation loss does not blow up');
  t.ok(r.test.mse < r.test.naive_mse, `test MSE ${r.test.mse.toFixed(4)} < naive ${r.test.naive_mse.toFixed(4)}`);
  t.ok(r.test.skill > 0);
  t.ok(r.testOriginal.mse < r.testOriginal.naive_mse, 'also in the original units');
  t.ok(Math.abs(r.test.rmse - Math.sqrt(r.test.mse)) < 1e-12);

  const dir = mkdtempSync(join(tmpdir(), 'informer-train-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  model.save(join(dir, 'model.safetensors'));
  const loaded = Informer.load(join(dir, 'model.safetensors'));
  const { batch } = ds.split('test').batch([0, 1, 2, 3]);
  t.same(Array.from(loaded.forwardSync(batch).data), Array.from(model.forwardSync(batch).data));
  loaded.dispose();
});

t.test('cancellation stops between steps and leaves a usable model', async (t) => {
  const table = await readTable(join(root, 'data', 'alibaba_pod.csv'));
  const ds = ForecastDataset.fromTable(table, {
    features: 'S',
    target: 'cpu_utilization',
    seqLen: 12,
    labelLen: 12,
    predLen: 6,
    freq: 't',
  });
  const model = new Informer({ ...ds.modelConfig(), dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32, seed: 1 });
  t.teardown(() => model.dispose());
  const controller = new AbortController();
  let seen = 0;
  const trainer = new Trainer(model, ds, {
    epochs: 3,
    onStep: (e) => {
      seen++;
      if (e.epoch === 2 && e.step === 10) controller.abort();
    },
    signal: controller.signal,
  });
  const r = await trainer.fit();
  t.equal(r.cancelled, true);
  t.equal(r.epochs.length, 1, 'the finished epoch is kept');
  t.ok(seen < (2 * ds.split('train').length) / 32);
  t.ok(Number.isFinite(r.test.mse), 'the restored model still forecasts');
});
