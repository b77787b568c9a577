// Async calls from JavaScript may overlap: passes on one model are serialised by its lock, passes on
// different models run side by side, and the event loop stays free while they run.
import t from 'tap';

import { Adam, Informer } from '../dist/index.js';
import { randomBatch, seededRandom } from './helpers/fixtures.js';

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
  t.teardown(() => {
    a.dispose();
    b.dispose();
  });
  const batch = randomBatch(a.config, a.nMark, 8, 3);
  const wantA = Array.from(a.forwardSync(batch).data),
    wantB = Array.from(b.forwardSync(batch).data);
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

// Overlapping async calls whose results are settled while the JS thread is busy: each result must be
// the one of its own inputs (issue: lossAndGrad once read the model's shared gradient buffer after the
// worker had released the model, so a later queued call could overwrite it first).
function blockFor(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}
function stepMs(m, batch, target) {
  const t0 = performance.now();
  m.lossAndGradSync(batch, target, { mode: 'eval' });
  return performance.now() - t0;
}

t.test('overlapping async calls with the event loop blocked get their own results', async (t) => {
  const m = new Informer({ ...cfg, dropout: 0 });
  t.teardown(() => m.dispose());
  const batches = [randomBatch(m.config, m.nMark, 8, 21), randomBatch(m.config, m.nMark, 8, 22)];
  const targets = [0.25, -0.5].map((v) => ({ data: new Float32Array(8 * 12 * 3).fill(v), shape: [8, 12, 3] }));
  const wantGrad = [0, 1].map((i) => m.lossAndGradSync(batches[i], targets[i], { mode: 'eval' }));
  const wantFwd = batches.map((b) => Array.from(m.forwardSync(b).data));
  const wantAct = [0, 1].map((i) => m.forwardWithActivations(batches[i]));
  const acts = await Promise.all(wantAct);
  const step = stepMs(m, batches[0], targets[0]);
  const rand = seededRandom(7);
  for (let trial = 0; trial < 6; trial++) {
    const calls = [];
    for (let i = 0; i < 6; i++) {
      const k = i % 2;
      const which = (trial + i) % 3;
      if (which === 0) calls.push(m.lossAndGrad(batches[k], targets[k], { mode: 'eval' }).then((r) => ['grad', k, r]));
      else if (which === 1) calls.push(m.forward(batches[k]).then((r) => ['fwd', k, r]));
      else calls.push(m.forwardWithActivations(batches[k]).then((r) => ['act', k, r]));
    }
    blockFor(step * (1 + rand())); // the workers finish while the JS thread cannot settle their Promises
    const results = await Promise.all(calls);
    for (const [kind, k, r] of results) {
      if (kind === 'grad') {
        t.equal(r.loss, wantGrad[k].loss, `trial ${trial}: loss of batch ${k}`);
        for (const [name, g] of Object.entries(wantGrad[k].grads)) {
          if (Array.from(r.grads[name]).some((v, j) => v !== g[j])) {
            t.fail(`trial ${trial}: gradient '${name}' of batch ${k} differs from the sync result`);
            break;
          }
        }
      } else if (kind === 'fwd') {
        t.same(Array.from(r.data), wantFwd[k], `trial ${trial}: forward of batch ${k}`);
      } else {
        t.same(Array.from(r.output.data), Array.from(acts[k].output.data), `trial ${trial}: activations output ${k}`);
        t.same(Object.keys(r.activations), Object.keys(acts[k].activations));
        const name = 'encoder';
        t.same(Array.from(r.activations[name].data), Array.from(acts[k].activations[name].data), `trial ${trial}: ${name} of ${k}`);
      }
    }
    blockFor(rand() * step);
  }
});

t.test('overlapping async train steps match the same steps run synchronously in order', async (t) => {
  const c = { ...cfg, dropout: 0 };
  const a = new Informer(c),
    b = new Informer(c);
  t.teardown(() => {
    a.dispose();
    b.dispose();
  });
  const batches = [randomBatch(a.config, a.nMark, 8, 31), randomBatch(a.config, a.nMark, 8, 32)];
  const target = { data: new Float32Array(8 * 12 * 3).fill(0.1), shape: [8, 12, 3] };
  const optA = new Adam({ lr: 1e-3 }),
    optB = new Adam({ lr: 1e-3 });
  const want = [];
  for (let i = 0; i < 8; i++) want.push(b.trainStepSync(batches[i % 2], target, optB, { mode: 'eval' }));
  const rand = seededRandom(11);
  const got = [];
  for (let i = 0; i < 8; i++) got.push(a.trainStep(batches[i % 2], target, optA, { mode: 'eval' }));
  blockFor(5 + 20 * rand());
  t.same(await Promise.all(got), want, 'losses in queue order');
  const sa = a.optimizerState(),
    sb = b.optimizerState();
  t.equal(sa.step, sb.step);
  t.same(Array.from(sa.m), Array.from(sb.m), 'Adam moments');
  t.same(Array.from(a.stateDict()['projection.weight'].data), Array.from(b.stateDict()['projection.weight'].data), 'weights');
});
