import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  CONFIG_KEYS,
  DEFAULT_CONFIG,
  MAX_POSITIONS,
  REFERENCE_KEYS,
  REFERENCE_NON_MODEL_KEYS,
  configFromReference,
  freqInfo,
  markColumns,
  resolveConfig,
  toNativeConfig,
  toReferenceConfig,
} from '../dist/config.js';
import { ConfigError, InformerError } from '../dist/errors.js';
import { readSafetensors } from '../dist/safetensors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = [
  process.env.INFORMER_FIXTURES,
  path.join(here, 'fixtures'),
  path.resolve(here, '../../shared/fixtures'),
  '/work/shared/fixtures',
]
  .filter(Boolean)
  .find((d) => fs.existsSync(path.join(d, 'seed.safetensors')));

function throwsConfig(t, fn, patterns = [], msg = '') {
  try {
    fn();
  } catch (e) {
    t.ok(e instanceof ConfigError, `${msg} throws ConfigError`, { got: `${e?.name}: ${e?.message}` });
    t.ok(e instanceof InformerError);
    t.equal(e.code, 'ERR_INFORMER_CONFIG');
    for (const p of [].concat(patterns)) t.match(e.message, p, `${msg} message matches ${p}`);
    return e;
  }
  t.fail(`${msg} did not throw`);
  return undefined;
}

const REFERENCE_CLI_DEFAULTS = {
  seqLen: 96,
  labelLen: 48,
  predLen: 24,
  encIn: 7,
  decIn: 7,
  cOut: 7,
  dModel: 512,
  nHeads: 8,
  eLayers: 2,
  dLayers: 1,
  sLayers: [3, 2, 1],
  dFf: 2048,
  factor: 5,
  padding: 0,
  distil: true,
  dropout: 0.05,
  attn: 'prob',
  embed: 'timeF',
  freq: 'h',
  activation: 'gelu',
  mix: true,
  model: 'informer',
  seed: 0,
  // not a reference setting: the reference has no instance normalisation
  normalize: 'none',
};

t.test('DEFAULT_CONFIG equals the reference CLI defaults', async (t) => {
  t.same({ ...DEFAULT_CONFIG, sLayers: [...DEFAULT_CONFIG.sLayers] }, REFERENCE_CLI_DEFAULTS);
  t.same(Object.keys(DEFAULT_CONFIG).sort(), Object.keys(REFERENCE_CLI_DEFAULTS).sort());
  t.same([...CONFIG_KEYS].sort(), Object.keys(REFERENCE_CLI_DEFAULTS).sort());
  t.ok(Object.isFrozen(DEFAULT_CONFIG));
  t.ok(Object.isFrozen(DEFAULT_CONFIG.sLayers));
  t.same(resolveConfig(), REFERENCE_CLI_DEFAULTS);
  t.same(resolveConfig({}), REFERENCE_CLI_DEFAULTS);
  t.same(configFromReference({}), REFERENCE_CLI_DEFAULTS);
});

t.test('resolveConfig fills defaults and returns a frozen copy', async (t) => {
  const partial = { seqLen: 12, labelLen: 12, predLen: 6, dModel: 32, nHeads: 4, sLayers: [2, 1], dropout: undefined };
  const c = resolveConfig(partial);
  t.equal(c.seqLen, 12);
  t.equal(c.dModel, 32);
  t.equal(c.dFf, 2048, 'default kept');
  t.equal(c.dropout, 0.05, 'undefined means default');
  t.same(c.sLayers, [2, 1]);
  t.ok(Object.isFrozen(c));
  t.ok(Object.isFrozen(c.sLayers));
  t.not(c.sLayers, partial.sLayers, 'sLayers copied');
  partial.sLayers.push(9);
  t.same(c.sLayers, [2, 1], 'not affected by later changes of the input');
  t.throws(() => {
    c.seqLen = 5;
  }, TypeError);
  t.same(resolveConfig(c), c, 'a resolved config resolves to itself');
  for (const [k, v] of Object.entries({
    attn: 'full',
    embed: 'learned',
    activation: 'relu',
    model: 'informerstack',
    padding: 1,
    distil: false,
    mix: false,
    seed: 12345,
    freq: '15min',
    labelLen: 0,
  })) {
    t.equal(resolveConfig({ [k]: v })[k], v, `${k} = ${v} accepted`);
  }
});

t.test('resolveConfig validation errors', async (t) => {
  const positive = ['seqLen', 'predLen', 'encIn', 'decIn', 'cOut', 'dModel', 'nHeads', 'eLayers', 'dLayers', 'dFf', 'factor'];
  for (const k of positive) {
    for (const bad of [0, -1, 1.5, NaN, Infinity, '8', null, true]) {
      throwsConfig(t, () => resolveConfig({ [k]: bad }), [new RegExp(`^${k} must be an integer >= 1`)], `${k} = ${String(bad)}`);
    }
  }
  throwsConfig(t, () => resolveConfig({ seqLen: 0 }), ['seqLen must be an integer >= 1, got 0']);
  throwsConfig(t, () => resolveConfig({ labelLen: -1 }), [/labelLen must be an integer >= 0, got -1/]);
  throwsConfig(t, () => resolveConfig({ labelLen: 97 }), [/labelLen 97 is larger than seqLen 96/]);
  throwsConfig(t, () => resolveConfig({ dModel: 30, nHeads: 4 }), ['dModel 30 is not divisible by nHeads 4']);
  throwsConfig(t, () => resolveConfig({ dModel: 9, nHeads: 3 }), [/dModel must be even/, /9/]);
  throwsConfig(t, () => resolveConfig({ seqLen: 5001, labelLen: 48 }), [/seqLen 5001/, /5000/]);
  t.equal(resolveConfig({ seqLen: 5000 }).seqLen, MAX_POSITIONS);
  throwsConfig(t, () => resolveConfig({ seqLen: 4000, labelLen: 4000, predLen: 1001 }), [/labelLen \+ predLen = 5001/, /5000/]);
  t.equal(resolveConfig({ seqLen: 4000, labelLen: 4000, predLen: 1000 }).predLen, 1000);
  throwsConfig(t, () => resolveConfig({ model: 'informerstack', sLayers: [] }), [/sLayers must not be empty/]);
  throwsConfig(t, () => resolveConfig({ sLayers: [3, 0] }), [/sLayers/, /index 1/]);
  throwsConfig(t, () => resolveConfig({ sLayers: '3,2,1' }), [/sLayers must be an array/]);
  t.same(resolveConfig({ sLayers: [] }).sLayers, [], 'empty sLayers is fine for model informer');
  for (const bad of [-0.1, 1, 1.5, NaN, '0.1', null]) {
    throwsConfig(t, () => resolveConfig({ dropout: bad }), [/dropout must be a number in \[0, 1\)/], `dropout ${String(bad)}`);
  }
  t.equal(resolveConfig({ dropout: 0 }).dropout, 0);
  t.equal(resolveConfig({ dropout: 0.999 }).dropout, 0.999);
  for (const bad of [2, -1, '0', true, 0.5]) {
    throwsConfig(t, () => resolveConfig({ padding: bad }), [/padding must be 0 or 1/], `padding ${String(bad)}`);
  }
  throwsConfig(t, () => resolveConfig({ attn: 'sparse' }), [/attn must be one of "prob", "full", got "sparse"/]);
  throwsConfig(t, () => resolveConfig({ embed: 'timef' }), [/embed must be one of "timeF", "fixed", "learned", got "timef"/]);
  throwsConfig(t, () => resolveConfig({ activation: 'elu' }), [/activation must be one of "gelu", "relu"/]);
  throwsConfig(t, () => resolveConfig({ model: 'autoformer' }), [/model must be one of "informer", "informerstack"/]);
  throwsConfig(t, () => resolveConfig({ distil: 'false' }), [/distil must be a boolean/]);
  throwsConfig(t, () => resolveConfig({ mix: 0 }), [/mix must be a boolean/]);
  throwsConfig(t, () => resolveConfig({ freq: 'x' }), [/freq "x"/, /accepted/]);
  throwsConfig(t, () => resolveConfig({ freq: 3 }), [/freq must be a string/]);
  throwsConfig(t, () => resolveConfig({ freq: 'd', embed: 'fixed' }), [/freq "d"/, /"fixed"/]);
  throwsConfig(t, () => resolveConfig({ seed: -1 }), [/seed must be an integer >= 0, got -1/]);
  throwsConfig(t, () => resolveConfig({ seed: 2 ** 53 }), [/seed must be an integer >= 0/]);
  throwsConfig(t, () => resolveConfig({ seed: 1.5 }), [/seed/]);
  t.equal(resolveConfig({ seed: Number.MAX_SAFE_INTEGER }).seed, Number.MAX_SAFE_INTEGER);
});

t.test('sequence lengths too short for the encoder / ProbSparse', async (t) => {
  // Distilling halves 2 -> 1; ProbSparse samples factor*ceil(ln L) = 0 keys for L = 1.
  throwsConfig(t, () => resolveConfig({ seqLen: 2, labelLen: 1, predLen: 1, eLayers: 2 }), [/seqLen 2/, /attn "prob"/, /layer 1/]);
  t.equal(resolveConfig({ seqLen: 2, labelLen: 1, predLen: 1, eLayers: 2, attn: 'full' }).seqLen, 2);
  t.equal(resolveConfig({ seqLen: 2, labelLen: 1, predLen: 1, eLayers: 2, distil: false }).seqLen, 2);
  throwsConfig(t, () => resolveConfig({ seqLen: 1, labelLen: 1, predLen: 1, eLayers: 1 }), [/seqLen 1/]);
  throwsConfig(t, () => resolveConfig({ seqLen: 8, labelLen: 0, predLen: 1 }), [/labelLen \+ predLen = 1/, /decoder/]);
  t.equal(resolveConfig({ seqLen: 8, labelLen: 0, predLen: 1, attn: 'full' }).predLen, 1);
  t.equal(resolveConfig({ seqLen: 8, labelLen: 0, predLen: 2 }).predLen, 2);
  // InformerStack: encoder i sees the last floor(seqLen / 2^i) steps.
  throwsConfig(t, () => resolveConfig({ model: 'informerstack', seqLen: 3, labelLen: 1, sLayers: [1, 1, 1], attn: 'full' }), [
    /stacked encoders/,
    /encoder 2/,
  ]);
  t.equal(resolveConfig({ model: 'informerstack', seqLen: 4, labelLen: 1, sLayers: [1, 1, 1], attn: 'full' }).seqLen, 4);
  throwsConfig(t, () => resolveConfig({ model: 'informerstack', seqLen: 4, labelLen: 1, sLayers: [1, 1, 1] }), [
    /attn "prob"/,
    /encoder 2/,
  ]);
});

t.test('unknown keys are ConfigErrors naming them', async (t) => {
  throwsConfig(t, () => resolveConfig({ dmodel: 64 }), [/"dmodel"/, /did you mean "dModel"/]);
  throwsConfig(t, () => resolveConfig({ seqLn: 64 }), [/"seqLn"/, /did you mean "seqLen"/]);
  throwsConfig(t, () => resolveConfig({ d_model: 64 }), [/"d_model"/, /"dModel"/, /configFromReference/]);
  throwsConfig(t, () => resolveConfig({ banana: 1, other: 2 }), [/keys "banana", "other"/]);
  throwsConfig(t, () => resolveConfig(42), [/config must be an object/]);
  throwsConfig(t, () => resolveConfig([1]), [/config must be an object/]);
});

const FIXTURE_CONFIGS = {
  seed: {
    seqLen: 12,
    labelLen: 12,
    predLen: 6,
    encIn: 1,
    decIn: 1,
    cOut: 1,
    dModel: 32,
    nHeads: 4,
    eLayers: 1,
    dLayers: 1,
    sLayers: [3, 2, 1],
    dFf: 128,
    factor: 5,
    padding: 0,
    distil: true,
    dropout: 0,
    attn: 'prob',
    embed: 'timeF',
    freq: 'h',
    activation: 'gelu',
    mix: true,
    model: 'informer',
    seed: 0,
    normalize: 'none',
  },
  paper_small: {
    seqLen: 96,
    labelLen: 48,
    predLen: 24,
    encIn: 7,
    decIn: 7,
    cOut: 7,
    dModel: 64,
    nHeads: 4,
    eLayers: 2,
    dLayers: 1,
    sLayers: [3, 2, 1],
    dFf: 128,
    factor: 5,
    padding: 0,
    distil: true,
    dropout: 0,
    attn: 'prob',
    embed: 'timeF',
    freq: 'h',
    activation: 'gelu',
    mix: true,
    model: 'informer',
    seed: 0,
    normalize: 'none',
  },
  full_fixed: {
    seqLen: 96,
    labelLen: 48,
    predLen: 24,
    encIn: 7,
    decIn: 7,
    cOut: 7,
    dModel: 64,
    nHeads: 4,
    eLayers: 2,
    dLayers: 1,
    sLayers: [3, 2, 1],
    dFf: 128,
    factor: 5,
    padding: 0,
    distil: true,
    dropout: 0,
    attn: 'full',
    embed: 'fixed',
    freq: 'h',
    activation: 'gelu',
    mix: true,
    model: 'informer',
    seed: 0,
    normalize: 'none',
  },
};

t.test('configFromReference on the fixture configs', { skip: FIXTURES ? false : 'fixtures not found' }, async (t) => {
  for (const [name, expected] of Object.entries(FIXTURE_CONFIGS)) {
    const file = path.join(FIXTURES, `${name}.safetensors`);
    if (!fs.existsSync(file)) {
      t.skip(`${name}.safetensors not found`);
      continue;
    }
    const { metadata, tensors } = readSafetensors(file);
    const args = JSON.parse(metadata.config);
    t.equal(args.name, name);
    const c = configFromReference(args);
    t.same(c, expected, `${name} config`);
    t.ok(Object.isFrozen(c));
    // The x_mark column count matches the fixture's inputs.
    t.equal(markColumns(c.freq, c.embed), tensors['input.x_mark_enc'].shape[2], `${name} mark columns`);
    t.equal(toNativeConfig(c).n_mark, tensors['input.x_mark_enc'].shape[2]);
  }
});

t.test('configFromReference mapping', async (t) => {
  const args = {
    // model settings
    seq_len: 48,
    label_len: 24,
    pred_len: 12,
    enc_in: 7,
    dec_in: 7,
    c_out: 1,
    d_model: 64,
    n_heads: 8,
    e_layers: 3,
    d_layers: 2,
    s_layers: '4, 3,2',
    d_ff: 256,
    factor: 3,
    padding: 1,
    distil: false,
    dropout: 0.1,
    attn: 'full',
    embed: 'learned',
    freq: 't',
    activation: 'relu',
    mix: false,
    model: 'informerstack',
    seed: 7,
    // ignored non-model arguments of main_informer.py and of the fixture configs
    name: 'x',
    batch: 32,
    features: 'MS',
    out_dir: '/tmp',
    data: 'ETTh1',
    target: 'OT',
    checkpoints: './c',
    train_epochs: 6,
    batch_size: 32,
    patience: 3,
    learning_rate: 1e-4,
    des: 'test',
    loss: 'mse',
    lradj: 'type1',
    use_amp: false,
    inverse: false,
    use_gpu: true,
    gpu: 0,
    use_multi_gpu: false,
    devices: '0,1,2,3',
    itr: 2,
    num_workers: 0,
    output_attention: false,
    do_predict: false,
    cols: null,
    root_path: './data/ETT/',
    data_path: 'ETTh1.csv',
    detail_freq: '15min',
  };
  t.same(configFromReference(args), {
    seqLen: 48,
    labelLen: 24,
    predLen: 12,
    encIn: 7,
    decIn: 7,
    cOut: 1,
    dModel: 64,
    nHeads: 8,
    eLayers: 3,
    dLayers: 2,
    sLayers: [4, 3, 2],
    dFf: 256,
    factor: 3,
    padding: 1,
    distil: false,
    dropout: 0.1,
    attn: 'full',
    embed: 'learned',
    freq: 't',
    activation: 'relu',
    mix: false,
    model: 'informerstack',
    seed: 7,
    normalize: 'none',
  });
  t.same(configFromReference({ s_layers: [2, 1] }).sLayers, [2, 1]);
  t.same(Object.keys(REFERENCE_KEYS).length, CONFIG_KEYS.length, 'every config key has a reference name');
  for (const k of ['name', 'batch', 'features', 'out_dir', 'data_path', 'use_gpu']) t.ok(REFERENCE_NON_MODEL_KEYS.has(k));

  throwsConfig(t, () => configFromReference({ seq_len: 0 }), [/seq_len \(seqLen\) must be an integer >= 1, got 0/]);
  throwsConfig(t, () => configFromReference({ d_model: 30, n_heads: 4 }), [
    /d_model \(dModel\) 30 is not divisible by n_heads \(nHeads\) 4/,
  ]);
  throwsConfig(t, () => configFromReference({ s_layers: '3,x,1' }), [/s_layers/, /"3,x,1"/]);
  throwsConfig(t, () => configFromReference({ seqlen: 96 }), [/"seqlen"/, /did you mean "seq_len"/]);
  throwsConfig(t, () => configFromReference({ dmodel: 96 }), [/"dmodel"/, /did you mean "d_model"/]);
  throwsConfig(t, () => configFromReference({ seqLen: 96 }), [/"seqLen"/, /seq_len/]);
  throwsConfig(t, () => configFromReference({ whatever: 1 }), [/unknown reference argument "whatever"/]);
  throwsConfig(t, () => configFromReference({ freq: 'a' }), [/freq/, /yearly/]);
  throwsConfig(t, () => configFromReference(null), [/must be an object/]);
});

t.test('normalize: values, constraints, and models saved without it', async (t) => {
  for (const mode of ['none', 'revin', 'last']) {
    t.equal(resolveConfig({ normalize: mode }).normalize, mode);
    t.equal(configFromReference({ normalize: mode }).normalize, mode);
  }
  t.equal(configFromReference({ seq_len: 24, label_len: 12 }).normalize, 'none', 'a config written before normalize existed');
  throwsConfig(t, () => resolveConfig({ normalize: 'standard' }), [/normalize must be one of "none", "revin", "last", got "standard"/]);
  throwsConfig(t, () => resolveConfig({ normalize: 'revin', encIn: 3, decIn: 2, cOut: 1 }), [
    /normalize "revin" needs decIn = encIn/,
    /got 2 and 3/,
  ]);
  throwsConfig(t, () => resolveConfig({ normalize: 'last', encIn: 2, decIn: 2, cOut: 3 }), [
    /normalize "last" needs cOut <= encIn/,
    /3 > 2/,
  ]);
  t.equal(resolveConfig({ normalize: 'none', encIn: 3, decIn: 2, cOut: 5 }).cOut, 5, "'none' keeps the reference's freedom");
  t.equal(resolveConfig({ normalize: 'revin', encIn: 3, decIn: 3, cOut: 1 }).cOut, 1, 'MS');
  t.equal(toReferenceConfig(resolveConfig({ normalize: 'revin' })).normalize, 'revin');
});

t.test('toReferenceConfig round trip', async (t) => {
  const c = resolveConfig({ seqLen: 24, labelLen: 12, predLen: 6, model: 'informerstack', sLayers: [2, 1], freq: '15min', embed: 'fixed' });
  const ref = toReferenceConfig(c);
  t.equal(ref.seq_len, 24);
  t.equal(ref.freq, '15min');
  t.same(ref.s_layers, [2, 1]);
  t.same(configFromReference(ref), c);
  t.same(configFromReference(JSON.parse(JSON.stringify(ref))), c, 'survives JSON');
});

t.test('freqInfo', async (t) => {
  const table = {
    h: ['h', 1, 3_600_000],
    t: ['t', 1, 60_000],
    '15min': ['t', 15, 900_000],
    '5min': ['t', 5, 300_000],
    '30s': ['s', 30, 30_000],
    '2h': ['h', 2, 7_200_000],
    d: ['d', 1, 86_400_000],
    '3d': ['d', 3, 259_200_000],
    b: ['b', 1, null],
    w: ['w', 1, 604_800_000],
    '1w': ['w', 1, 604_800_000],
    m: ['m', 1, null],
    s: ['s', 1, 1000],
    // pandas-style spellings
    H: ['h', 1, 3_600_000],
    T: ['t', 1, 60_000],
    '15T': ['t', 15, 900_000],
    min: ['t', 1, 60_000],
    '10Min': ['t', 10, 600_000],
    S: ['s', 1, 1000],
    D: ['d', 1, 86_400_000],
    B: ['b', 1, null],
    W: ['w', 1, 604_800_000],
    'W-SUN': ['w', 1, 604_800_000],
    M: ['m', 1, null],
    MS: ['m', 1, null],
    ME: ['m', 1, null],
    '2M': ['m', 2, null],
    hourly: ['h', 1, 3_600_000],
  };
  for (const [freq, [base, multiple, stepMs]] of Object.entries(table)) {
    t.same(freqInfo(freq), { base, multiple, stepMs }, `freqInfo(${JSON.stringify(freq)})`);
  }
  throwsConfig(t, () => freqInfo('a'), [/freq "a"/, /yearly/, /0 feature/]);
  throwsConfig(t, () => freqInfo('y'), [/yearly/]);
  throwsConfig(t, () => freqInfo('A-DEC'), [/yearly/]);
  throwsConfig(t, () => freqInfo('q'), [/freq "q"/, /quarterly/, /KeyError/]);
  throwsConfig(t, () => freqInfo('QS'), [/quarterly/]);
  throwsConfig(t, () => freqInfo('n'), [/sub-second/, /15min/]);
  throwsConfig(t, () => freqInfo('ms'), [/sub-second/]);
  throwsConfig(t, () => freqInfo('0h'), [/multiple must be an integer >= 1/]);
  for (const bad of ['', 'x', '15', 'h15', '1.5h', '-1h', 'hour and a half', '15 mn']) {
    throwsConfig(
      t,
      () => freqInfo(bad),
      [new RegExp(`freq ${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), /accepted/, /15min/],
      `freq ${JSON.stringify(bad)}`,
    );
  }
  throwsConfig(t, () => freqInfo(undefined), [/freq must be a string/]);
});

t.test('markColumns table', async (t) => {
  const timeF = { s: 6, t: 5, h: 4, d: 3, b: 3, w: 2, m: 1, '15min': 5, '30s': 6, '2h': 4 };
  for (const [freq, n] of Object.entries(timeF)) t.equal(markColumns(freq, 'timeF'), n, `timeF ${freq}`);
  for (const embed of ['fixed', 'learned']) {
    t.equal(markColumns('h', embed), 4, `${embed} h`);
    t.equal(markColumns('t', embed), 5, `${embed} t`);
    t.equal(markColumns('15min', embed), 5, `${embed} 15min`);
    for (const freq of ['s', 'd', 'b', 'w', 'm']) {
      throwsConfig(t, () => markColumns(freq, embed), [new RegExp(`freq "${freq}"`), new RegExp(embed), /timeF/], `${embed} ${freq}`);
    }
  }
  throwsConfig(t, () => markColumns('h', 'sinusoid'), [/embed must be one of/]);
  throwsConfig(t, () => markColumns('q', 'timeF'), [/quarterly/]);
});

t.test('toNativeConfig mapping', async (t) => {
  t.same(toNativeConfig(resolveConfig()), {
    seq_len: 96,
    label_len: 48,
    pred_len: 24,
    enc_in: 7,
    dec_in: 7,
    c_out: 7,
    d_model: 512,
    n_heads: 8,
    e_layers: 2,
    d_layers: 1,
    s_layers: [3, 2, 1],
    d_ff: 2048,
    factor: 5,
    padding: 0,
    distil: true,
    dropout: 0.05,
    attn: 0,
    embed: 0,
    n_mark: 4,
    minute_embed: false,
    activation: 0,
    mix: true,
    stack: false,
    seed: 0,
    normalize: 0,
  });
  t.equal(toNativeConfig(resolveConfig({ normalize: 'revin' })).normalize, 1);
  t.equal(toNativeConfig(resolveConfig({ normalize: 'last' })).normalize, 2);
  const n = toNativeConfig(
    resolveConfig({
      attn: 'full',
      embed: 'fixed',
      freq: '15min',
      activation: 'relu',
      mix: false,
      model: 'informerstack',
      sLayers: [2, 1],
      distil: false,
      padding: 1,
      seed: 99,
      dropout: 0.1,
    }),
  );
  t.equal(n.attn, 1);
  t.equal(n.embed, 1);
  t.equal(n.n_mark, 5);
  t.equal(n.minute_embed, true);
  t.equal(n.activation, 1);
  t.equal(n.mix, false);
  t.equal(n.stack, true);
  t.same(n.s_layers, [2, 1]);
  t.equal(n.distil, false);
  t.equal(n.padding, 1);
  t.equal(n.seed, 99);
  t.equal(n.dropout, 0.1);
  t.notOk(Object.isFrozen(n.s_layers), 'a plain copy for the addon');
  const learned = toNativeConfig(resolveConfig({ embed: 'learned', freq: 'h' }));
  t.equal(learned.embed, 2);
  t.equal(learned.n_mark, 4);
  t.equal(learned.minute_embed, false);
  t.equal(toNativeConfig(resolveConfig({ embed: 'timeF', freq: 't' })).minute_embed, false, 'timeF never uses the minute table');
  t.equal(toNativeConfig(resolveConfig({ freq: 's' })).n_mark, 6);
  // It validates hand-built configs too.
  throwsConfig(t, () => toNativeConfig({ ...DEFAULT_CONFIG, dModel: 30, nHeads: 4 }), [/not divisible/]);
  throwsConfig(t, () => toNativeConfig({ ...DEFAULT_CONFIG, extra: 1 }), [/"extra"/]);
});

t.test('one table of bounds: the TypeScript checks use the native core limits', async (t) => {
  const { loadAddon } = await import('../dist/native.js');
  const addon = loadAddon();
  const limits = addon.configLimits();
  t.equal(limits.seq_len[1], MAX_POSITIONS, 'the position table');
  for (const [camel, ref] of [
    ['dModel', 'd_model'],
    ['dFf', 'd_ff'],
    ['encIn', 'enc_in'],
    ['eLayers', 'e_layers'],
    ['factor', 'factor'],
  ]) {
    const [, hi] = limits[ref];
    throwsConfig(
      t,
      () => resolveConfig({ [camel]: hi + 1 }),
      [new RegExp(`${camel} must be at most ${hi}, got ${hi + 1}`)],
      `${camel} above the native bound`,
    );
    // The core refuses the same value on its own, whatever JavaScript sends it.
    const native = toNativeConfig(resolveConfig({}));
    t.throws(() => new addon.NativeModel({ ...native, [ref]: hi + 1 }), {
      name: 'ConfigError',
      message: new RegExp(`^${ref} must be in \\[\\d+, ${hi}\\], got ${hi + 1}$`),
    });
  }
  throwsConfig(t, () => resolveConfig({ model: 'informerstack', sLayers: Array(limits.max_stacked_encoders + 1).fill(1), attn: 'full' }), [
    /sLayers has 65 entries, at most 64/,
  ]);
});
