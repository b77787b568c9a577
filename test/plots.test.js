// Plots: loss curves and forecast overlays render to well-formed, deterministic, TZ-independent SVG with
// the expected legend entries, axis titles and number of forecast windows; bad input throws typed errors.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

import { ConfigError, ShapeError, ValueError } from '../dist/errors.js';
import { forecastSpec, forecastSvg, lossCurveSpec, lossCurveSvg, writeSvgAtomic } from '../dist/plots/index.js';

/** Starts with <svg, ends with </svg>, and every element closes in order under one root. */
function checkSvg(t, svg) {
  t.ok(svg.startsWith('<svg'), 'starts with <svg');
  t.ok(svg.trimEnd().endsWith('</svg>'), 'ends with </svg>');
  const stack = [];
  let roots = 0;
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (close) {
      if (stack.pop() !== name) return t.fail(`unbalanced </${name}>`);
    } else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  t.same([stack.length, roots], [0, 1], 'balanced, one root');
}

/** Text content of every <text> element. */
const texts = (svg) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

/** The <g> groups of one named mark (one group per line of a detail/facet), each as its inner markup. */
function markGroups(svg, name) {
  const out = [];
  const open = `role-mark ${name}_marks"`;
  for (let i = svg.indexOf(open); i >= 0; i = svg.indexOf(open, i + 1)) {
    let depth = 0;
    const re = /<(\/?)g\b[^>]*>/g;
    re.lastIndex = svg.lastIndexOf('<g', i);
    for (let m; (m = re.exec(svg)); ) {
      depth += m[1] ? -1 : 1;
      if (depth === 0) {
        out.push(svg.slice(svg.lastIndexOf('<g', i), re.lastIndex));
        break;
      }
    }
  }
  return out;
}

const epochs = Array.from({ length: 10 }, (_, i) => ({
  epoch: i + 1,
  trainLoss: 0.3 + 0.7 * Math.exp(-i / 2),
  valLoss: 0.35 + 0.6 * Math.exp(-i / 2) + (i > 6 ? 0.02 * (i - 6) : 0),
  testLoss: 0.4 + 0.6 * Math.exp(-i / 2),
  lr: 1e-4,
}));

t.test('lossCurveSvg: legend, axis titles, best-epoch marker', async (t) => {
  const svg = await lossCurveSvg(epochs, { title: 'run 1', width: 640, height: 320 });
  checkSvg(t, svg);
  t.match(svg, /^<svg[^>]* width="640" height="320"/, 'the whole picture has the asked size');
  const txt = texts(svg);
  for (const label of ['train', 'val', 'test', 'epoch', 'MSE (scaled)', 'run 1']) t.ok(txt.includes(label), `text "${label}"`);
  const best = epochs.reduce((b, e) => (e.valLoss < b.valLoss ? e : b));
  t.ok(txt.includes(`best val ${Number(best.valLoss.toPrecision(4))} @ epoch ${best.epoch}`), 'best epoch labelled');
  t.equal(markGroups(svg, 'best_rule').length, 1, 'best epoch rule');
  t.notOk(txt.includes('learning rate'), 'a constant lr gets no axis');
  t.notOk(txt.includes('train (step)'), 'no step series unless given');
});

t.test('lossCurveSvg: no test losses, per-step losses, a changing lr', async (t) => {
  const steps = Array.from({ length: 50 }, (_, s) => ({ step: s + 1, loss: 1 / (1 + s / 10) }));
  const run = epochs.map((e, i) => ({ ...e, testLoss: null, lr: 1e-3 * 0.5 ** i }));
  const svg = await lossCurveSvg(run, { steps });
  checkSvg(t, svg);
  const txt = texts(svg);
  t.notOk(txt.includes('test'), 'no test entry when every testLoss is null');
  t.ok(txt.includes('train (step)'), 'step series in the legend');
  t.equal(markGroups(svg, 'steps').length, 1, 'step line drawn');
  t.ok(txt.includes('learning rate'), 'lr axis when the rate changes');
  t.equal(markGroups(svg, 'lr').length, 1, 'lr line drawn');
});

t.test('lossCurveSvg: log-scale y only when the losses span more than a decade', async (t) => {
  const yScale = (spec) => spec.layer[0].layer.find((l) => l.name === 'loss').encoding.y.scale;
  t.not(yScale(lossCurveSpec(epochs)).type, 'log', 'narrow range: linear');
  const wide = epochs.map((e, i) => ({ ...e, trainLoss: 5 * 0.5 ** i, valLoss: 4 * 0.5 ** i }));
  t.equal(yScale(lossCurveSpec(wide)).type, 'log', 'wide range: log');
  const zero = wide.map((e, i) => ({ ...e, trainLoss: i === 9 ? 0 : e.trainLoss }));
  t.not(yScale(lossCurveSpec(zero)).type, 'log', 'a zero loss cannot go on a log axis');
  const [lin, log] = await Promise.all([lossCurveSvg(epochs), lossCurveSvg(wide)]);
  checkSvg(t, log);
  t.not(lin, log);
});

t.test('lossCurveSvg: typed errors', async (t) => {
  await t.rejects(lossCurveSvg([]), ValueError, 'no epochs');
  await t.rejects(lossCurveSvg(null), ValueError);
  const nan = epochs.map((e, i) => (i === 2 ? { ...e, valLoss: NaN } : e));
  await t.rejects(lossCurveSvg(nan), { name: 'ValueError', message: /valLoss\[2\].*NaN/ });
  const inf = epochs.map((e, i) => (i === 4 ? { ...e, testLoss: Infinity } : e));
  await t.rejects(lossCurveSvg(inf), { name: 'ValueError', message: /testLoss\[4\]/ });
  await t.rejects(lossCurveSvg(epochs, { steps: [{ step: 1, loss: NaN }] }), { name: 'ValueError', message: /steps\.loss\[0\]/ });
  await t.rejects(lossCurveSvg(epochs, { width: -5 }), ConfigError);
  await t.rejects(lossCurveSvg(epochs, { height: NaN }), ConfigError);
});

// Hourly series starting 2016-07-01 00:00 UTC, with one 24-step forecast (and naive forecast) per day.
function hourly(n) {
  const t0 = Date.UTC(2016, 6, 1);
  const dates = Array.from({ length: n }, (_, i) => t0 + i * 3600e3);
  const actual = dates.map((_, i) => 10 + 5 * Math.sin((i * Math.PI) / 12) + ((i * 7919) % 13) / 6);
  const forecasts = [];
  const naive = [];
  for (let s = 24; s + 24 <= n; s += 24) {
    forecasts.push({ start: s, values: actual.slice(s, s + 24).map((v, j) => v + Math.sin(j + s)) });
    naive.push({ start: s, values: new Array(24).fill(actual[s - 1]) });
  }
  return { dates, actual, forecasts, naive };
}

t.test('forecastSvg: series, legend, axis titles, dashed naive', async (t) => {
  const s = hourly(200);
  const svg = await forecastSvg(s, { unit: 'kW', title: 'pod 7' });
  checkSvg(t, svg);
  const txt = texts(svg);
  for (const label of ['actual', 'forecast', 'naive', 'kW', 'time (UTC)', 'pod 7']) t.ok(txt.includes(label), `text "${label}"`);
  t.equal(markGroups(svg, 'actual').length, 1, 'one actual line');
  t.equal(markGroups(svg, 'forecast').length, s.forecasts.length, 'every window (fewer than maxForecasts)');
  const naive = markGroups(svg, 'naive');
  t.equal(naive.length, s.forecasts.length);
  t.ok(
    naive.every((g) => /stroke-dasharray="5,3"/.test(g)),
    'naive is dashed',
  );
  const plain = await forecastSvg({ ...s, naive: undefined });
  t.notOk(texts(plain).includes('naive'));
  t.ok(texts(plain).includes('value'), 'default y title');
});

t.test('forecastSvg: thins windows to min(windows, maxForecasts), evenly spaced', async (t) => {
  const s = hourly(24 * 40); // 39 windows
  for (const [max, want] of [
    [undefined, 12],
    [5, 5],
    [1, 1],
    [0, 0],
    [39, 39],
    [100, 39],
  ]) {
    const svg = await forecastSvg(s, { maxForecasts: max });
    const groups = markGroups(svg, 'forecast');
    t.equal(groups.length, want, `maxForecasts ${max}`);
    t.ok(
      groups.every((g) => (g.match(/<path/g) ?? []).length === 1),
      'one path per window',
    );
    t.equal(markGroups(svg, 'naive').length, want, 'naive thinned alike');
  }
  const starts = forecastSpec(s, { maxForecasts: 3 })
    .data.values.filter((r) => r.series === 'forecast')
    .map((r) => r.w);
  t.same([...new Set(starts)], [0, 19, 38], 'first, middle and last window');
  await t.rejects(forecastSvg(s, { maxForecasts: -1 }), ConfigError);
  await t.rejects(forecastSvg(s, { maxForecasts: 2.5 }), ConfigError);
});

t.test('forecastSvg: a long series is min/max downsampled and the SVG stays small', async (t) => {
  const s = hourly(4000);
  s.actual[1234] = 100; // a spike must survive downsampling
  const spec = forecastSpec(s);
  const actual = spec.data.values.filter((r) => r.series === 'actual');
  t.ok(actual.length <= 2000, `${actual.length} actual points drawn`);
  t.equal(Math.max(...actual.map((r) => r.y)), 100, 'spike kept');
  t.same(
    actual.map((r) => r.t),
    actual.map((r) => r.t).sort((a, b) => a - b),
    'in time order',
  );
  const svg = await forecastSvg(s);
  checkSvg(t, svg);
  t.ok(svg.length < 300_000, `${svg.length} bytes`);
});

t.test('rendering is deterministic and independent of the time zone and of concurrency', async (t) => {
  const s = hourly(300);
  const strings = { ...s, dates: s.dates.map((d) => new Date(d).toISOString().slice(0, 19).replace('T', ' ')) };
  const a = await forecastSvg(s);
  t.equal(await forecastSvg(s), a, 'same string twice');
  t.equal(await forecastSvg(strings), a, "naive 'YYYY-MM-DD HH:MM:SS' strings are read as UTC");
  const tz = process.env.TZ;
  t.teardown(() => (tz === undefined ? delete process.env.TZ : (process.env.TZ = tz)));
  process.env.TZ = 'Asia/Kolkata'; // +05:30: any local-time formatting would move the ticks
  t.equal(await forecastSvg(strings), a, 'same SVG in another time zone');
  const l = await lossCurveSvg(epochs);
  const [l2, a2] = await Promise.all([lossCurveSvg(epochs), forecastSvg(s)]);
  t.same([l2, a2], [l, a], 'concurrent renders match sequential ones');
  t.notMatch(a, /20\d\d-\d\d-\d\dT/, 'no timestamps inside');
});

t.test('forecastSvg: typed errors', async (t) => {
  const s = hourly(100);
  await t.rejects(forecastSvg({ ...s, actual: [], dates: [] }), ValueError, 'empty');
  await t.rejects(forecastSvg(null), ValueError);
  await t.rejects(forecastSvg({ ...s, dates: s.dates.slice(1) }), ShapeError, 'dates vs actual');
  const nan = s.actual.slice();
  nan[5] = NaN;
  await t.rejects(forecastSvg({ ...s, actual: nan }), { name: 'ValueError', message: /actual\[5\]/ });
  const badF = s.forecasts.map((f, k) => (k === 1 ? { ...f, values: f.values.map((v, j) => (j === 3 ? NaN : v)) } : f));
  await t.rejects(forecastSvg({ ...s, forecasts: badF }), { name: 'ValueError', message: /forecasts\[1\]\.values\[3\]/ });
  await t.rejects(
    forecastSvg({ ...s, forecasts: [{ start: 90, values: new Array(24).fill(1) }], naive: undefined }),
    ShapeError,
    'past the end',
  );
  await t.rejects(forecastSvg({ ...s, forecasts: [{ start: -1, values: [1] }], naive: undefined }), {
    name: 'ValueError',
    message: /start/,
  });
  await t.rejects(forecastSvg({ ...s, naive: s.naive.slice(1) }), ShapeError, 'one naive per forecast');
  const dates = s.dates.map((d) => new Date(d).toISOString());
  dates[7] = 'not a date';
  await t.rejects(forecastSvg({ ...s, dates }), { name: 'ValueError', message: /dates\[7\]/ });
  await t.rejects(forecastSvg(s, { unit: 5 }), ConfigError);
});

t.test('writeSvgAtomic writes through a temp file and leaves nothing else behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-plots-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'plots', 'loss.svg');
  const svg = await lossCurveSvg(epochs);
  writeSvgAtomic(file, svg);
  writeSvgAtomic(file, svg); // overwrite
  t.equal(readFileSync(file, 'utf8'), svg);
  t.same(readdirSync(join(dir, 'plots')), ['loss.svg']);
  t.throws(() => writeSvgAtomic(file, 'hello'), ValueError);
  t.equal(readFileSync(file, 'utf8'), svg, 'unchanged after a refused write');
});
