// lib/data/dataset: channel order, split borders, train-only scaling, windows, decoder input, targets,
// the naive forecast and the MS inverse, on a hand-built table and on ETTh1 (REFERENCE.md 7a).
import t from 'tap';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ForecastDataset, parseCsv, readTable, timeFeatures } from '../dist/data/index.js';
import { ConfigError, ValueError } from '../dist/errors.js';

const here = dirname(fileURLToPath(import.meta.url));
const HOUR = 3_600_000;
const T0 = Date.UTC(2016, 6, 1);

/** N hourly rows: y = 1000 + r (first in the file), a = r, b = 100 + 2r. */
function tinyTable(n = 20) {
  const lines = ['date,y,a,b'];
  for (let r = 0; r < n; r++) {
    lines.push(`${new Date(T0 + r * HOUR).toISOString().slice(0, 19)},${1000 + r},${r},${100 + 2 * r}`);
  }
  return parseCsv(lines.join('\n'));
}
const opts = { target: 'y', seqLen: 4, labelLen: 2, predLen: 3, split: { train: 0.5, val: 0.25, test: 0.25 }, scale: false };
const rowVals = (r) => [r, 100 + 2 * r, 1000 + r]; // model order [a, b, y]

t.test('channel order, sizes and borders (custom ratios)', (t) => {
  const ds = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'M' });
  t.same(ds.columns, ['a', 'b', 'y'], 'others then target');
  t.equal(ds.targetIndex, 2);
  t.same([ds.encIn, ds.decIn, ds.cOut, ds.nMark], [3, 3, 3, 4]);
  t.equal(ds.freq, 'h', 'inferred');
  // N = 20: train = 10, test = 5, val = 5 → [0,10), [10-4, 15), [20-5-4, 20)
  t.same(ds.borders, { train: [0, 10], val: [6, 15], test: [11, 20] });
  t.same(
    ['train', 'val', 'test'].map((s) => ds.split(s).length),
    [4, 3, 3],
    'rows - seqLen - predLen + 1',
  );
  t.same(ds.modelConfig(), { seqLen: 4, labelLen: 2, predLen: 3, encIn: 3, decIn: 3, cOut: 3, freq: 'h', embed: 'timeF', padding: 0 });
  const ms = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'MS' });
  t.same([ms.encIn, ms.decIn, ms.cOut], [3, 3, 1]);
  const s = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'S' });
  t.same(s.columns, ['y']);
  t.same([s.encIn, s.decIn, s.cOut], [1, 1, 1]);
  const sub = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'M', columns: ['b', 'y'] });
  t.same(sub.columns, ['b', 'y'], 'columns option, target still last');
  // Ratios summing to less than 1 leave the last rows unused.
  const part = ForecastDataset.fromTable(tinyTable(40), { ...opts, features: 'M', split: { train: 0.5, val: 0.2, test: 0.2 } });
  t.same(part.borders, { train: [0, 20], val: [16, 28], test: [24, 36] });
  t.end();
});

t.test('batch: encoder window, decoder input (label + zeros/ones), marks and target', (t) => {
  const ds = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'M' });
  const val = ds.split('val');
  const { batch, target } = val.batch([1, 0]);
  t.same(batch.xEnc.shape, [2, 4, 3]);
  t.same(batch.xMarkEnc.shape, [2, 4, 4]);
  t.same(batch.xDec.shape, [2, 5, 3]);
  t.same(batch.xMarkDec.shape, [2, 5, 4]);
  t.same(target.shape, [2, 3, 3]);
  t.ok(batch.xEnc.data instanceof Float32Array);
  // val window 1 starts at row 6 + 1 = 7: encoder rows 7..10, decoder rows 9..13, target rows 11..13.
  t.same(Array.from(batch.xEnc.data.subarray(0, 12)), [7, 8, 9, 10].flatMap(rowVals));
  t.same(Array.from(batch.xDec.data.subarray(0, 15)), [...[9, 10].flatMap(rowVals), ...new Array(9).fill(0)]);
  t.same(Array.from(target.data.subarray(0, 9)), [11, 12, 13].flatMap(rowVals));
  t.same(Array.from(batch.xEnc.data.subarray(12, 24)), [6, 7, 8, 9].flatMap(rowVals), 'second sample is window 0');
  const marks = timeFeatures(ds.dates, 'h', 'timeF');
  t.same(Array.from(batch.xMarkEnc.data.subarray(0, 16)), Array.from(marks.data.subarray(7 * 4, 11 * 4)));
  t.same(
    Array.from(batch.xMarkDec.data.subarray(0, 20)),
    Array.from(marks.data.subarray(9 * 4, 14 * 4)),
    'marks cover label and prediction steps',
  );
  t.same(
    Array.from(val.windowDates(1)),
    [11, 12, 13].map((r) => T0 + r * HOUR),
  );
  t.same(Array.from(ds.windowDates('val', 1)), Array.from(val.windowDates(1)));

  const ones = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'M', padding: 1 });
  const dec = ones.split('val').batch([1]).batch.xDec.data;
  t.same(Array.from(dec), [...[9, 10].flatMap(rowVals), ...new Array(9).fill(1)], 'padding 1: ones');

  const ms = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'MS' });
  const msb = ms.split('test').batch([0]);
  // test starts at row 11: encoder 11..14, target rows 15..17 of the target channel only.
  t.same(msb.target.shape, [1, 3, 1]);
  t.same(Array.from(msb.target.data), [1015, 1016, 1017]);
  t.same(msb.batch.xDec.shape, [1, 5, 3], 'MS decoder keeps every channel');

  const s = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'S' });
  const sb = s.split('train').batch([3]);
  t.same(Array.from(sb.batch.xEnc.data), [1003, 1004, 1005, 1006]);
  t.same(Array.from(sb.batch.xDec.data), [1005, 1006, 0, 0, 0]);
  t.same(Array.from(sb.target.data), [1007, 1008, 1009]);

  t.throws(() => val.batch([3]), ValueError, 'index past the end');
  t.throws(() => val.batch([-1]), ValueError);
  t.throws(() => val.batch([0.5]), ValueError);
  t.same(val.batch([]).target.shape, [0, 3, 3], 'empty batch');
  t.end();
});

t.test('naiveBatch: the last encoder value of each target channel, repeated', (t) => {
  const m = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'M' });
  t.same(Array.from(m.split('val').naiveBatch([1])), [...rowVals(10), ...rowVals(10), ...rowVals(10)]);
  const ms = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'MS' });
  t.same(Array.from(ms.split('val').naiveBatch([1, 2])), [1010, 1010, 1010, 1011, 1011, 1011]);
  t.end();
});

t.test('scaling: fitted on train rows only (ddof 0), inverse, MS inverse', (t) => {
  const ds = ForecastDataset.fromTable(tinyTable(), { ...opts, scale: true, features: 'MS' });
  // train rows 0..9: a = 0..9 → mean 4.5, population std sqrt(8.25); b = 100 + 2a; y = 1000 + a.
  const sd = Math.sqrt(8.25);
  t.same(Array.from(ds.scaler.mean), [4.5, 109, 1004.5]);
  t.same(Array.from(ds.scaler.std), [sd, 2 * sd, sd]);
  const { batch, target } = ds.split('test').batch([0]);
  t.equal(batch.xEnc.data[0], Math.fround((11 - 4.5) / sd), 'a at row 11, scaled with train stats');
  t.equal(target.data[0], Math.fround((1015 - 1004.5) / sd));
  const inv = ds.inverse(target.data, 1);
  t.ok(Math.abs(inv[0] - 1015) < 1e-3, 'MS inverse uses the target stats');
  const all = ds.inverse(batch.xEnc.data, 3);
  t.ok(Math.abs(all[1] - 122) < 1e-3, 'b at row 11');
  const raw = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'M' });
  t.equal(raw.scaler, null);
  t.same(Array.from(raw.inverse(Float32Array.from([1, 2, 3]), 3)), [1, 2, 3]);
  t.end();
});

t.test('fixed marks and explicit freq', (t) => {
  const ds = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'S', embed: 'fixed' });
  t.equal(ds.nMark, 4);
  const { batch } = ds.split('train').batch([0]);
  t.same(Array.from(batch.xMarkEnc.data.subarray(0, 8)), [7, 1, 4, 0, 7, 1, 4, 1], 'month, day, weekday, hour');
  const t5 = ForecastDataset.fromTable(tinyTable(), { ...opts, features: 'S', freq: '15min' });
  t.equal(t5.nMark, 5);
  t.end();
});

t.test('errors', (t) => {
  const tb = tinyTable();
  const bad = (o, re, msg) => t.throws(() => ForecastDataset.fromTable(tb, { ...opts, features: 'M', ...o }), re, msg);
  bad({ features: 'X' }, ConfigError, 'features');
  bad({ target: 'zz' }, { name: 'ConfigError', message: /unknown target "zz".*"y", "a", "b"/ }, 'unknown target');
  bad({ labelLen: 5 }, { name: 'ConfigError', message: /labelLen 5 is larger than seqLen 4/ }, 'labelLen > seqLen');
  bad({ seqLen: 0 }, ConfigError, 'seqLen');
  bad({ padding: 2 }, ConfigError, 'padding');
  bad({ columns: ['nope'] }, { name: 'ConfigError', message: /unknown column "nope"/ }, 'unknown column');
  bad(
    { seqLen: 6, labelLen: 2, predLen: 5 },
    { name: 'ConfigError', message: /the train split has 10 rows but one window needs seqLen \+ predLen = 11/ },
    'too few rows',
  );
  bad(
    { split: { train: 0.5, val: 0.1, test: 0.25 } },
    { name: 'ConfigError', message: /val split has 6 rows but one window needs .* = 7/ },
    'val too short',
  );
  bad({ split: 'ett-hour' }, { name: 'ConfigError', message: /needs at least 14400 rows.*has 20/ }, 'ett-hour on a small table');
  bad({ split: { train: 0.8, val: 0.2, test: 0.2 } }, { name: 'ConfigError', message: /sum to at most 1/ }, 'ratios > 1');
  bad({ split: { train: 0.8, val: 0, test: 0.2 } }, ConfigError, 'zero ratio');
  bad({ split: 'weekly' }, ConfigError, 'unknown split');
  bad({ embed: 'fixed', freq: 'd' }, ConfigError, 'fixed marks need h or t');
  const noDates = parseCsv('y,a\n1,2\n3,4\n');
  t.throws(() => ForecastDataset.fromTable(noDates, { ...opts, features: 'S' }), { name: 'ConfigError', message: /no date column/ });
  const ds = ForecastDataset.fromTable(tb, { ...opts, features: 'M' });
  t.throws(() => ds.split('holdout'), ConfigError);
  t.end();
});

const etth1 = [join(here, '..', 'data', 'ETTh1.csv'), '/work/shared/data/ETTh1.csv'].find((p) => existsSync(p));

t.test(
  'ETTh1: reference borders, sample counts and train-only scaler',
  { skip: etth1 === undefined && 'ETTh1.csv not found' },
  async (t) => {
    const tb = await readTable(etth1);
    t.equal(tb.length, 17420);
    t.same(tb.columns, ['HUFL', 'HULL', 'MUFL', 'MULL', 'LUFL', 'LULL', 'OT']);
    const ds = ForecastDataset.fromTable(tb, { features: 'M', target: 'OT', seqLen: 96, labelLen: 48, predLen: 24, split: 'ett-hour' });
    t.equal(ds.freq, 'h');
    t.same(ds.borders, { train: [0, 8640], val: [8544, 11520], test: [11424, 14400] });
    t.same(
      ['train', 'val', 'test'].map((s) => ds.split(s).length),
      [8521, 2857, 2857],
    );
    const ot = tb.data.OT.subarray(0, 8640);
    const mean = ot.reduce((a, b) => a + b, 0) / ot.length;
    const std = Math.sqrt(ot.reduce((a, b) => a + (b - mean) ** 2, 0) / ot.length);
    t.ok(Math.abs(ds.scaler.mean[6] - mean) < 1e-9 && Math.abs(ds.scaler.std[6] - std) < 1e-9, 'OT stats from rows [0, 8640), ddof 0');
    // First row 2016-07-01 00:00 (a Friday): HourOfDay, DayOfWeek, DayOfMonth, DayOfYear.
    const { batch } = ds.split('train').batch([0]);
    t.same(Array.from(batch.xMarkEnc.data.subarray(0, 4)), [-0.5, 4 / 6 - 0.5, -0.5, 182 / 365 - 0.5].map(Math.fround));
    const s = ForecastDataset.fromTable(tb, { features: 'S', target: 'OT', seqLen: 96, labelLen: 48, predLen: 24, split: 'ett-hour' });
    t.same(Array.from(s.scaler.mean), [ds.scaler.mean[6]], 'S: scaler fitted on the target only');
    const testLast = ds.split('test').windowDates(2856);
    t.equal(testLast[23], Date.UTC(2016, 6, 1) + 14399 * HOUR, 'the last test window ends at row 14399');
  },
);

const pod = [join(here, '..', 'data', 'alibaba_pod.csv'), '/work/shared/data/alibaba_pod.csv'].find((p) => existsSync(p));

t.test(
  'alibaba_pod.csv: minutely despite one missing minute, default custom split',
  { skip: pod === undefined && 'alibaba_pod.csv not found' },
  async (t) => {
    const tb = await readTable(pod);
    t.same(tb.columns, ['cpu_utilization', 'memory_utilization']);
    t.equal(tb.dates[0], 0, 'dates count from the epoch');
    const ds = ForecastDataset.fromTable(tb, { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 12, predLen: 6 });
    t.equal(ds.freq, 't');
    t.equal(ds.nMark, 5);
    const n = tb.length;
    const nTrain = Math.floor(0.7 * n);
    const nTest = Math.floor(0.2 * n);
    t.same(ds.borders.train, [0, nTrain]);
    t.same(ds.borders.test, [n - nTest - 12, n]);
  },
);
