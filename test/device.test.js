// Device selection: backends(), new Informer(config, { device }), model.to(device). Everywhere: the CPU
// path, the errors for an unknown or unavailable device. On a machine with a usable GPU (backends()
// lists 'cuda'): forecasts, losses, gradients and trained weights on the GPU against the CPU, and the
// round trip keeping weights, BatchNorm statistics and optimizer state.
import t from 'tap';

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigError, Informer, Predictor, backends, loadModel, nativeInfo, setGpuMatmulPrecision } from '../dist/index.js';
import { maxAbsDiff, randomBatch } from './helpers/fixtures.js';
import { gpuForecastsMatchCpu, gpuTrainingFollowsCpu } from './helpers/gpu-checks.js';

const small = { seqLen: 24, labelLen: 12, predLen: 6, encIn: 3, decIn: 3, cOut: 2, dModel: 16, nHeads: 2, dFf: 32, dropout: 0 };
const hasCuda = backends().includes('cuda');

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

t.test('GPU forecasts match the CPU on every fixture', { skip: !hasCuda && 'no usable GPU' }, gpuForecastsMatchCpu);

t.test(
  'training on the GPU follows the CPU and the round trip keeps everything',
  { skip: !hasCuda && 'no usable GPU' },
  gpuTrainingFollowsCpu,
);
