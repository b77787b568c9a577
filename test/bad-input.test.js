// Bad input never crashes the process: every case is a typed error that names the problem.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

import {
  Adam,
  ConfigError,
  DisposedError,
  FormatError,
  Informer,
  ShapeError,
  StateDictError,
  ValueError,
  readTable,
  toNativeConfig,
  resolveConfig,
} from '../dist/index.js';
import { randomBatch } from './helpers/fixtures.js';

const cfg = { seqLen: 24, labelLen: 12, predLen: 6, encIn: 2, decIn: 2, cOut: 2, dModel: 16, nHeads: 2, dFf: 32, eLayers: 2, seed: 1 };

function clone(batch) {
  return Object.fromEntries(Object.entries(batch).map(([k, v]) => [k, { data: v.data.slice(), shape: v.shape.slice() }]));
}

t.test('configuration errors', (t) => {
  t.throws(() => new Informer({ ...cfg, dModel: 30, nHeads: 4 }), { name: 'ConfigError', message: /not divisible/ });
  t.throws(() => new Informer({ ...cfg, freq: 'fortnightly' }), ConfigError);
  t.throws(() => new Informer({ ...cfg, embed: 'sinusoid' }), { name: 'ConfigError', message: /embed/ });
  t.throws(() => new Informer({ ...cfg, embed: 'fixed', freq: 'd' }), ConfigError);
  t.throws(() => new Informer({ ...cfg, dmodel: 16 }), { name: 'ConfigError', message: /dModel/ });
  t.throws(() => new Informer({ ...cfg, seqLen: 0 }), ConfigError);
  t.end();
});

t.test('input shape, dtype and value errors', async (t) => {
  const m = new Informer(cfg);
  t.teardown(() => m.dispose());
  const good = randomBatch(m.config, m.nMark, 2);
  const cases = [
    [
      'wrong seqLen',
      (b) => {
        b.xEnc = { data: new Float32Array(2 * 23 * 2), shape: [2, 23, 2] };
      },
      ShapeError,
      /xEnc.*seqLen/,
    ],
    [
      'wrong channels',
      (b) => {
        b.xDec = { data: new Float32Array(2 * 18 * 3), shape: [2, 18, 3] };
      },
      ShapeError,
      /xDec/,
    ],
    [
      'batch mismatch',
      (b) => {
        b.xMarkDec = { data: new Float32Array(3 * 18 * 4), shape: [3, 18, 4] };
      },
      ShapeError,
      /xMarkDec/,
    ],
    [
      'data shorter than shape',
      (b) => {
        b.xEnc = { data: new Float32Array(10), shape: [2, 24, 2] };
      },
      ShapeError,
      /elements/,
    ],
    [
      'float64 data',
      (b) => {
        b.xEnc = { data: new Float64Array(96), shape: [2, 24, 2] };
      },
      ShapeError,
      /xEnc/,
    ],
    [
      'missing input',
      (b) => {
        delete b.xMarkEnc;
      },
      ShapeError,
      /xMarkEnc/,
    ],
    [
      'NaN input',
      (b) => {
        b.xEnc.data[5] = NaN;
      },
      ValueError,
      /x_enc.*non-finite.*batch 0, step 2, column 1/,
    ],
    [
      'Inf mark',
      (b) => {
        b.xMarkDec.data[0] = Infinity;
      },
      ValueError,
      /x_mark_dec/,
    ],
  ];
  for (const [name, mutate, cls, msg] of cases) {
    const b = clone(good);
    mutate(b);
    t.throws(() => m.forwardSync(b), { name: cls.name, message: msg }, `${name} (sync)`);
    await t.rejects(async () => m.forward(b), { name: cls.name }, `${name} (async)`);
  }
  t.throws(() => m.forwardSync(good, { mode: 'predict' }), ConfigError);
});

t.test('sample index errors', (t) => {
  const m = new Informer({ ...cfg, seqLen: 96, labelLen: 48, predLen: 24 });
  t.teardown(() => m.dispose());
  const b = randomBatch(m.config, m.nMark, 1);
  const good = m.inferenceSampleIndices();
  t.throws(() => m.forwardSync(b, { sampleIndices: good.slice(1) }), { name: 'ShapeError', message: /draws 3 per pass/ });
  const wrongShape = good.map((s) => ({ ...s }));
  wrongShape[0] = { data: new Int32Array(10), shape: [2, 5] };
  t.throws(() => m.forwardSync(b, { sampleIndices: wrongShape }), ShapeError);
  const outOfRange = good.map((s) => ({ data: s.data.slice(), shape: s.shape }));
  outOfRange[1].data[3] = 48; // encoder layer 1 has 48 keys
  t.throws(() => m.forwardSync(b, { sampleIndices: outOfRange }), { name: 'ValueError', message: /index 48.*\[0, 48\)/ });
  const negative = good.map((s) => s.data.slice());
  negative[2][0] = -1;
  t.throws(() => m.forwardSync(b, { sampleIndices: negative }), ValueError);
  t.end();
});

t.test('fixed temporal marks out of range', (t) => {
  const m = new Informer({ ...cfg, embed: 'fixed' });
  t.teardown(() => m.dispose());
  const b = randomBatch(m.config, m.nMark, 1);
  b.xMarkEnc.data[3] = 24; // hour column: table has 24 rows
  t.throws(() => m.forwardSync(b), { name: 'ValueError', message: /hour_embed.*outside \[0, 24\)/ });
  t.end();
});

t.test('state dict errors', (t) => {
  const m = new Informer(cfg);
  const sd = m.stateDict();
  m.dispose();
  const missing = { ...sd };
  delete missing['projection.bias'];
  t.throws(() => Informer.fromStateDict(cfg, missing), { name: 'StateDictError', message: /missing.*projection\.bias/ });
  t.throws(() => Informer.fromStateDict(cfg, { ...sd, 'encoder.extra.weight': sd['projection.bias'] }), {
    name: 'StateDictError',
    message: /unexpected.*encoder\.extra\.weight/,
  });
  t.throws(() => Informer.fromStateDict(cfg, { ...sd, 'projection.weight': { data: new Float32Array(4), shape: [2, 2] } }), {
    name: 'StateDictError',
    message: /projection\.weight.*\[2, 2\].*\[2, 16\]/,
  });
  t.throws(() => Informer.fromStateDict(cfg, { ...sd, 'projection.bias': { data: new Int32Array(2), shape: [2] } }), StateDictError);
  const nan = sd['projection.bias'].data.slice();
  nan[1] = NaN;
  t.throws(() => Informer.fromStateDict(cfg, { ...sd, 'projection.bias': { data: nan, shape: [2] } }), {
    name: 'ValueError',
    message: /projection\.bias.*non-finite/,
  });
  t.throws(() => Informer.fromStateDict({ ...cfg, dModel: 32 }, sd), StateDictError);
  t.end();
});

t.test('truncated or corrupt model files', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-bad-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const m = new Informer(cfg);
  const file = join(dir, 'model.safetensors');
  m.save(file);
  m.dispose();
  const bytes = readFileSync(file);
  for (const cut of [0, 4, 9, 100, bytes.length - 1]) {
    const p = join(dir, `cut${cut}.safetensors`);
    writeFileSync(p, bytes.subarray(0, cut));
    t.throws(() => Informer.load(p), FormatError, `truncated at ${cut}`);
  }
  const garbage = Buffer.from(bytes);
  garbage.writeBigUInt64LE(1n << 40n, 0);
  writeFileSync(join(dir, 'huge.safetensors'), garbage);
  t.throws(() => Informer.load(join(dir, 'huge.safetensors')), FormatError);
  const badJson = Buffer.from(bytes);
  badJson[10] = 0x7b; // '{' inside the JSON header
  writeFileSync(join(dir, 'json.safetensors'), badJson);
  t.throws(() => Informer.load(join(dir, 'json.safetensors')), FormatError);
  t.end();
});

t.test('disposed models throw DisposedError; dispose twice is safe; in-flight work finishes', async (t) => {
  const m = new Informer(cfg);
  const b = randomBatch(m.config, m.nMark, 8);
  const pending = m.forward(b);
  m.dispose();
  m.dispose();
  const out = await pending;
  t.equal(out.data.length, 8 * 6 * 2, 'the pass started before dispose completes');
  t.throws(() => m.forwardSync(b), DisposedError);
  t.throws(() => m.stateDict(), DisposedError);
});

t.test('the raw addon validates what JavaScript passes it', (t) => {
  const require = createRequire(import.meta.url);
  const addon = require('../build/Release/informer.node');
  const native = toNativeConfig(resolveConfig(cfg));
  t.throws(() => new addon.NativeModel(), /config/);
  t.throws(() => new addon.NativeModel({ ...native, d_model: 'x' }), /d_model/);
  t.throws(() => new addon.NativeModel({ ...native, n_heads: 2.5 }), /n_heads/);
  t.throws(() => new addon.NativeModel({ ...native, d_model: 30, n_heads: 4 }), /divisible/);
  const m = new addon.NativeModel(native);
  const B = 1;
  const inputs = {
    xEnc: new Float32Array(B * 24 * 2),
    xMarkEnc: new Float32Array(B * 24 * 4),
    xDec: new Float32Array(B * 18 * 2),
    xMarkDec: new Float32Array(B * 18 * 4),
  };
  t.throws(() => m.forwardSync(inputs, 2), /xEnc has 48 elements, expected 96/);
  t.throws(() => m.forwardSync({ ...inputs, xDec: new Int32Array(36) }, 1), /Float32Array/);
  t.throws(() => m.forwardSync(inputs, -1), /batch size/);
  t.throws(() => m.forwardSync(inputs, 1, { sampleIndices: [new Float32Array(3)] }), /sampleIndices/);
  t.throws(() => m.loadState([{ name: 'projection.bias', shape: [1e12], data: new Float32Array(2) }]), /shape/);
  t.throws(() => m.loadState([{ name: 'projection.bias', shape: [3], data: new Float32Array(2) }]), /elements/);
  t.throws(() => m.deterministicSamples(99), /draw index/);
  t.equal(m.forwardSync(inputs, 1).length, 12);
  m.dispose();
  t.end();
});

t.test('training calls with null or non-object options are ConfigErrors', async (t) => {
  const m = new Informer({ ...cfg, dropout: 0 });
  t.teardown(() => m.dispose());
  const b = randomBatch(m.config, m.nMark, 2);
  const target = { data: new Float32Array(2 * 6 * 2), shape: [2, 6, 2] };
  const adam = new Adam({ lr: 1e-3 });
  for (const opts of [null, 'train', 5]) {
    t.throws(() => m.lossAndGradSync(b, target, opts), ConfigError, `lossAndGradSync(${opts})`);
    t.throws(() => m.trainStepSync(b, target, adam, opts), ConfigError, `trainStepSync(${opts})`);
    await t.rejects(async () => m.lossAndGrad(b, target, opts), ConfigError, `lossAndGrad(${opts})`);
    await t.rejects(async () => m.trainStep(b, target, adam, opts), ConfigError, `trainStep(${opts})`);
  }
});

t.test('finite inputs that overflow the network give a ValueError, not a NaN forecast', async (t) => {
  const m = new Informer(cfg);
  t.teardown(() => m.dispose());
  const b = randomBatch(m.config, m.nMark, 2);
  b.xEnc.data.fill(3.4e38, 0, 24 * 2); // batch row 0 only
  b.xDec.data.fill(3.4e38, 0, 18 * 2);
  t.throws(() => m.forwardSync(b), { name: 'ValueError', message: /forecast of batch 0 is not finite.*x_enc 3\.4e\+38/ });
  await t.rejects(m.forward(b), ValueError);
});

t.test('a CSV too long to decode is refused from its size, before it is read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-bigcsv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'huge.csv');
  writeFileSync(file, 'date,a\n');
  truncateSync(file, 600 * 1024 * 1024); // sparse: no disk used
  const t0 = performance.now();
  await t.rejects(readTable(file), { name: 'FormatError', message: /huge\.csv: the file is 629145600 bytes; CSV files up to \d+ bytes/ });
  t.ok(performance.now() - t0 < 1000, 'refused at once');
});
