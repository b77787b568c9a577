// Seeded random calls of every function the native addon exports, with wrong shapes, dtypes, views at
// odd offsets, detached buffers, NaN/Inf, huge sizes, and calls after and during dispose(). Run in
// child processes by fuzz-native.test.js (see test/helpers/case-runner.js).
import { fileURLToPath } from 'node:url';

import { resolveConfig, toNativeConfig } from '../../dist/index.js';
import { loadAddon, registerErrorClasses } from '../../dist/native.js';
import { runCases } from '../helpers/case-runner.js';
import { seededRandom } from '../helpers/fixtures.js';

const BASE = {
  seqLen: 12,
  labelLen: 6,
  predLen: 6,
  encIn: 2,
  decIn: 2,
  cOut: 2,
  dModel: 16,
  nHeads: 2,
  eLayers: 2,
  dLayers: 1,
  dFf: 32,
  freq: 'h',
  seed: 3,
};
const VARIANTS = [{}, { attn: 'full' }, { embed: 'fixed' }, { model: 'informerstack', sLayers: [2, 1] }, { distil: false, mix: false }];

const detached = () => {
  const a = new Float32Array(8);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
};
// Values of the wrong kind for any argument.
const JUNK = [
  () => undefined,
  () => null,
  () => 0,
  () => -1,
  () => 1.5,
  () => NaN,
  () => Infinity,
  () => 2 ** 31,
  () => 2 ** 53,
  () => 1e300,
  () => '2',
  () => true,
  () => ({}),
  () => [],
  () => [1, 2, 3],
  () => new Float64Array(4),
  () => new Int32Array(4),
  () => new Uint8Array(4),
  () => new Float32Array(0),
  detached,
  () => Symbol('x'),
  () => () => 1,
  () => new ArrayBuffer(16),
  () => 10n,
  () => new BigInt64Array(2),
];

function float32(n, rand, kind) {
  switch (kind) {
    case 'offset': {
      // a view in the middle of a bigger buffer
      const off = 1 + Math.floor(rand() * 7);
      const buf = new Float32Array(n + off + 3);
      for (let i = 0; i < buf.length; i++) buf[i] = rand() * 2 - 1;
      return buf.subarray(off, off + n);
    }
    case 'nan': {
      const a = float32(n, rand);
      a[Math.floor(rand() * n)] = NaN;
      return a;
    }
    case 'inf': {
      const a = float32(n, rand);
      a[Math.floor(rand() * n)] = -Infinity;
      return a;
    }
    case 'huge':
      return new Float32Array(n).fill(3.4e38);
    case 'short':
      return new Float32Array(Math.max(0, n - 1 - Math.floor(rand() * n)));
    case 'long':
      return new Float32Array(n + 1 + Math.floor(rand() * 5));
    default:
      return Float32Array.from({ length: n }, () => rand() * 2 - 1);
  }
}
const ARRAY_KINDS = ['ok', 'ok', 'offset', 'nan', 'inf', 'huge', 'short', 'long'];

function pick(rand, list) {
  return list[Math.floor(rand() * list.length)];
}

function junk(rand) {
  return pick(rand, JUNK)();
}

// One valid set of raw inputs for `cfg` (batch B), each input made with a random kind.
function inputs(cfg, B, rand, mutate) {
  const nMark = toNativeConfig(cfg).n_mark;
  const dec = cfg.labelLen + cfg.predLen;
  const sizes = {
    xEnc: B * cfg.seqLen * cfg.encIn,
    xMarkEnc: B * cfg.seqLen * nMark,
    xDec: B * dec * cfg.decIn,
    xMarkDec: B * dec * nMark,
  };
  const out = {};
  for (const [k, n] of Object.entries(sizes)) {
    out[k] = float32(n, rand, mutate ? pick(rand, ARRAY_KINDS) : 'ok');
    // Integer marks for the table embeddings; mutation may push them out of range.
    if (cfg.embed === 'fixed' && k.startsWith('xMark'))
      out[k] = out[k].map((v) => (mutate && rand() < 0.2 ? v * 1e3 : Math.floor(Math.abs(v) * 4)));
  }
  if (mutate && rand() < 0.3) out[pick(rand, Object.keys(sizes))] = junk(rand);
  if (mutate && rand() < 0.1) return junk(rand);
  return out;
}

function options(rand, mutate) {
  if (!mutate || rand() < 0.5) return pick(rand, [undefined, {}, { train: true }, { sampling: true }, { capture: true }]);
  return pick(rand, [
    () => junk(rand),
    () => ({ train: junk(rand), sampling: junk(rand), capture: junk(rand) }),
    () => ({ sampleIndices: junk(rand) }),
    () => ({ sampleIndices: [new Int32Array(3).fill(-5), junk(rand)] }),
    () => ({ sampleIndices: Array.from({ length: 3 }, () => new Int32Array(1000).fill(2 ** 30)) }),
  ])();
}

function adam(rand, mutate) {
  const a = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  if (mutate) a[pick(rand, Object.keys(a))] = pick(rand, [NaN, -1, 1, 2, Infinity, '0.1', undefined, null]);
  return mutate && rand() < 0.2 ? junk(rand) : a;
}

function batchArg(rand, B, mutate) {
  return mutate && rand() < 0.4 ? pick(rand, [0, -1, 1.5, NaN, 2 ** 24, 2 ** 24 + 1, 1e9, 2 ** 53, '2', undefined, B + 1]) : B;
}

// A native config with one or two fields replaced by junk, a field dropped, or oversized dims.
function nativeConfig(rand) {
  const c = toNativeConfig(resolveConfig({ ...BASE, ...pick(rand, VARIANTS) }));
  const keys = Object.keys(c);
  const r = rand();
  if (r < 0.4) c[pick(rand, keys)] = junk(rand);
  else if (r < 0.55) delete c[pick(rand, keys)];
  else if (r < 0.75)
    c[pick(rand, ['d_model', 'd_ff', 'enc_in', 'seq_len', 'e_layers', 'n_heads', 'factor', 'n_mark'])] = pick(rand, [
      1 << 20,
      5000,
      1024,
      4096,
      65536,
      64,
    ]);
  else if (r < 0.85) c.s_layers = pick(rand, [[], [0], [1e9], Array(65).fill(1), ['1']]);
  else return junk(rand);
  return c;
}

function stateEntries(model, rand) {
  const info = model.paramInfo();
  const st = model.readState();
  const entries = info.map((p) => ({
    name: p.name,
    shape: p.shape.slice(),
    data: p.kind === 'int_buffer' ? st.ints.slice(p.offset, p.offset + p.numel) : st.floats.slice(p.offset, p.offset + p.numel),
  }));
  const e = pick(rand, entries);
  switch (Math.floor(rand() * 9)) {
    case 0:
      e.shape = [2 ** 31, 2 ** 31, 2 ** 31];
      break; // product overflows 64 bits
    case 1:
      e.shape = [-1, ...e.shape.slice(1)];
      break;
    case 2:
      e.shape = junk(rand);
      break;
    case 3:
      e.data = junk(rand);
      break;
    case 4:
      e.name = junk(rand);
      break;
    case 5:
      entries.pop();
      break;
    case 6:
      entries.push({ name: 'extra.weight', shape: [1], data: new Float32Array(1) });
      break;
    case 7:
      if (e.data instanceof Float32Array) e.data[0] = NaN;
      break;
    default:
      return junk(rand);
  }
  return rand() < 0.1 ? entries.map(() => junk(rand)) : entries;
}

/** The case `i` of run `seed`: { desc, run(addon) }; run may be async. */
export function makeCase(seed, i) {
  const rand = seededRandom(seed * 100003 + i);
  const cfg = resolveConfig({ ...BASE, ...pick(rand, VARIANTS) });
  const B = 1 + Math.floor(rand() * 3);
  const mutate = rand() < 0.85;
  const kind = pick(rand, [
    'construct',
    'forwardSync',
    'forward',
    'lossAndGrad',
    'lossAndGradSync',
    'trainStep',
    'trainStepSync',
    'loadState',
    'optimizerState',
    'misc',
    'afterDispose',
    'duringDispose',
    'sgemm',
    'attention',
    'wrongThis',
    'setErrorClasses',
  ]);
  const desc = `seed ${seed} case ${i}: ${kind} (${cfg.attn}/${cfg.embed}/${cfg.model}, B=${B}, mutate=${mutate})`;
  const model = (NativeModel) => new NativeModel(toNativeConfig(cfg));
  const target = () =>
    mutate && rand() < 0.3
      ? pick(rand, [() => junk(rand), () => float32(B * cfg.predLen * cfg.cOut, rand, pick(rand, ARRAY_KINDS))])()
      : float32(B * cfg.predLen * cfg.cOut, rand);
  const runs = {
    construct: ({ NativeModel }) => new NativeModel(nativeConfig(rand)).dispose(),
    forwardSync: ({ NativeModel }) =>
      model(NativeModel).forwardSync(inputs(cfg, B, rand, mutate), batchArg(rand, B, mutate), options(rand, mutate)),
    forward: ({ NativeModel }) =>
      model(NativeModel).forward(inputs(cfg, B, rand, mutate), batchArg(rand, B, mutate), options(rand, mutate)),
    lossAndGrad: ({ NativeModel }) =>
      model(NativeModel).lossAndGrad(inputs(cfg, B, rand, mutate), batchArg(rand, B, mutate), target(), options(rand, mutate)),
    lossAndGradSync: ({ NativeModel }) =>
      model(NativeModel).lossAndGradSync(inputs(cfg, B, rand, mutate), batchArg(rand, B, mutate), target(), options(rand, mutate)),
    trainStep: ({ NativeModel }) =>
      model(NativeModel).trainStep(
        inputs(cfg, B, rand, mutate),
        batchArg(rand, B, mutate),
        target(),
        adam(rand, mutate),
        options(rand, mutate),
      ),
    trainStepSync: ({ NativeModel }) =>
      model(NativeModel).trainStepSync(
        inputs(cfg, B, rand, mutate),
        batchArg(rand, B, mutate),
        target(),
        adam(rand, mutate),
        options(rand, mutate),
      ),
    loadState: ({ NativeModel }) => {
      const m = model(NativeModel);
      m.loadState(mutate ? stateEntries(m, rand) : stateEntries(m, () => 0.99));
    },
    optimizerState: ({ NativeModel }) => {
      const m = model(NativeModel);
      m.trainStepSync(inputs(cfg, B, rand, false), B, target(), adam(rand, false));
      const s = m.getOptimizerState();
      const args = [s.step, s.m, s.v];
      if (mutate)
        args[Math.floor(rand() * 3)] = pick(rand, [() => junk(rand), () => new Float32Array(s.m.length - 1), () => -3, () => 2 ** 60])();
      m.setOptimizerState(...args);
    },
    misc: (addon) => {
      const m = model(addon.NativeModel);
      const f = pick(rand, [
        () => m.deterministicSamples(junk(rand)),
        () => m.deterministicSamples(Math.floor(rand() * 8) - 2),
        () => m.setDevice(junk(rand)),
        () => m.setDevice('cuda'),
        () => addon.setGpuMatmulPrecision(junk(rand)),
        () => addon.setGpuMatmulPrecision('tf32'),
        () => m.paramInfo() && m.sampleDraws() && m.workspaceBytes() && m.device() && m.readState(),
        () => m.resetOptimizer(),
      ]);
      return f();
    },
    afterDispose: ({ NativeModel }) => {
      const m = model(NativeModel);
      m.dispose();
      m.dispose();
      return pick(rand, [
        () => m.forwardSync(inputs(cfg, B, rand, false), B),
        () => m.forward(inputs(cfg, B, rand, false), B),
        () => m.paramInfo(),
        () => m.readState(),
        () => m.trainStep(inputs(cfg, B, rand, false), B, target(), adam(rand, false)),
        () => m.getOptimizerState(),
        () => m.setDevice('cpu'),
      ])();
    },
    duringDispose: async ({ NativeModel }) => {
      const m = model(NativeModel);
      const y = () => float32(B * cfg.predLen * cfg.cOut, rand);
      const pending = [
        m.forward(inputs(cfg, B, rand, false), B),
        m.trainStep(inputs(cfg, B, rand, false), B, y(), adam(rand, false)),
        m.lossAndGrad(inputs(cfg, B, rand, false), B, y()),
      ];
      m.dispose();
      const settled = await Promise.allSettled(pending);
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason; // calls queued before dispose() finish on their own handle
      return settled;
    },
    sgemm: ({ kernels }) => {
      const dims = [1, 2, 3].map(() =>
        mutate && rand() < 0.3 ? pick(rand, [0, -1, 1.5, NaN, 2 ** 31, 1e6, '4']) : 1 + Math.floor(rand() * 9),
      );
      const [M, N, K] = dims;
      const size = (a, b) => (Number.isInteger(a) && Number.isInteger(b) && a > 0 && b > 0 && a * b < 1e6 ? a * b : 4);
      const arr = (n) => (mutate && rand() < 0.3 ? junk(rand) : float32(n, rand, mutate ? pick(rand, ARRAY_KINDS) : 'ok'));
      return kernels.sgemm(rand() < 0.5, rand() < 0.5, M, N, K, arr(size(M, K)), arr(size(K, N)), arr(size(M, N)), rand() < 0.5);
    },
    attention: ({ kernels }) => {
      const [b, h, L, d] = [1, 2, 8, 4].map((v) => (mutate && rand() < 0.25 ? pick(rand, [0, -2, 2 ** 20, NaN, 1.5]) : v));
      const n = 1 * 2 * 8 * 4;
      const arr = () => (mutate && rand() < 0.3 ? junk(rand) : float32(n, rand, mutate ? pick(rand, ARRAY_KINDS) : 'ok'));
      return kernels.attention(pick(rand, ['prob', 'full', junk(rand)]), b, h, L, d, arr(), arr(), arr(), arr(), rand() < 0.5);
    },
    setErrorClasses: (addon) => {
      const keys = ['abc', '0', '-5', '1e3', '999', '', '1.5', '7', '256', '2147483648'];
      const map = pick(rand, [
        () => junk(rand),
        () => Object.fromEntries(keys.filter(() => rand() < 0.5).map((k) => [k, rand() < 0.7 ? class Junk extends Error {} : junk(rand)])),
      ])();
      try {
        addon.setErrorClasses(map);
      } finally {
        registerErrorClasses(addon); // the next cases need the real classes back
      }
    },
    wrongThis: ({ NativeModel }) => {
      const m = model(NativeModel);
      const fn = pick(rand, ['forwardSync', 'paramInfo', 'readState', 'dispose', 'trainStepSync']);
      return NativeModel.prototype[fn].call(
        pick(rand, [{}, null, m.paramInfo, Object.create(NativeModel.prototype)]),
        inputs(cfg, B, rand, false),
        B,
      );
    },
  };
  // V8 itself refuses a native method called on a foreign receiver, before the addon is entered.
  // setErrorClasses with keys that are not status codes is a TypeError (it is the package's own hook).
  const allow =
    kind === 'wrongThis'
      ? (e) => e instanceof TypeError && e.message === 'Illegal invocation'
      : kind === 'setErrorClasses'
        ? (e) => e instanceof TypeError && /setErrorClasses/.test(e.message)
        : undefined;
  return { desc, run: runs[kind], allow };
}

// Child process entry: `node fuzz-native-cases.js <seed> <from> <to>`.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [seed, from, to] = process.argv.slice(2).map(Number);
  const addon = loadAddon();
  await runCases(
    (i) => {
      const c = makeCase(seed, i);
      return { desc: c.desc, run: () => c.run(addon), allow: c.allow };
    },
    from,
    to,
  );
}
