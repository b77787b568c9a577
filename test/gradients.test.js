// Gradient parity with the reference PyTorch backward pass, and finite-difference checks of the
// gradient of every layer type on tiny configurations.
import t from 'tap';

import { Informer } from '../dist/index.js';
import { fixturePaths, loadFixture, randomBatch } from './helpers/fixtures.js';

for (const path of fixturePaths()) {
  const fx = loadFixture(path);
  t.test(`${fx.name}: loss and every gradient match the reference`, async (t) => {
    const model = Informer.fromStateDict(fx.config, fx.params);
    t.teardown(() => model.dispose());
    const n = fx.samples.length / 2;
    const r = await model.lossAndGrad(fx.batch, fx.tensors['input.target'], { sampleIndices: fx.samples.slice(0, n) });
    t.ok(Math.abs(r.loss - fx.tensors.loss.data[0]) < 1e-5, `loss ${r.loss} vs ${fx.tensors.loss.data[0]}`);
    const noGrad = new Set(JSON.parse(fx.metadata.params_without_grad ?? '[]'));
    const expected = Object.keys(fx.tensors)
      .filter((k) => k.startsWith('grad.'))
      .map((k) => k.slice(5));
    t.same(Object.keys(r.grads).sort(), expected.sort(), 'gradients for exactly the trainable parameters');
    for (const name of noGrad) t.notOk(name in r.grads, `${name} gets no gradient`);
    for (const name of expected) {
      const got = r.grads[name],
        want = fx.tensors[`grad.${name}`].data;
      let bad = -1;
      for (let i = 0; i < got.length && bad < 0; i++) if (!(Math.abs(got[i] - want[i]) <= 1e-3 * Math.abs(want[i]) + 1e-6)) bad = i;
      t.equal(bad, -1, bad < 0 ? `grad.${name}` : `grad.${name}[${bad}] = ${got[bad]}, reference ${want[bad]}`);
    }
    // The sync twin computes the same thing; parameters are untouched by lossAndGrad.
    const again = model.lossAndGradSync(fx.batch, fx.tensors['input.target'], { sampleIndices: fx.samples.slice(0, n) });
    t.equal(again.loss, r.loss);
  });
}

// Directional finite differences: for each parameter tensor, a random direction v restricted to it;
// (L(p + eps v) - L(p - eps v)) / 2 eps must equal grad . v. Dropout 0 and fixed sample indices keep
// the loss smooth except where the top-u query selection, a MaxPool winner or a ReLU flips inside
// [p - eps v, p + eps v]; so each check tries a few step sizes and passes when one of them agrees
// (a wrong gradient disagrees at every step size).
const tiny = { seqLen: 10, labelLen: 5, predLen: 3, encIn: 2, decIn: 2, cOut: 2, dModel: 8, nHeads: 2, dFf: 12, dropout: 0, factor: 2 };
const variants = [
  ['prob, timeF, gelu, distil, mix', { eLayers: 2 }],
  ['full attention, fixed embed, relu, padding 1', { attn: 'full', embed: 'fixed', activation: 'relu', padding: 1 }],
  ['learned embed, freq t, no mix', { embed: 'learned', freq: 't', mix: false }],
  ['distil off, three encoder layers, two decoder layers', { distil: false, eLayers: 3, dLayers: 2 }],
  ['informerstack [2,1]', { model: 'informerstack', sLayers: [2, 1] }],
  // Head width 8 takes the in-register attention kernels (forward and backward).
  ['width-8 heads, prob attention', { dModel: 16, nHeads: 2 }],
  ['width-8 heads, full attention, no mix', { dModel: 16, nHeads: 2, attn: 'full', mix: false }],
  // Instance normalisation: RevIN's affine gets gradients through both the inputs and the output;
  // MS maps the one output to the last input channel.
  ['normalize revin, MS (one output of two channels)', { normalize: 'revin', cOut: 1 }],
  ['normalize last, padding 1', { normalize: 'last', padding: 1 }],
];

function randomDirection(n, seed) {
  let s = seed >>> 0;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 4294967296 - 0.5;
  }
  return v;
}

for (const [name, cfg] of variants) {
  t.test(`finite differences: ${name}`, (t) => {
    const model = new Informer({ ...tiny, seed: 3, ...cfg });
    t.teardown(() => model.dispose());
    const B = 3;
    const batch = randomBatch(model.config, model.nMark, B, 9);
    const cOut = model.config.cOut;
    const target = { data: randomDirection(B * tiny.predLen * cOut, 5), shape: [B, tiny.predLen, cOut] };
    const samples = model.inferenceSampleIndices();
    const opts = { sampleIndices: samples.length ? samples : undefined };
    const { grads } = model.lossAndGradSync(batch, target, opts);
    const base = model.stateDict();
    const lossAt = (name, v, eps) => {
      const p = base[name].data.slice();
      for (let i = 0; i < p.length; i++) p[i] += eps * v[i];
      model.loadStateDict({ ...base, [name]: { data: p, shape: base[name].shape } });
      return model.lossAndGradSync(batch, target, opts).loss;
    };
    let checked = 0;
    for (const [pname, g] of Object.entries(grads)) {
      const v = randomDirection(g.length, pname.length * 7919 + g.length);
      let analytic = 0;
      for (let i = 0; i < g.length; i++) analytic += g[i] * v[i];
      const estimates = [];
      let agrees = false;
      for (const eps of [2e-3, 5e-4, 1e-4]) {
        const numeric = (lossAt(pname, v, eps) - lossAt(pname, v, -eps)) / (2 * eps);
        estimates.push(numeric.toExponential(4));
        const tol = 2e-2 * Math.max(Math.abs(analytic), Math.abs(numeric)) + 2e-4;
        if (Math.abs(analytic - numeric) <= tol) {
          agrees = true;
          break;
        }
      }
      t.ok(agrees, `${pname}: analytic ${analytic.toExponential(4)}, numeric ${estimates.join(' / ')}`);
      checked++;
    }
    model.loadStateDict(base);
    t.ok(checked > 20, `${checked} parameter tensors checked`);
    t.end();
  });
}

// Feed-forward hidden layers are kept for the backward pass when small and recomputed from the
// pre-activation when large (model_forward.cc). A batch of 8 puts the decoder's hidden layer
// (8 x 18 rows x 2048) over the limit, batches of 4 under it; the mean loss of the 8 has the mean
// gradient of the two halves (one encoder layer: no distilling BatchNorm to couple the samples), so
// both paths must agree.
t.test('recomputed and kept feed-forward hidden layers give the same gradients', (t) => {
  const cfg = {
    seqLen: 12,
    labelLen: 12,
    predLen: 6,
    encIn: 2,
    decIn: 2,
    cOut: 2,
    dModel: 16,
    nHeads: 2,
    dFf: 2048,
    eLayers: 1,
    dLayers: 1,
    attn: 'full',
    dropout: 0,
    seed: 3,
  };
  const model = new Informer(cfg);
  t.teardown(() => model.dispose());
  const B = 8,
    half = B / 2;
  const batch = randomBatch(model.config, model.nMark, B, 21);
  const target = { data: randomDirection(B * cfg.predLen * cfg.cOut, 6), shape: [B, cfg.predLen, cfg.cOut] };
  const slice = (x, lo) => {
    const per = x.data.length / B;
    return { data: x.data.slice(lo * per, (lo + half) * per), shape: [half, ...x.shape.slice(1)] };
  };
  const part = (lo) =>
    model.lossAndGradSync(
      {
        xEnc: slice(batch.xEnc, lo),
        xMarkEnc: slice(batch.xMarkEnc, lo),
        xDec: slice(batch.xDec, lo),
        xMarkDec: slice(batch.xMarkDec, lo),
      },
      slice(target, lo),
    );
  const whole = model.lossAndGradSync(batch, target);
  const a = part(0),
    b = part(half);
  t.ok(Math.abs(whole.loss - (a.loss + b.loss) / 2) < 1e-6 * Math.abs(whole.loss) + 1e-7, 'loss is the mean of the halves');
  let worst = 0,
    name = '';
  for (const [pname, g] of Object.entries(whole.grads)) {
    const ga = a.grads[pname],
      gb = b.grads[pname];
    for (let i = 0; i < g.length; i++) {
      const want = (ga[i] + gb[i]) / 2;
      const err = Math.abs(g[i] - want) / (1e-3 * Math.abs(want) + 1e-6);
      if (err > worst) [worst, name] = [err, `${pname}[${i}]: ${g[i]} vs ${want}`];
    }
  }
  t.ok(worst <= 1, `every gradient within 1e-3 relative (worst ${name || 'none'})`);
  t.ok(
    Object.keys(whole.grads).some((k) => /ff|conv/.test(k)),
    'feed-forward weights among the gradients',
  );
  t.end();
});
