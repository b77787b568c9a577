// Device selection: backends(), new Informer(config, { device }), model.to(device). Everywhere: the CPU
// path, the errors for an unknown or unavailable device. On a machine with a usable GPU (backends()
// lists 'cuda'): forecasts, losses, gradients and trained weights on the GPU against the CPU, and the
// round trip keeping weights, BatchNorm statistics and optimizer state.
import t from 'tap';

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Adam, ConfigError, Informer, Predictor, backends, loadModel, nativeInfo, setGpuMatmulPrecision } from '../dist/index.js';
import { fixturePaths, loadFixture, maxAbsDiff, randomBatch } from './helpers/fixtures.js';

const small = { seqLen: 24, labelLen: 12, predLen: 6, encIn: 3, decIn: 3, cOut: 2, dModel: 16, nHeads: 2, dFf: 32, dropout: 0 };
const hasCuda = backends().includes('cuda');

function maxAbs(a) {
  let m = 0;
  for (const x of a) m = Math.max(m, Math.abs(x));
  return m;
}

t.test('backends() and nativeInfo() describe the build and the machine', (t) => {
  const info = nativeInfo();
  t.same(backends(), info.backends);
  t.equal(backends()[0], 'cpu');
  t.type(info.cudaBuilt, 'boolean');
  if (info.cudaBuilt) t.type(info.cudaDevice, 'string');
  else t.equal(info.cudaDevice, null);
  if (!info.cudaBuilt) t.notOk(hasCuda, 'no cuda backend without a CUDA build');
  t.end();
});

t.test('the GPU matmul precision is a checked, process-wide setting of CUDA builds', (t) => {
  t.throws(() => setGpuMatmulPrecision('fp16'), ConfigError);
  t.throws(() => setGpuMatmulPrecision('fp16'), /'fp32', 'tf32' or 'bf16'/);
  if (!nativeInfo().cudaBuilt) {
    t.throws(() => setGpuMatmulPrecision('tf32'), /no CUDA backend/);
    t.equal(nativeInfo().gpuMatmulPrecision, null);
    t.end();
    return;
  }
  t.equal(nativeInfo().gpuMatmulPrecision, 'fp32', 'exact fp32 by default');
  t.match(nativeInfo().gpuGemm, /^(cublas|tiled)$/);
  setGpuMatmulPrecision('tf32');
  t.equal(nativeInfo().gpuMatmulPrecision, 'tf32');
  setGpuMatmulPrecision('fp32');
  t.equal(nativeInfo().gpuMatmulPrecision, 'fp32');
  t.end();
});

t.test("device 'cpu' is the default, 'auto' picks the GPU only when there is one", (t) => {
  const a = new Informer(small);
  const b = new Informer(small, { device: 'cpu' });
  const c = new Informer(small, { device: 'auto' });
  t.teardown(() => [a, b, c].forEach((m) => m.dispose()));
  t.equal(a.device, 'cpu');
  t.equal(b.device, 'cpu');
  t.equal(c.device, hasCuda ? 'cuda' : 'cpu');
  t.equal(a.to('cpu'), a, 'to() returns the model');
  t.end();
});

t.test('an unknown device is a ConfigError naming it', (t) => {
  t.throws(() => new Informer(small, { device: 'gpu' }), ConfigError);
  t.throws(() => new Informer(small, { device: 'gpu' }), /'cpu', 'cuda' or 'auto'.*"gpu"/);
  const m = new Informer(small);
  t.teardown(() => m.dispose());
  t.throws(() => m.to('tpu'), ConfigError);
  t.equal(m.device, 'cpu');
  t.end();
});

t.test(
  'asking for CUDA where it is unavailable says why and leaves the model usable on the CPU',
  { skip: hasCuda && 'this machine has a GPU' },
  (t) => {
    const why = nativeInfo().cudaBuilt ? /no CUDA device/ : /built without the CUDA toolkit/;
    t.throws(() => new Informer(small, { device: 'cuda' }), ConfigError);
    t.throws(() => new Informer(small, { device: 'cuda' }), why);
    const m = new Informer({ ...small, seed: 3 });
    t.teardown(() => m.dispose());
    const batch = randomBatch(m.config, m.nMark, 2);
    const before = m.forwardSync(batch);
    t.throws(() => m.to('cuda'), why);
    t.equal(m.device, 'cpu');
    t.equal(maxAbsDiff(m.forwardSync(batch).data, before.data), 0, 'same forecast after the failed move');
    t.end();
  },
);

t.test('loadModel and Predictor.load take the device; the onnx backend stays on the CPU', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-device-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const m = new Informer({ ...small, seed: 2 });
  const file = join(dir, 'model.safetensors');
  m.save(file);
  m.dispose();
  const loaded = loadModel(file, { device: 'auto' });
  t.teardown(() => loaded.dispose());
  t.equal(loaded.device, hasCuda ? 'cuda' : 'cpu');
  await t.rejects(Predictor.load(file, { backend: 'onnx', device: 'cuda' }), ConfigError);
  await t.rejects(Predictor.load(file, { backend: 'onnx', device: 'cuda' }), /needs the native backend/);
});

t.test('GPU forecasts match the CPU on every fixture', { skip: !hasCuda && 'no usable GPU' }, async (t) => {
  for (const path of fixturePaths()) {
    const fx = loadFixture(path);
    const cpu = Informer.fromStateDict(fx.config, fx.params);
    const gpu = Informer.fromStateDict(fx.config, fx.params, { device: 'cuda' });
    t.teardown(() => {
      cpu.dispose();
      gpu.dispose();
    });
    t.equal(gpu.device, 'cuda');
    const want = cpu.forwardSync(fx.batch);
    const got = await gpu.forward(fx.batch);
    t.ok(maxAbsDiff(got.data, want.data) <= 1e-4 * Math.max(1, maxAbs(want.data)), `${fx.name}: forecast`);
  }
});

t.test('training on the GPU follows the CPU and the round trip keeps everything', { skip: !hasCuda && 'no usable GPU' }, async (t) => {
  const cfg = { ...small, eLayers: 2, seed: 5 };
  const cpu = new Informer(cfg);
  const gpu = new Informer(cfg, { device: 'cuda' });
  t.teardown(() => {
    cpu.dispose();
    gpu.dispose();
  });
  const batch = randomBatch(cpu.config, cpu.nMark, 4);
  const n = 4 * cfg.predLen * cfg.cOut;
  const target = { data: randomBatch(cpu.config, cpu.nMark, 4, 9).xEnc.data.slice(0, n), shape: [4, cfg.predLen, cfg.cOut] };
  const g1 = cpu.lossAndGradSync(batch, target);
  const g2 = await gpu.lossAndGrad(batch, target);
  t.ok(Math.abs(g1.loss - g2.loss) <= 1e-5 * g1.loss, 'loss');
  for (const [name, g] of Object.entries(g1.grads))
    t.ok(maxAbsDiff(g2.grads[name], g) <= 1e-3 * Math.max(1e-6, maxAbs(g)), `gradient ${name}`);
  const optA = new Adam({ lr: 1e-3 });
  const optB = new Adam({ lr: 1e-3 });
  for (let i = 0; i < 3; i++) {
    cpu.trainStepSync(batch, target, optA);
    await gpu.trainStep(batch, target, optB);
  }
  const a = cpu.stateDict();
  const b = gpu.stateDict();
  for (const [name, v] of Object.entries(a))
    t.ok(maxAbsDiff(b[name].data, v.data) <= 1e-3 * Math.max(1e-6, maxAbs(v.data)), `after 3 steps: ${name}`);
  const stateOnGpu = gpu.optimizerState();
  gpu.to('cpu');
  t.equal(gpu.device, 'cpu');
  t.same(gpu.optimizerState().step, stateOnGpu.step);
  t.equal(maxAbsDiff(gpu.optimizerState().m, stateOnGpu.m), 0, 'Adam moments came back');
  t.equal(maxAbsDiff(gpu.stateDict()['encoder.norm.weight'].data, b['encoder.norm.weight'].data), 0);
});
