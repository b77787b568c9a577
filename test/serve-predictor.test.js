// Predictor: raw history in, dated forecast out. The forecast must equal the model run on the
// ForecastDataset's own window (same scaling, marks and decoder input) followed by inverse scaling,
// for S, M and MS; the onnx backend must agree with the native one; future dates follow the data's
// frequency; bad history gives typed errors that say what is wrong.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ConfigError, ForecastDataset, Informer, ShapeError, ValueError, readSafetensors, readTable } from '../dist/index.js';
import { Predictor, checkPreprocessing, preprocessingFromDataset, savePredictorModel } from '../dist/serve/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA = path.join(here, '..', 'data', 'alibaba_pod.csv');
const TARGET = 'cpu_utilization';
const WIN = { seqLen: 12, labelLen: 12, predLen: 6 };
const SEED = { ...WIN, dModel: 32, nHeads: 4, eLayers: 1, dLayers: 1, dFf: 128, freq: 't', seed: 7 };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'informer-predictor-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const table = await readTable(DATA);

function setup(features, normalize = 'none') {
  const ds = ForecastDataset.fromTable(table, { features, target: TARGET, ...WIN });
  const model = new Informer({ ...SEED, ...ds.modelConfig(), normalize });
  t.teardown(() => model.dispose());
  return { ds, model };
}

/** The first `rows` rows of the table as a History. */
function head(rows) {
  const values = {};
  for (const c of table.columns) values[c] = table.data[c].subarray(0, rows);
  return { dates: table.dates.subarray(0, rows), values };
}

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// Instance normalisation lives in the model (its config travels with the weights), so the
// predictor's forecast must match forwardSync for every mode too.
for (const [features, normalize] of [
  ['S', 'none'],
  ['M', 'none'],
  ['MS', 'none'],
  ['M', 'revin'],
  ['MS', 'last'],
]) {
  t.test(`${features}, normalize ${normalize}: forecast equals the dataset window through forwardSync + inverse scaling`, async (t) => {
    const { ds, model } = setup(features, normalize);
    const file = path.join(tmp, `model-${features}-${normalize}.safetensors`);
    savePredictorModel(model, ds, file);
    const stored = JSON.parse(readSafetensors(file).metadata.preprocessing);
    t.same(stored, preprocessingFromDataset(ds), 'preprocessing stored in __metadata__');
    const predictor = await Predictor.load(file);
    t.teardown(() => predictor.dispose());
    t.equal(predictor.model.config.normalize, normalize, 'the normalisation mode is saved with the model');

    // The last test window: history = every row up to the end of its encoder window.
    const split = ds.split('test');
    const i = split.length - 1;
    const end = split.start + i + WIN.seqLen;
    const { batch } = split.batch([i]);
    const want = ds.inverse(model.forwardSync(batch).data, ds.cOut);

    const f = await predictor.predict(head(end));
    t.same(f.columns, features === 'M' ? ds.columns : [TARGET]);
    t.equal(f.values.length, WIN.predLen);
    t.ok(f.values.every((r) => r.length === ds.cOut));
    t.ok(maxAbsDiff(f.values.flat(), want) < 1e-6, `values match (max diff ${maxAbsDiff(f.values.flat(), want)})`);
    t.same(f.timestamps, Array.from(split.windowDates(i)), 'future timestamps are the rows that follow');

    const sync = predictor.predictSync(head(end));
    t.same(sync, f, 'predictSync gives the same forecast');
    const fromTable = predictor.predictSync(table);
    t.equal(fromTable.values.length, WIN.predLen, 'a Table is accepted as history');
  });
}

t.test('native and onnx backends agree to 1e-4 (with RevIN); predictBatch equals single predictions', async (t) => {
  const { ds, model } = setup('M', 'revin');
  const native = new Predictor(model, ds);
  const onnx = await Predictor.create(model, preprocessingFromDataset(ds), { backend: 'onnx', intraOpThreads: 1 });
  t.teardown(() => onnx.dispose());
  t.equal(native.backend, 'native');
  t.equal(onnx.backend, 'onnx');
  const histories = [head(200), head(5000), head(table.length)];
  const a = await native.predictBatch(histories);
  const b = await onnx.predictBatch(histories);
  for (let k = 0; k < histories.length; k++) {
    const d = maxAbsDiff(a[k].values.flat(), b[k].values.flat());
    t.ok(d < 1e-4, `history ${k}: native vs onnx max diff ${d}`);
    t.same(a[k], await native.predict(histories[k]), `predictBatch[${k}] equals predict`);
    t.same(a[k].dates, b[k].dates);
  }
  t.throws(() => onnx.predictSync(head(200)), ConfigError, 'the sync path needs the native backend');
});

t.test('future dates follow the data frequency (minutely, 15 min), from ISO strings', async (t) => {
  const { ds, model } = setup('S');
  const p = new Predictor(model, ds);
  const minutes = Array.from({ length: 12 }, (_, k) => new Date(Date.UTC(2016, 6, 31, 23, 48 + k)).toISOString());
  const values = { [TARGET]: Array.from({ length: 12 }, (_, k) => 0.05 + k * 1e-3) };
  const f = p.predictSync({ dates: minutes, values });
  t.same(f.dates, [
    '2016-08-01 00:00:00',
    '2016-08-01 00:01:00',
    '2016-08-01 00:02:00',
    '2016-08-01 00:03:00',
    '2016-08-01 00:04:00',
    '2016-08-01 00:05:00',
  ]);
  t.same(
    f.timestamps,
    f.dates.map((d) => Date.parse(`${d.replace(' ', 'T')}Z`)),
  );

  const quarter = new Predictor(model, { ...preprocessingFromDataset(ds), freq: '15min' });
  const q = quarter.predictSync({
    dates: minutes.map(
      (_, k) => `2016-12-31 ${String(21 + Math.floor(k / 4)).padStart(2, '0')}:${String((k % 4) * 15).padStart(2, '0')}:00`,
    ),
    values,
  });
  t.same(q.dates.slice(0, 2), ['2017-01-01 00:00:00', '2017-01-01 00:15:00'], '15min steps across the year end');

  const dates = minutes.map((s) => new Date(s));
  t.same(p.predictSync({ dates, values }), f, 'Date objects work too');
  t.same(p.predictSync({ dates: dates.map((d) => d.getTime()), values }), f, 'epoch ms numbers work too');
});

t.test('bad history: short, missing column, NaN, unordered dates, wrong lengths', async (t) => {
  const { ds, model } = setup('M');
  const p = new Predictor(model, ds);
  const h = head(40);
  t.throws(() => p.predictSync(head(11)), { name: 'ValueError', message: /11 row\(s\); the model needs at least seqLen = 12/ });
  t.throws(
    () => p.predictSync({ dates: h.dates, values: { cpu_utilization: h.values.cpu_utilization, memory: h.values.memory_utilization } }),
    {
      name: 'ValueError',
      message: /no column "memory_utilization"; the model needs "memory_utilization", "cpu_utilization"; got "cpu_utilization", "memory"/,
    },
  );
  const nan = { ...h.values, cpu_utilization: Array.from(h.values.cpu_utilization) };
  nan.cpu_utilization[35] = NaN;
  t.throws(() => p.predictSync({ dates: h.dates, values: nan }), {
    name: 'ValueError',
    message: /"cpu_utilization" at row 35 \(1970-01-01 00:35:00\) is NaN/,
  });
  nan.cpu_utilization[35] = null;
  t.throws(() => p.predictSync({ dates: h.dates, values: nan }), ValueError, 'null is rejected');
  nan.cpu_utilization[35] = 0.1;
  t.doesNotThrow(() => p.predictSync({ dates: h.dates, values: nan }), 'NaN outside the last seqLen rows is not read');
  const backwards = Array.from(h.dates);
  backwards[39] = backwards[30];
  t.throws(() => p.predictSync({ dates: backwards, values: h.values }), { name: 'ValueError', message: /dates must increase: row 39/ });
  t.throws(() => p.predictSync({ dates: ['2016-07-01', ...Array(39).fill('not a date')], values: h.values }), {
    name: 'ValueError',
    message: /not a date/,
  });
  t.throws(
    () => p.predictSync({ dates: h.dates, values: { ...h.values, cpu_utilization: h.values.cpu_utilization.subarray(1) } }),
    ShapeError,
  );
  t.throws(() => p.predictSync({ dates: 'yesterday', values: h.values }), ValueError);
  t.throws(() => p.predictSync(null), ValueError);
  await t.rejects(p.predict(head(3)), ValueError, 'predict rejects too');
  await t.rejects(p.predictBatch([head(40), head(3)]), { message: /^history 1: / });
});

t.test('preprocessing must fit the model; a file without it gives a ConfigError that says what to do', async (t) => {
  const { ds, model } = setup('S');
  const info = preprocessingFromDataset(ds);
  t.throws(() => checkPreprocessing({ ...info, features: 'MS', columns: ['memory_utilization', TARGET], scaler: null }, model.config), {
    name: 'ConfigError',
    message: /encIn = decIn = 2/,
  });
  t.throws(() => checkPreprocessing({ ...info, columns: ['memory_utilization', TARGET] }, model.config), {
    name: 'ConfigError',
    message: /features 'S' uses the target only/,
  });
  t.throws(() => checkPreprocessing({ ...info, freq: 'h' }, model.config), { name: 'ConfigError', message: /4 time-feature columns/ });
  t.throws(() => checkPreprocessing({ ...info, scaler: { mean: [0], std: [0] } }, model.config), ValueError);
  t.throws(() => new Predictor(model, { ...info, target: 'other' }), ConfigError);
  const m = setup('M');
  t.throws(() => new Predictor(model, m.ds), { name: 'ConfigError' }, 'a dataset of another shape');

  const bare = path.join(tmp, 'bare.safetensors');
  model.save(bare);
  await t.rejects(Predictor.load(bare), { name: 'ConfigError', message: /no preprocessing metadata.*savePredictorModel/s });
  await t.rejects(Predictor.create(model, info, { backend: 'tpu' }), ConfigError);
});

t.test('Predictor.load takes a model file, the folder holding it, or a logged model folder; missing paths are typed errors', async (t) => {
  const { ds, model } = setup('S');
  const folder = path.join(tmp, 'plain-folder');
  fs.mkdirSync(folder, { recursive: true });
  savePredictorModel(model, ds, path.join(folder, 'model.safetensors'));
  const history = {
    dates: Array.from({ length: 12 }, (_, i) => 1_700_000_000_000 + i * 60_000),
    values: { [TARGET]: Array.from({ length: 12 }, (_, i) => 0.1 + 0.01 * i) },
  };
  const byFile = await Predictor.load(path.join(folder, 'model.safetensors'));
  const byFolder = await Predictor.load(folder);
  t.teardown(() => Promise.all([byFile.dispose(), byFolder.dispose()]));
  t.same((await byFolder.predict(history)).values, (await byFile.predict(history)).values, 'the same model either way');
  await t.rejects(Predictor.load(path.join(tmp, 'no-such-model')), { name: 'ConfigError', message: /no such file or folder/ });
  await t.rejects(Predictor.load(tmp), { name: 'ConfigError', message: /neither an MLmodel file nor model\.safetensors/ });
});
