// ONNX export: onnxruntime output equals the native eval forward (deterministic ProbSparse samples) at
// batch 1 and 5 for every supported configuration kind and for the golden fixtures; the PyTorch eval
// output of each fixture is reproduced with its recorded samples baked in; checkOnnxModel accepts the
// export and rejects broken graphs.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';

import { Informer, configFromReference, readSafetensors, ConfigError, FormatError, ShapeError, ValueError } from '../dist/index.js';
import { BATCH_DIM, buildOnnxModel, checkOnnxModel, exportOnnx, onnxSignature } from '../dist/artifact/onnx.js';
import { seededRandom } from './helpers/fixtures.js';

const { onnx } = onnxProto;
const TOL = 1e-4;
const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIRS = [process.env.INFORMER_FIXTURES, path.join(here, 'fixtures'), path.resolve(here, '../../shared/fixtures')].filter(
  (d) => d && fs.existsSync(d),
);

function fixturePaths() {
  const byName = new Map();
  for (const dir of FIXTURE_DIRS)
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.safetensors') && !byName.has(f)) byName.set(f, path.join(dir, f));
  return [...byName.values()];
}

const MARK_ROWS = [13, 32, 7, 24, 4]; // month, day, weekday, hour, minute // 15

function randomBatch(model, B, seed) {
  const c = model.config;
  const T = model.nMark;
  const r = seededRandom(seed);
  const normal = (n) => Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
  const marks = (L) =>
    Float32Array.from({ length: B * L * T }, (_, i) => (c.embed === 'timeF' ? r() - 0.5 : Math.floor(r() * MARK_ROWS[i % T])));
  const Ld = c.labelLen + c.predLen;
  const xDec = normal(B * Ld * c.decIn);
  // The reference decoder input: label part, then the placeholder (0 or 1).
  for (let b = 0; b < B; b++) xDec.fill(c.padding, (b * Ld + c.labelLen) * c.decIn, (b + 1) * Ld * c.decIn);
  return {
    xEnc: { data: normal(B * c.seqLen * c.encIn), shape: [B, c.seqLen, c.encIn] },
    xMarkEnc: { data: marks(c.seqLen), shape: [B, c.seqLen, T] },
    xDec: { data: xDec, shape: [B, Ld, c.decIn] },
    xMarkDec: { data: marks(Ld), shape: [B, Ld, T] },
  };
}

function feeds(batch) {
  const f = (x) => new ort.Tensor('float32', x.data, x.shape);
  return { x_enc: f(batch.xEnc), x_mark_enc: f(batch.xMarkEnc), x_dec: f(batch.xDec), x_mark_dec: f(batch.xMarkDec) };
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Exports `model`, checks the graph, and compares onnxruntime with forwardSync at batch 1 and 5. */
async function compareWithNative(t, model, opts = {}) {
  const bytes = buildOnnxModel(model, opts);
  const report = checkOnnxModel(bytes);
  const sig = onnxSignature(model.config);
  t.same(report.inputs, sig.inputs, 'graph inputs');
  t.same(report.outputs, sig.outputs, 'graph output [batch, predLen, cOut]');
  t.equal(report.opset, opts.opset ?? 17, 'opset');
  const session = await ort.InferenceSession.create(bytes);
  for (const B of [1, 5]) {
    const batch = randomBatch(model, B, 100 + B);
    const want = model.forwardSync(batch);
    const { forecast } = await session.run(feeds(batch));
    t.same(forecast.dims, [B, model.config.predLen, model.config.cOut], `B=${B}: output dims`);
    const err = maxAbsDiff(forecast.data, want.data);
    t.ok(err < TOL, `B=${B}: max abs error ${err.toExponential(2)} < ${TOL}`);
  }
  return report;
}

const SMALL = { seqLen: 24, labelLen: 12, predLen: 6, encIn: 3, decIn: 3, cOut: 3, dModel: 16, nHeads: 2, dFf: 32, seed: 3 };

const CONFIGS = [
  ['prob, mix, distil, 2 layers, timeF h', {}],
  ['full attention', { attn: 'full' }],
  ['mix off', { mix: false }],
  ['distil off, 3 layers', { distil: false, eLayers: 3 }],
  ['1 encoder layer, 2 decoder layers', { eLayers: 1, dLayers: 2 }],
  ['3 layers with distil (2 ConvLayers)', { eLayers: 3, seqLen: 40, labelLen: 20 }],
  ['informerstack [3, 2, 1]', { model: 'informerstack', sLayers: [3, 2, 1], seqLen: 32, labelLen: 16 }],
  ['informerstack [2, 1], full, mix off', { model: 'informerstack', sLayers: [2, 1], attn: 'full', mix: false }],
  ['timeF t', { freq: 't' }],
  ['timeF 15min', { freq: '15min' }],
  ['timeF d', { freq: 'd' }],
  ['timeF s', { freq: 's' }],
  ['fixed h', { embed: 'fixed', freq: 'h' }],
  ['fixed t (minute table)', { embed: 'fixed', freq: 't' }],
  ['learned h', { embed: 'learned', freq: 'h' }],
  ['relu, padding 1', { activation: 'relu', padding: 1 }],
  ['labelLen 0', { labelLen: 0, predLen: 12 }],
  ['cOut != decIn != encIn, 4 heads, factor 3', { encIn: 5, decIn: 4, cOut: 2, dModel: 32, nHeads: 4, factor: 3 }],
  ['odd lengths (distil of 25)', { seqLen: 25, labelLen: 7, predLen: 5 }],
];

for (const [name, extra] of CONFIGS) {
  t.test(`onnxruntime equals forward: ${name}`, async (t) => {
    const model = new Informer({ ...SMALL, ...extra });
    t.teardown(() => model.dispose());
    // One train-mode pass so the BatchNorm running statistics are not the initial 0 / 1.
    model.forwardSync(randomBatch(model, 4, 7), { mode: 'train' });
    await compareWithNative(t, model);
  });
}

for (const opset of [18, 21]) {
  t.test(`opset ${opset} (ReduceMax / ReduceMean axes as inputs)`, async (t) => {
    const model = new Informer({ ...SMALL, embed: 'fixed' });
    t.teardown(() => model.dispose());
    const report = await compareWithNative(t, model, { opset });
    t.ok(report.ops.ReduceMax > 0 && report.ops.TopK > 0, 'ProbSparse ops present');
  });
}

t.test('ProbSparse parts are in the graph only where u < L', async (t) => {
  const model = new Informer({ ...SMALL, seqLen: 12, labelLen: 6, predLen: 6, eLayers: 1 });
  t.teardown(() => model.dispose());
  // Encoder L = 12: u = 12 = L (full attention); decoder L = 12 too.
  const report = checkOnnxModel(buildOnnxModel(model));
  t.notOk(report.ops.TopK, 'no TopK when every query is active');
  const bigger = new Informer(SMALL);
  t.teardown(() => bigger.dispose());
  t.equal(checkOnnxModel(buildOnnxModel(bigger)).ops.TopK, 2, 'one TopK per ProbSparse layer with u < L (encoder layer 0, decoder)');
});

t.test('with mix, the last decoder layer projects only the heads its forecast rows are read from', async (t) => {
  // 4 heads, 12 label + 6 forecast rows: the [B, 18, D] view of the head-major context keeps rows
  // 12..17, which lie in heads floor(12 * 4 / 18) = 2 and 3.
  const cfg = { ...SMALL, dModel: 32, nHeads: 4 };
  const dims = (model) => {
    const m = onnx.ModelProto.decode(buildOnnxModel(model));
    const q = m.graph.initializer.filter((i) => /^decoder\.layers\.0\.self_attention\.query_projection.*weight\.T$/.test(i.name));
    return q.map((i) => `${i.name} ${i.dims.map(Number).join('x')}`);
  };
  const mix = new Informer(cfg);
  const noMix = new Informer({ ...cfg, mix: false });
  t.teardown(() => (mix.dispose(), noMix.dispose()));
  t.same(dims(mix), ['decoder.layers.0.self_attention.query_projection[16:].weight.T 32x16']);
  t.same(dims(noMix), ['decoder.layers.0.self_attention.query_projection.weight.T 32x32']);
  await compareWithNative(t, mix);
});

for (const file of fixturePaths()) {
  const fxName = path.basename(file, '.safetensors');
  t.test(`fixture ${fxName}`, async (t) => {
    const { tensors, metadata } = readSafetensors(file);
    const cfg = configFromReference(JSON.parse(metadata.config));
    const params = {};
    for (const [k, v] of Object.entries(tensors)) if (k.startsWith('param.')) params[k.slice(6)] = v;
    // The reference eval pass runs after a train pass, with the BatchNorm stats it updated.
    for (const [k, v] of Object.entries(tensors)) if (k.startsWith('bn_after_train.')) params[k.slice('bn_after_train.'.length)] = v;
    const model = Informer.fromStateDict(cfg, params);
    t.teardown(() => model.dispose());
    await t.test('deterministic samples: onnxruntime equals forward', (t) => compareWithNative(t, model));
    await t.test('recorded eval samples baked in: onnxruntime equals the PyTorch eval output', async (t) => {
      const n = model.sampleDraws().length;
      const samples = Array.from({ length: n }, (_, i) => tensors[`sample.${n + i}`]);
      const bytes = buildOnnxModel(model, n > 0 ? { sampleIndices: samples } : {});
      t.equal(checkOnnxModel(bytes).metadata['informer.sampling'], n > 0 ? 'given' : 'deterministic');
      const session = await ort.InferenceSession.create(bytes);
      const f = {};
      for (const k of ['x_enc', 'x_mark_enc', 'x_dec', 'x_mark_dec'])
        f[k] = new ort.Tensor('float32', tensors[`input.${k}`].data, tensors[`input.${k}`].shape);
      const { forecast } = await session.run(f);
      const err = maxAbsDiff(forecast.data, tensors['output.eval'].data);
      t.ok(err < TOL, `max abs error vs output.eval ${err.toExponential(2)}`);
    });
  });
}

t.test('exportOnnx writes one file atomically and reports progress', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'informer-onnx-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const model = new Informer(SMALL);
  t.teardown(() => model.dispose());
  const stages = [];
  const file = path.join(dir, 'model.onnx');
  const r = exportOnnx(model, file, { onProgress: (s, f) => stages.push([s, f]) });
  t.same(fs.readdirSync(dir), ['model.onnx'], 'no temp file left');
  t.equal(r.bytes, fs.statSync(file).size);
  t.equal(r.opset, 17);
  t.same([...new Set(stages.map((s) => s[0]))], ['building', 'serialising', 'writing']);
  t.ok(
    stages.every(([, f]) => f >= 0 && f <= 1),
    'fractions in [0, 1]',
  );
  t.same(stages.at(-1), ['writing', 1]);
  const report = checkOnnxModel(fs.readFileSync(file));
  t.equal(report.inputs[0].shape[0], BATCH_DIM);
  t.same(JSON.parse(report.metadata['informer.config']).d_model, 16);
  t.throws(() => exportOnnx(model, file, { opset: 16 }), ConfigError, 'opset below 17');
  t.throws(() => exportOnnx(model, file, { opset: 22 }), ConfigError, 'opset above the supported range');
  t.throws(() => buildOnnxModel(model, { sampleIndices: [] }), ShapeError, 'wrong number of sample matrices');
  const bad = model.inferenceSampleIndices();
  bad[0].data[0] = 10_000;
  t.throws(() => buildOnnxModel(model, { sampleIndices: bad }), ValueError, 'sample index out of range (the same ValueError as forward)');
});

t.test('checkOnnxModel rejects broken graphs', async (t) => {
  const model = new Informer(SMALL);
  t.teardown(() => model.dispose());
  const bytes = buildOnnxModel(model);
  const mutate = (fn) => {
    const m = onnx.ModelProto.decode(bytes);
    fn(m);
    return onnx.ModelProto.encode(m).finish();
  };
  const rejects = (b, pattern, msg) =>
    t.throws(() => checkOnnxModel(b), pattern instanceof RegExp ? { name: 'FormatError', message: pattern } : pattern, msg);
  t.throws(() => checkOnnxModel(new Uint8Array([1, 2, 3, 4, 5])), FormatError, 'garbage bytes');
  rejects(
    mutate((m) => m.graph.node.splice(3, 1)),
    /is not defined/,
    'a removed node leaves an undefined input',
  );
  rejects(
    mutate((m) => m.graph.node.reverse()),
    /is not defined/,
    'nodes out of topological order',
  );
  rejects(
    mutate((m) => (m.graph.node.find((n) => n.opType === 'Erf').opType = 'Gelu')),
    /not in the allow-list/,
    'op outside the allow-list',
  );
  rejects(
    mutate((m) => (m.opsetImport[0].version = 16)),
    /opset 16/,
    'opset too old',
  );
  rejects(
    mutate((m) => (m.graph.input[0].type.tensorType.shape.dim[0] = { dimValue: 1 })),
    /batch/,
    'fixed batch dim',
  );
  rejects(
    mutate((m) => m.graph.node.find((n) => n.opType === 'MatMul').input.push('extra')),
    /inputs|not defined/,
    'wrong input count',
  );
  rejects(
    mutate((m) => (m.graph.output[0].type.tensorType.shape.dim[1] = { dimValue: 99 })),
    /infers to/,
    'declared output shape wrong',
  );
  rejects(
    mutate((m) => {
      const i = m.graph.initializer.find((x) => x.name === 'projection.weight.T');
      i.dims = [i.dims[1], i.dims[0]];
    }),
    /shape inference failed/,
    'inconsistent shapes',
  );
});
