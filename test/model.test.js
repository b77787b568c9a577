// Informer API behaviour: construction, state dicts, save/load, deterministic vs random sampling,
// sync vs async, train-mode side effects, informerstack and every embedding.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

import { Adam, DEFAULT_CONFIG, Informer, readSafetensors } from '../dist/index.js';
import { fixturePaths, loadFixture, maxAbsDiff, randomBatch } from './helpers/fixtures.js';

const small = { seqLen: 24, labelLen: 12, predLen: 6, encIn: 3, decIn: 3, cOut: 2, dModel: 16, nHeads: 2, dFf: 32, dropout: 0 };

t.test('default config is the reference CLI config (11,330,055 trainable parameters for M)', (t) => {
  const m = new Informer();
  t.teardown(() => m.dispose());
  t.same(m.config, DEFAULT_CONFIG);
  t.equal(m.parameterCount(), 11330055);
  t.end();
});

t.test('a PyTorch state_dict (plain reference names) loads unchanged', (t) => {
  const fx = loadFixture(fixturePaths()[0]);
  const m = Informer.fromStateDict(fx.config, fx.params);
  t.teardown(() => m.dispose());
  const sd = m.stateDict();
  t.same(Object.keys(sd).sort(), Object.keys(fx.params).sort());
  for (const [k, v] of Object.entries(fx.params)) t.ok(maxAbsDiff(sd[k].data, v.data) === 0, k);
  t.end();
});

t.test('save / load round trip gives identical forecasts; the file is written atomically', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-save-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const m = new Informer({ ...small, seed: 7 });
  const batch = randomBatch(m.config, m.nMark, 3);
  const before = m.forwardSync(batch);
  const file = join(dir, 'model.safetensors');
  m.save(file);
  t.same(readdirSync(dir), ['model.safetensors'], 'no temp file left behind');
  t.match(readSafetensors(file).metadata, { format: 'informer-node-v1' });
  const loaded = Informer.load(file);
  t.same(loaded.config, m.config);
  t.same(Array.from(loaded.forwardSync(batch).data), Array.from(before.data));
  m.dispose();
  loaded.dispose();
});

t.test('eval forecasts are deterministic by default; sampling random draws afresh', async (t) => {
  // seqLen 96 gives u = 25 < 96 selected queries, so the key sample matters.
  const m = new Informer({ ...small, seqLen: 96, labelLen: 48, predLen: 24, seed: 3 });
  t.teardown(() => m.dispose());
  const batch = randomBatch(m.config, m.nMark, 2);
  const a = m.forwardSync(batch);
  const b = await m.forward(batch);
  t.same(Array.from(a.data), Array.from(b.data), 'same input, same forecast (sync and async)');
  const same = new Informer({ ...small, seqLen: 96, labelLen: 48, predLen: 24, seed: 3 });
  t.same(Array.from(same.forwardSync(batch).data), Array.from(a.data), 'same seed, same model, same forecast');
  same.dispose();
  const fixed = m.inferenceSampleIndices();
  t.same(
    fixed.map((s) => s.shape),
    m.sampleDraws().map((d) => [d.lq, d.sampleK]),
  );
  const injected = m.forwardSync(batch, { sampleIndices: fixed });
  t.same(Array.from(injected.data), Array.from(a.data), 'the deterministic indices are the ones reported');
  const r1 = m.forwardSync(batch, { sampling: 'random' });
  const r2 = m.forwardSync(batch, { sampling: 'random' });
  t.ok(maxAbsDiff(r1.data, r2.data) > 0, 'random sampling differs between calls');
});

t.test('train mode updates BatchNorm running stats; eval mode does not', (t) => {
  const m = new Informer({ ...small, eLayers: 2, seed: 1 });
  t.teardown(() => m.dispose());
  const batch = randomBatch(m.config, m.nMark, 4);
  const key = 'encoder.conv_layers.0.norm.running_mean';
  const before = m.stateDict();
  m.forwardSync(batch);
  t.same(Array.from(m.stateDict()[key].data), Array.from(before[key].data), 'eval leaves running_mean');
  m.forwardSync(batch, { mode: 'train' });
  const after = m.stateDict();
  t.ok(maxAbsDiff(after[key].data, before[key].data) > 0, 'train moves running_mean');
  t.equal(after['encoder.conv_layers.0.norm.num_batches_tracked'].data[0], 1n);
  t.end();
});

t.test('dropout is active in train mode only, and seeded', (t) => {
  const cfg = { ...small, dropout: 0.3, seed: 5 };
  const m = new Informer(cfg);
  t.teardown(() => m.dispose());
  const batch = randomBatch(m.config, m.nMark, 2);
  const e1 = m.forwardSync(batch),
    e2 = m.forwardSync(batch);
  t.same(Array.from(e1.data), Array.from(e2.data), 'eval is dropout-free');
  const t1 = m.forwardSync(batch, { mode: 'train' });
  t.ok(maxAbsDiff(t1.data, e1.data) > 1e-4, 'train applies dropout');
  const m2 = new Informer(cfg);
  t.same(Array.from(m2.forwardSync(batch, { mode: 'train' }).data), Array.from(t1.data), 'same seed, same dropout masks');
  m2.dispose();
  t.end();
});

const variants = [
  { name: 'informerstack [3,2,1]', cfg: { model: 'informerstack', sLayers: [3, 2, 1] } },
  { name: 'informerstack no distil', cfg: { model: 'informerstack', sLayers: [2, 1], distil: false } },
  { name: 'fixed embed, freq t', cfg: { embed: 'fixed', freq: 't' } },
  { name: 'learned embed, freq h', cfg: { embed: 'learned', freq: 'h' } },
  { name: 'timeF freq 15min', cfg: { freq: '15min' } },
  { name: 'timeF freq s', cfg: { freq: 's' } },
  { name: 'timeF freq d', cfg: { freq: 'd' } },
  { name: 'full attention, relu, padding 1, no mix', cfg: { attn: 'full', activation: 'relu', padding: 1, mix: false } },
  { name: 'three encoder layers, two decoder layers', cfg: { eLayers: 3, dLayers: 2 } },
];
for (const v of variants) {
  t.test(`${v.name}: finite forecasts of the right shape, batch-independent rows`, (t) => {
    const m = new Informer({ ...small, seed: 11, ...v.cfg });
    t.teardown(() => m.dispose());
    const batch = randomBatch(m.config, m.nMark, 3);
    const out = m.forwardSync(batch);
    t.same(out.shape, [3, small.predLen, small.cOut]);
    t.ok(out.data.every(Number.isFinite));
    // Row 1 of a batch of 3 equals the same window run alone (no cross-batch leakage in eval).
    const one = {};
    for (const [k, x] of Object.entries(batch)) {
      const per = x.data.length / 3;
      one[k] = { data: x.data.slice(per, 2 * per), shape: [1, ...x.shape.slice(1)] };
    }
    const single = m.forwardSync(one);
    const per = out.data.length / 3;
    t.ok(maxAbsDiff(single.data, out.data.slice(per, 2 * per)) < 1e-5);
    t.end();
  });
}

t.test('ProbSparse with u = L equals full attention (short sequences)', (t) => {
  // L = 12: u = min(5 * ceil(ln 12), 12) = 12, so every query is active in the encoder; the decoder
  // (L = 8) too: 5 * ceil(ln 8) = 15 > 8. Same weights with attn 'full' must agree.
  const cfg = { ...small, seqLen: 12, labelLen: 4, predLen: 4, seed: 2 };
  const prob = new Informer({ ...cfg, attn: 'prob' });
  const full = Informer.fromStateDict({ ...cfg, attn: 'full' }, prob.stateDict());
  t.teardown(() => {
    prob.dispose();
    full.dispose();
  });
  const batch = randomBatch(prob.config, prob.nMark, 2);
  t.ok(maxAbsDiff(prob.forwardSync(batch).data, full.forwardSync(batch).data) < 1e-5);
  t.end();
});

// Batch-1 forwards multiply by weights packed once (native/cpu/weight_cache.h); every way the
// weights can change must make the next forward use the new ones.
t.test('batch-1 forwards follow the weights after a train step and after loadStateDict', (t) => {
  const cfg = { ...small, dModel: 32, dFf: 64 };
  const m = new Informer(cfg);
  const other = new Informer({ ...cfg, seed: 7 });
  t.teardown(() => {
    m.dispose();
    other.dispose();
  });
  const one = randomBatch(m.config, m.nMark, 1, 3);
  const batch = randomBatch(m.config, m.nMark, 4, 4);
  const target = { data: new Float32Array(4 * cfg.predLen * cfg.cOut).fill(0.5), shape: [4, cfg.predLen, cfg.cOut] };
  const before = m.forwardSync(one).data;
  m.trainStepSync(batch, target, new Adam({ lr: 1e-2 }));
  const after = m.forwardSync(one).data;
  t.ok(maxAbsDiff(before, after) > 0, 'the step changed the forecast');
  const fresh = Informer.fromStateDict(cfg, m.stateDict());
  t.teardown(() => fresh.dispose());
  t.equal(maxAbsDiff(after, fresh.forwardSync(one).data), 0, 'same as a fresh model with the trained weights');
  // (other's seed also fixes its sampling, so the reference is a model of m's seed with its weights)
  m.loadStateDict(other.stateDict());
  const loaded = Informer.fromStateDict(cfg, other.stateDict());
  t.teardown(() => loaded.dispose());
  t.equal(maxAbsDiff(m.forwardSync(one).data, loaded.forwardSync(one).data), 0, 'same as a fresh model of those weights');
  t.end();
});
