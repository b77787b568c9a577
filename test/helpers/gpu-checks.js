// The GPU-against-CPU checks of the JavaScript API, written once: test/device.test.js runs them under
// tap where a GPU is usable, and scripts/gpu-js-check.mjs runs them on a GPU machine that has Node.js
// but not the dev dependencies (scripts/gpu-check.sh carries no node_modules). `t` needs only ok,
// equal and teardown, which both tap's test object and that script's checker provide.
import { Adam, Informer } from '../../dist/index.js';
import { fixturePaths, loadFixture, maxAbsDiff, randomBatch } from './fixtures.js';

const small = { seqLen: 24, labelLen: 12, predLen: 6, encIn: 3, decIn: 3, cOut: 2, dModel: 16, nHeads: 2, dFf: 32, dropout: 0 };

function maxAbs(a) {
  let m = 0;
  for (const x of a) m = Math.max(m, Math.abs(Number(x))); // int64 tensors (BatchNorm's count) are BigInt
  return m;
}

// Every fixture's eval forecast on the GPU (async forward) against the CPU (forwardSync).
export async function gpuForecastsMatchCpu(t) {
  for (const path of fixturePaths()) {
    const fx = loadFixture(path);
    const cpu = Informer.fromStateDict(fx.config, fx.params);
    const gpu = Informer.fromStateDict(fx.config, fx.params, { device: 'cuda' });
    t.teardown(() => {
      cpu.dispose();
      gpu.dispose();
    });
    t.equal(gpu.device, 'cuda', `${fx.name}: on the GPU`);
    const want = cpu.forwardSync(fx.batch);
    const got = await gpu.forward(fx.batch);
    t.ok(maxAbsDiff(got.data, want.data) <= 1e-4 * Math.max(1, maxAbs(want.data)), `${fx.name}: forecast`);
  }
}

// Loss, every gradient and three Adam steps on the GPU against the CPU, then the move back to the CPU
// keeping the weights and the optimizer state.
export async function gpuTrainingFollowsCpu(t) {
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
  // Some gradients are zero in exact arithmetic (a bias just before BatchNorm, or one whose shift the
  // next BatchNorm removes): on either device they are rounding noise, so they are held to an absolute
  // floor set by the largest gradient rather than to their own size (the first run on a real GPU
  // found these two: encoder.conv_layers.0.downConv.bias, encoder.attn_layers.0.norm2.bias).
  const largest = Math.max(...Object.values(g1.grads).map(maxAbs));
  const noiseFloor = 1e-5 * largest;
  const zeroInExact = new Set();
  for (const [name, g] of Object.entries(g1.grads)) {
    if (maxAbs(g) <= noiseFloor) zeroInExact.add(name);
    t.ok(maxAbsDiff(g2.grads[name], g) <= 1e-3 * maxAbs(g) + noiseFloor, `gradient ${name}`);
  }
  const lr = 1e-3,
    steps = 3;
  const optA = new Adam({ lr });
  const optB = new Adam({ lr });
  for (let i = 0; i < steps; i++) {
    cpu.trainStepSync(batch, target, optA);
    await gpu.trainStep(batch, target, optB);
  }
  const a = cpu.stateDict();
  const b = gpu.stateDict();
  for (const [name, v] of Object.entries(a)) {
    const diff = maxAbsDiff(b[name].data, v.data);
    // Adam moves a parameter by at most about lr per step whatever its gradient, so noise gradients
    // can move the two copies apart by up to 2 lr per step, and no further.
    if (zeroInExact.has(name)) t.ok(diff <= 2 * lr * steps * 1.01, `after ${steps} steps: ${name} (zero gradient in exact arithmetic)`);
    else t.ok(diff <= 1e-3 * Math.max(1e-6, maxAbs(v.data)), `after ${steps} steps: ${name}`);
  }
  const stateOnGpu = gpu.optimizerState();
  gpu.to('cpu');
  t.equal(gpu.device, 'cpu', 'moved back to the CPU');
  t.equal(gpu.optimizerState().step, stateOnGpu.step, 'Adam step count came back');
  t.equal(maxAbsDiff(gpu.optimizerState().m, stateOnGpu.m), 0, 'Adam moments came back');
  t.equal(maxAbsDiff(gpu.stateDict()['encoder.norm.weight'].data, b['encoder.norm.weight'].data), 0, 'weights came back');
}
