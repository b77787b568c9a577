// Accuracy with tuning: `tune` (random search + ASHA, instance normalisation in the space) within a
// wall-time budget on a bundled dataset, then the best trial's test metrics next to the naive
// last-value forecast on the same windows, and the same task trained with the fixed settings and no
// normalisation (the reference protocol) for comparison.
//   node bench/accuracy-tune.mjs --data etth1|pod [--budget-minutes 20] [--parallel 2]
// ETTh1: features S, target OT, seq 96 / label 48 / pred 24, ETT-hour split (the paper's univariate task).
// pod: the bundled Alibaba pod trace with the seed task (S, cpu_utilization, seq 12 / 12 / 6, 1 minute).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ForecastDataset, Informer, RunStore, Trainer, readTable, tune } from '../dist/index.js';
import { machine, table } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};

const TASKS = {
  etth1: {
    title: 'ETTh1, features S, target OT, seq 96/48/24, ETT-hour split',
    file: 'ETTh1.csv',
    data: { features: 'S', target: 'OT', seqLen: 96, labelLen: 48, predLen: 24, freq: 'h', split: 'ett-hour' },
    // The reference protocol: the paper model size, 6 epochs, lr 1e-4 (bench/accuracy-etth1.mjs runs it).
    reference: null,
    space: {
      dModel: [16, 32, 64, 128],
      nHeads: [2, 4, 8],
      eLayers: [1, 2],
      dLayers: [1],
      dFf: [32, 64, 128, 256],
      dropout: { uniform: [0, 0.2] },
      learningRate: { loguniform: [1e-4, 3e-3] },
      batchSize: [32, 64],
      normalize: ['none', 'revin', 'last'],
      attn: ['prob', 'full'],
    },
  },
  pod: {
    title: 'Alibaba pod CPU, features S, target cpu_utilization, seq 12/12/6 (the seed task)',
    file: 'alibaba_pod.csv',
    data: { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 12, predLen: 6, freq: '1min' },
    // `informer train`'s seed configuration, without normalisation.
    reference: { dModel: 32, nHeads: 4, eLayers: 1, dLayers: 1, dFf: 128, epochs: 6, learningRate: 1e-4, batchSize: 32 },
    space: {
      dModel: [16, 32, 64],
      nHeads: [2, 4],
      eLayers: [1, 2],
      dLayers: [1],
      dFf: [32, 64, 128],
      dropout: { uniform: [0, 0.2] },
      learningRate: { loguniform: [1e-4, 3e-3] },
      batchSize: [32, 64],
      normalize: ['none', 'revin', 'last'],
      attn: ['prob', 'full'],
    },
  },
};

const name = arg('data', 'pod');
const task = TASKS[name];
if (!task) throw new Error(`--data must be one of ${Object.keys(TASKS).join(', ')}`);
const budgetMinutes = Number(arg('budget-minutes', '20'));
const parallel = Number(arg('parallel', '2'));
const dir = mkdtempSync(join(tmpdir(), 'informer-accuracy-'));
const file = join(root, 'data', task.file);

const started = Date.now();
const r = await tune({
  data: file,
  ...task.data,
  space: task.space,
  timeBudget: budgetMinutes * 60,
  maxEpochs: 9,
  parallel,
  seed: 0,
  onnx: false,
  store: RunStore.open(dir),
  experiment: `accuracy-${name}`,
  onProgress: (e) => {
    if (e.type === 'rung')
      console.error(
        `[${e.elapsed.toFixed(0)} s] trial ${e.trial} rung ${e.rung} (${e.epochs} epochs): val ${e.valLoss.toFixed(4)}, best ${e.best.valLoss.toFixed(4)} (trial ${e.best.trial}); ${e.done} rungs done`,
      );
  },
});
const wall = (Date.now() - started) / 1000;

let reference = null;
if (task.reference) {
  const { epochs, learningRate, batchSize, ...model } = task.reference;
  const t0 = Date.now();
  const data = ForecastDataset.fromTable(await readTable(file), task.data);
  const m = new Informer({ ...data.modelConfig(), ...model, seed: 0 });
  const res = await new Trainer(m, data, { epochs, learningRate, batchSize, patience: 3 }).fit();
  m.dispose();
  reference = { test: res.test, seconds: (Date.now() - t0) / 1000 };
}
rmSync(dir, { recursive: true, force: true });

const completed = r.trials.filter((t) => Number.isFinite(t.valLoss)).length;
const fmt = (x) => x.toFixed(4);
const settings = Object.entries(r.best.params)
  .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(3) : v}`)
  .join(', ');
console.log(`### Accuracy with \`tune\`: ${task.title}\n`);
console.log(
  `Machine: ${machine()}. \`tune\` with a ${budgetMinutes}-minute budget, ${parallel} trials at once, rungs of 1, 3, 9 epochs: ${r.trials.length} trials started, ${completed} finished a rung; wall time ${(wall / 60).toFixed(1)} min including the best model's test pass.\n`,
);
const rows = [
  [`tuned (best of ${r.trials.length} trials)`, fmt(r.test.mse), fmt(r.test.mae), fmt(r.test.skill)],
  ['naive last value, same windows', fmt(r.test.naive_mse), fmt(r.test.naive_mae), '0'],
];
if (reference)
  rows.push([
    `reference protocol: seed configuration, no normalisation (${reference.seconds.toFixed(0)} s)`,
    fmt(reference.test.mse),
    fmt(reference.test.mae),
    fmt(reference.test.skill),
  ]);
console.log(table(['', 'test MSE', 'test MAE', 'skill vs naive'], rows));
console.log(`\nBest trial ${r.best.trial} (validation loss ${fmt(r.best.valLoss)}, ${r.best.epochs} epochs): ${settings}.`);
