// lib/data: time features, future dates, frequency inference, scaler, batch indices and metrics.
import t from 'tap';

import { StandardScaler, batchIndices, forecastMetrics, futureDates, inferFreq, timeFeatures } from '../dist/data/index.js';
import { ConfigError, ShapeError, ValueError } from '../dist/errors.js';

const utc = (...a) => Date.UTC(a[0], a[1] - 1, ...a.slice(2));
const f32 = (x) => Math.fround(x);
const row = (tf, i) => Array.from(tf.data.subarray(i * tf.columns, (i + 1) * tf.columns));

t.test('timeF features by base frequency, hand-computed', (t) => {
  // 2016-07-01 is a Friday (weekday 4 with Monday = 0), day of year 183 (2016 is a leap year), ISO week 26.
  const d = new Float64Array([utc(2016, 7, 1, 0, 0), utc(2016, 7, 1, 13, 15, 30)]);
  const h = timeFeatures(d, 'h', 'timeF');
  t.equal(h.columns, 4);
  t.ok(h.data instanceof Float32Array);
  t.same(row(h, 0), [0 / 23 - 0.5, 4 / 6 - 0.5, 0 / 30 - 0.5, 182 / 365 - 0.5].map(f32), 'h: HourOfDay, DayOfWeek, DayOfMonth, DayOfYear');
  t.same(row(h, 1), [13 / 23 - 0.5, 4 / 6 - 0.5, 0 / 30 - 0.5, 182 / 365 - 0.5].map(f32));
  const m = timeFeatures(d, 't', 'timeF');
  t.equal(m.columns, 5);
  t.same(row(m, 1), [15 / 59 - 0.5, 13 / 23 - 0.5, 4 / 6 - 0.5, -0.5, 182 / 365 - 0.5].map(f32), 't: MinuteOfHour first');
  const q = timeFeatures(d, '15min', 'timeF');
  t.equal(q.columns, 5, "'15min' is minutely (no freq[-1:] truncation)");
  t.same(Array.from(q.data), Array.from(m.data));
  const s = timeFeatures(d, 's', 'timeF');
  t.equal(s.columns, 6);
  t.same(row(s, 1), [30 / 59 - 0.5, 15 / 59 - 0.5, 13 / 23 - 0.5, 4 / 6 - 0.5, -0.5, 182 / 365 - 0.5].map(f32));
  for (const f of ['d', 'b']) {
    const x = timeFeatures(d, f, 'timeF');
    t.equal(x.columns, 3, f);
    t.same(row(x, 0), [4 / 6 - 0.5, -0.5, 182 / 365 - 0.5].map(f32));
  }
  const w = timeFeatures(d, 'w', 'timeF');
  t.same(row(w, 0), [-0.5, 25 / 52 - 0.5].map(f32), 'w: DayOfMonth, WeekOfYear (ISO week 26)');
  const mo = timeFeatures(d, 'm', 'timeF');
  t.same(row(mo, 0), [6 / 11 - 0.5].map(f32), 'm: MonthOfYear');
  t.end();
});

t.test('calendar edge cases: ISO week 53, leap day of year, Sunday', (t) => {
  // 2021-01-01 is a Friday in ISO week 53 of 2020; 2016-12-31 is day 366; 2024-03-03 is a Sunday.
  const d = new Float64Array([utc(2021, 1, 1), utc(2016, 12, 31, 23, 59, 59), utc(2024, 3, 3)]);
  t.same(row(timeFeatures(d, 'w', 'timeF'), 0), [-0.5, 52 / 52 - 0.5].map(f32));
  t.same(row(timeFeatures(d, 's', 'timeF'), 1), [0.5, 0.5, 0.5, 5 / 6 - 0.5, 30 / 30 - 0.5, 365 / 365 - 0.5].map(f32));
  t.equal(row(timeFeatures(d, 'd', 'timeF'), 2)[0], f32(6 / 6 - 0.5), 'Sunday = 6');
  t.end();
});

t.test('fixed / learned marks: month, day, weekday, hour, minute // 15', (t) => {
  const d = new Float64Array([utc(2016, 7, 1, 0, 0), utc(2016, 12, 25, 23, 45)]);
  const h = timeFeatures(d, 'h', 'fixed');
  t.equal(h.columns, 4);
  t.same(row(h, 0), [7, 1, 4, 0]);
  t.same(row(h, 1), [12, 25, 6, 23]);
  const m = timeFeatures(d, '15min', 'learned');
  t.equal(m.columns, 5);
  t.same(row(m, 1), [12, 25, 6, 23, 3]);
  t.throws(() => timeFeatures(d, 'd', 'fixed'), ConfigError, 'fixed needs h or t');
  t.throws(() => timeFeatures(d, '15x', 'timeF'), ConfigError, 'bad freq');
  t.throws(() => timeFeatures([1, 2], 'h', 'timeF'), ValueError, 'dates must be a Float64Array');
  t.end();
});

t.test('futureDates: fixed steps, business days, months', (t) => {
  const last = utc(2020, 1, 31, 6);
  t.same(Array.from(futureDates(last, 2, 'h')), [utc(2020, 1, 31, 7), utc(2020, 1, 31, 8)]);
  t.same(Array.from(futureDates(last, 2, '15min')), [utc(2020, 1, 31, 6, 15), utc(2020, 1, 31, 6, 30)]);
  t.same(Array.from(futureDates(last, 1, 'w')), [utc(2020, 2, 7, 6)]);
  // 2020-01-31 is a Friday.
  t.same(Array.from(futureDates(last, 3, 'b')), [utc(2020, 2, 3, 6), utc(2020, 2, 4, 6), utc(2020, 2, 5, 6)]);
  t.same(
    Array.from(futureDates(last, 3, 'm')),
    [utc(2020, 2, 29, 6), utc(2020, 3, 31, 6), utc(2020, 4, 30, 6)],
    'month ends stay month ends',
  );
  t.same(Array.from(futureDates(utc(2020, 1, 15), 2, 'MS')), [utc(2020, 2, 15), utc(2020, 3, 15)], 'day of month kept');
  t.same(Array.from(futureDates(utc(2020, 11, 1), 2, '2m')), [utc(2021, 1, 1), utc(2021, 3, 1)]);
  t.equal(futureDates(last, 0, 'h').length, 0);
  t.throws(() => futureDates(last, -1, 'h'), ValueError);
  t.throws(() => futureDates(NaN, 1, 'h'), ValueError);
  t.end();
});

t.test('inferFreq', (t) => {
  const seq = (start, step, n) => Float64Array.from({ length: n }, (_, i) => start + i * step);
  const t0 = utc(2016, 7, 1);
  t.equal(inferFreq(seq(t0, 60_000, 10)), 't');
  t.equal(inferFreq(seq(t0, 15 * 60_000, 10)), '15min');
  t.equal(inferFreq(seq(t0, 3_600_000, 10)), 'h');
  t.equal(inferFreq(seq(t0, 2 * 3_600_000, 10)), '2h');
  t.equal(inferFreq(seq(t0, 86_400_000, 10)), 'd');
  t.equal(inferFreq(seq(t0, 7 * 86_400_000, 10)), 'w');
  t.equal(inferFreq(seq(t0, 30_000, 10)), '30s');
  // Business days: Friday 2016-07-01, then Monday..Friday.
  const b = futureDates(t0 - 86_400_000, 10, 'b');
  t.equal(inferFreq(b), 'b');
  t.equal(inferFreq(Float64Array.from([utc(2020, 1, 31), utc(2020, 2, 29), utc(2020, 3, 31), utc(2020, 4, 30)])), 'm');
  t.equal(inferFreq(Float64Array.from([utc(2020, 1, 1), utc(2020, 4, 1), utc(2020, 7, 1)])), '3m');
  // One missing minute (as in alibaba_pod.csv) is still minutely.
  const gap = Float64Array.from([0, 60_000, 120_000, 240_000, 300_000]);
  t.equal(inferFreq(gap), 't');
  t.throws(() => inferFreq(Float64Array.from([0, 60_000, 150_000, 170_000])), ConfigError, 'irregular');
  t.throws(() => inferFreq(Float64Array.from([0])), ConfigError, 'one date');
  t.throws(() => inferFreq(Float64Array.from([0, 500, 1000])), ConfigError, 'sub-second');
  t.end();
});

t.test('StandardScaler: train rows only, population std, zero std, MS inverse, JSON', (t) => {
  const a = Float64Array.from([1, 2, 3, 4, 100]);
  const b = Float64Array.from([5, 5, 5, 5, -7]);
  const y = Float64Array.from([0, 2, 4, 6, 1000]);
  const s = new StandardScaler().fit([a, b, y], [0, 4]);
  t.same(Array.from(s.mean), [2.5, 5, 3], 'means of rows 0..3 only');
  t.same(Array.from(s.std), [Math.sqrt(1.25), 1, Math.sqrt(5)], 'ddof 0; constant column gets std 1');
  t.equal(s.size, 3);
  const x = Float32Array.from([1, 5, 0, 4, 5, 6]); // 2 rows x 3 channels
  const z = s.transform(x, 3);
  t.ok(z instanceof Float32Array);
  t.same(Array.from(z), [(1 - 2.5) / Math.sqrt(1.25), 0, -3 / Math.sqrt(5), 1.5 / Math.sqrt(1.25), 0, 3 / Math.sqrt(5)].map(f32));
  const back = s.inverseTransform(z, 3);
  Array.from(back).forEach((v, i) => t.ok(Math.abs(v - x[i]) < 1e-5, `round trip ${i}`));
  // MS: one channel uses the last column's (target's) statistics.
  const ms = s.inverseTransform(Float64Array.from([0, 1, -1]), 1);
  t.same(Array.from(ms), [3, 3 + Math.sqrt(5), 3 - Math.sqrt(5)]);
  t.throws(() => s.inverseTransform(new Float32Array(4), 2), ShapeError, '2 of 3 channels');
  t.throws(() => s.transform(new Float32Array(4), 3), ShapeError, 'not whole rows');
  const cols = s.transformColumns([a, b, y]);
  t.same(Array.from(cols[2]).slice(0, 2), [-3 / Math.sqrt(5), -1 / Math.sqrt(5)]);
  const j = StandardScaler.fromJSON(JSON.parse(JSON.stringify(s)));
  t.same(Array.from(j.mean), Array.from(s.mean));
  t.same(Array.from(j.std), Array.from(s.std));
  t.throws(() => StandardScaler.fromJSON({ mean: [1], std: [0] }), ValueError);
  t.throws(() => new StandardScaler().transform(new Float32Array(1), 1), ValueError, 'not fitted');
  t.throws(() => new StandardScaler().fit([a], [3, 3]), ValueError, 'empty range');
  t.throws(() => new StandardScaler().fit([a, Float64Array.from([1])]), ShapeError, 'ragged columns');
  t.end();
});

t.test('batchIndices: order, drop_last, seeded reproducible shuffle', (t) => {
  t.same(batchIndices(7, 3, { shuffle: false, dropLast: false }), [[0, 1, 2], [3, 4, 5], [6]]);
  t.same(batchIndices(7, 3, { shuffle: false, dropLast: true }), [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  t.same(batchIndices(0, 3, { shuffle: true, dropLast: false }), []);
  t.same(batchIndices(2, 3, { shuffle: false, dropLast: true }), [], 'drop_last with fewer rows than a batch');
  const a = batchIndices(100, 32, { shuffle: true, dropLast: true, seed: 7, epoch: 1 });
  const b = batchIndices(100, 32, { shuffle: true, dropLast: true, seed: 7, epoch: 1 });
  t.same(a, b, 'same seed and epoch, same batches');
  t.equal(a.length, 3);
  t.ok(a.every((x) => x.length === 32));
  const full = batchIndices(100, 32, { shuffle: true, dropLast: false, seed: 7, epoch: 1 }).flat();
  t.same(
    [...full].sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i),
    'a permutation',
  );
  t.notSame(
    full,
    Array.from({ length: 100 }, (_, i) => i),
    'actually shuffled',
  );
  t.same(full.slice(0, 96), a.flat(), 'drop_last drops the tail of the same order');
  t.notSame(batchIndices(100, 100, { shuffle: true, dropLast: false, seed: 7, epoch: 2 }), [full], 'epochs differ');
  t.notSame(batchIndices(100, 100, { shuffle: true, dropLast: false, seed: 8, epoch: 1 }), [full], 'seeds differ');
  t.throws(() => batchIndices(10, 0, { shuffle: false, dropLast: false }), ConfigError);
  t.throws(() => batchIndices(-1, 2, { shuffle: false, dropLast: false }), ConfigError);
  t.throws(() => batchIndices(10, 2, { shuffle: true, dropLast: false, seed: 1.5 }), ConfigError);
  t.end();
});

t.test('forecastMetrics against hand-computed values', (t) => {
  const m = forecastMetrics(Float32Array.from([1, 2, 3, 4]), Float32Array.from([2, 2, 1, 5]));
  // errors -1, 0, 2, -1
  t.equal(m.mae, 1);
  t.equal(m.mse, 1.5);
  t.equal(m.rmse, Math.sqrt(1.5));
  t.ok(Math.abs(m.mape - (0.5 + 0 + 2 + 0.2) / 4) < 1e-12, 'mape');
  t.ok(Math.abs(m.mspe - (0.25 + 0 + 4 + 0.04) / 4) < 1e-12, 'mspe');
  t.ok(Math.abs(m.r2 - (1 - 6 / 9)) < 1e-12, 'r2');
  const z = forecastMetrics(Float32Array.from([1, 1]), Float32Array.from([0, 1]));
  t.equal(z.mape, Infinity, 'zero target with an error: Infinity, not NaN');
  t.equal(z.mspe, Infinity);
  const exact = forecastMetrics(Float32Array.from([0, 1]), Float32Array.from([0, 1]));
  t.same([exact.mae, exact.mape, exact.mspe, exact.r2], [0, 0, 0, 1], 'exact at a zero target');
  t.equal(forecastMetrics(Float32Array.from([1, 3]), Float32Array.from([2, 2])).r2, 0, 'constant truth');
  t.throws(() => forecastMetrics(new Float32Array(2), new Float32Array(3)), ShapeError);
  t.throws(() => forecastMetrics(new Float32Array(0), new Float32Array(0)), ValueError);
  t.throws(() => forecastMetrics(Float32Array.from([NaN]), Float32Array.from([1])), ValueError);
  t.end();
});
