// Async calls from JavaScript may overlap: passes on one model are serialised by its lock, passes on
// different models run side by side, and the event loop stays free while they run.
import t from 'tap';

import { Adam, Informer } from '../dist/index.js';
import { randomBatch } from './helpers/fixtures.js';

const cfg = { seqLen: 48, labelLen: 24, predLen: 12, encIn: 3, decIn: 3, cOut: 3, dModel: 64, nHeads: 4, dFf: 128, seed: 9 };

t.test('overlapping forwards on one model all get the sequential answer', async (t) => {
  const m = new Informer(cfg);
  t.teardown(() => m.dispose());
  const batches = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => randomBatch(m.config, m.nMark, 4, s));
  const want = batches.map((b) => Array.from(m.forwardSync(b).data));
  const got = await Promise.all(batches.map((b) => m.forward(b)));
  got.forEach((g, i) => t.same(Array.from(g.data), want[i], `batch ${i}`));
});

t.test('two models run at the same time without interfering', async (t) => {
  const a = new Informer(cfg);
  const b = new Informer({ ...cfg, seed: 10 });
  t.teardown(() => { a.dispose(); b.dispose(); });
  const batch = randomBatch(a.config, a.nMark, 8, 3);
  const wantA = Array.from(a.forwardSync(batch).data), wantB = Array.from(b.forwardSync(batch).data);
  const runs = [];
  for (let i = 0; i < 6; i++) runs.push(a.forward(batch), b.forward(batch));
  const out = await Promise.all(runs);
  out.forEach((o, i) => t.same(Array.from(o.data), i % 2 === 0 ? wantA : wantB));
});

t.test('training steps queued behind forwards keep the model consistent; the event loop keeps turning', async (t) => {
  const m = new Informer({ ...cfg, dropout: 0 });
  t.teardown(() => m.dispose());
  const batch = randomBatch(m.config, m.nMark, 8, 4);
  const target = { data: new Float32Array(8 * 12 * 3).fill(0.5), shape: [8, 12, 3] };
  const adam = new Adam({ lr: 1e-3 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const losses = [];
  for (let i = 0; i < 10; i++) losses.push(await m.trainStep(batch, target, adam));
  clearInterval(timer);
  t.ok(losses[9] < losses[0], `loss ${losses[0]} -> ${losses[9]}`);
  t.ok(ticks > 0, `timers ran ${ticks} times while training`);
  t.equal(m.optimizerState().step, 10);
});
