// Training-step time (forward + backward + Adam, one native call) at batch 32 for the seed and
// paper configs, against the same step with dropout off (the cheapest step, same process), and
// next to PyTorch running the reference algorithm on the same machine in the same run (when python3
// with torch is there). Peak RSS of paper training runs in a child process so that nothing else in
// this process counts.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Adam, Informer } from '../dist/index.js';
import { PAPER, REFERENCE, SEED, machine, measure, ms, pytorchBaseline, randomBatch, table } from './common.mjs';

if (process.argv[2] === '--rss-child') {
  const model = new Informer(PAPER);
  const batch = randomBatch(model.config, model.nMark, 32);
  const target = { data: new Float32Array(32 * PAPER.predLen * PAPER.cOut), shape: [32, PAPER.predLen, PAPER.cOut] };
  const adam = new Adam();
  let peak = 0;
  for (let i = 0; i < 4; i++) {
    await model.trainStep(batch, target, adam);
    peak = Math.max(peak, process.resourceUsage().maxRSS / 1024);
  }
  console.log(JSON.stringify({ peakRssMiB: peak }));
  process.exit(0);
}

const rows = [];
let torchLabel = 'PyTorch';
for (const [name, cfg] of [
  ['seed', SEED],
  ['paper', PAPER],
]) {
  const model = new Informer(cfg);
  const noDrop = Informer.fromStateDict({ ...cfg, dropout: 0 }, model.stateDict());
  const batch = randomBatch(model.config, model.nMark, 32);
  const target = { data: new Float32Array(32 * cfg.predLen * cfg.cOut).fill(0.1), shape: [32, cfg.predLen, cfg.cOut] };
  const adam = new Adam();
  const slow = name === 'paper';
  const opts = { minSamples: slow ? 5 : 30, maxTime: slow ? 15 : 3 };
  const step = await measure(`${name} train step`, () => model.trainStepSync(batch, target, adam), opts);
  const plain = await measure(`${name} train step, dropout 0`, () => noDrop.trainStepSync(batch, target, adam), opts);
  const torch = pytorchBaseline(name);
  torchLabel = torch.ran ? torch.label : torchLabel;
  rows.push([
    name,
    ms(step.median),
    ms(plain.median),
    torch.ran ? `${torch.trainStepMs.toFixed(torch.trainStepMs < 100 ? 2 : 0)} ms` : `not run: ${torch.reason}`,
    torch.ran ? `${(torch.trainStepMs / 1e3 / step.median).toFixed(1)}x` : '–',
  ]);
  console.error(`${name}: ${ms(step.median)} (dropout 0: ${ms(plain.median)})`);
  model.dispose();
  noDrop.dispose();
}
const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--rss-child'], { encoding: 'utf8' });
const { peakRssMiB } = JSON.parse(child.stdout.trim().split('\n').pop());
console.log(
  `### Training step (batch 32)\n\nMachine: ${machine()}. Medians of benchmark.js samples; the dropout-0 column is the same step without dropout masks, same process; PyTorch runs the reference algorithm (bench/cuda/pytorch_informer.py, same batch size, Adam, MSE, dropout) in a child process of the same run.\n`,
);
console.log(table(['config', 'informer-node', 'informer-node, dropout 0', `${torchLabel}, same run`, 'speed-up'], rows));
console.log(
  `\nPeak RSS while training the paper config (batch 32, whole Node process): **${peakRssMiB.toFixed(0)} MiB** (PyTorch: ${REFERENCE.paper.peakRssMiB} MiB, DESIGN.md, not measured here).`,
);
