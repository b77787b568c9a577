// Accuracy run: ETTh1, features S (target OT), seq 96 / label 48 / pred 24, the paper model size
// (d_model 512, 8 heads, 2+1 layers, d_ff 2048), 6 epochs, patience 3, lr 1e-4, batch 32, ETT-hour
// splits — the reference's main_informer.py defaults. Prints test MSE/MAE (z-scored, as the paper
// reports), the naive last-value forecast on the same windows, and wall time, next to the paper's
// univariate ETTh1 row (REFERENCE.md appendix B; the paper used seq 720 / label 168 for that row).
//   node bench/accuracy-etth1.mjs [--epochs N]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ForecastDataset, Informer, Trainer, readTable } from '../dist/index.js';
import { machine, table } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const epochsArg = process.argv.indexOf('--epochs');
const epochs = epochsArg > 0 ? Number(process.argv[epochsArg + 1]) : 6;

const started = Date.now();
const tableData = await readTable(join(root, 'data', 'ETTh1.csv'));
const data = ForecastDataset.fromTable(tableData, {
  features: 'S',
  target: 'OT',
  seqLen: 96,
  labelLen: 48,
  predLen: 24,
  freq: 'h',
  split: 'ett-hour',
});
const model = new Informer({ ...data.modelConfig(), seed: 0 });
const trainer = new Trainer(model, data, {
  epochs,
  patience: 3,
  learningRate: 1e-4,
  batchSize: 32,
  onStep: (e) => {
    if (e.step % 50 === 0 || e.step === e.steps) {
      const eta = ((e.elapsedMs / e.step) * (e.steps - e.step)) / 1000;
      console.error(`epoch ${e.epoch} step ${e.step}/${e.steps} loss ${e.loss.toFixed(4)} (epoch ETA ${eta.toFixed(0)} s)`);
    }
  },
  onEpoch: (e) =>
    console.error(
      `epoch ${e.epoch}: train ${e.trainLoss.toFixed(4)} val ${e.valLoss.toFixed(4)} test ${e.testLoss?.toFixed(4)} (${e.seconds.toFixed(0)} s)`,
    ),
});
const r = await trainer.fit();
const wall = (Date.now() - started) / 1000;
console.log(`### Accuracy: ETTh1, features S, target OT, seq 96/48/24, paper model size\n`);
console.log(
  `Machine: ${machine()}. ${r.epochs.length} epochs (best ${r.bestEpoch}${r.stoppedEarly ? ', stopped early' : ''}), wall time ${(wall / 60).toFixed(1)} min (${(wall / r.epochs.length).toFixed(0)} s per epoch incl. validation and test).\n`,
);
console.log(
  table(
    ['', 'test MSE', 'test MAE'],
    [
      ['informer-node', r.test.mse.toFixed(4), r.test.mae.toFixed(4)],
      ['naive last value, same windows', r.test.naive_mse.toFixed(4), r.test.naive_mae.toFixed(4)],
      ['PyTorch reference, 1 epoch, seq 96 (DESIGN.md 5; 954 s per epoch)', '0.131', '0.304'],
      ['paper, Informer, univariate ETTh1 pred 24 (seq 720)', '0.098', '0.247'],
    ],
  ),
);
console.log(
  `\nPer epoch: ${r.epochs.map((e) => `${e.epoch}: train ${e.trainLoss.toFixed(4)}, val ${e.valLoss.toFixed(4)}, test ${e.testLoss?.toFixed(4)}, ${e.seconds.toFixed(0)} s`).join('; ')}.`,
);
