// Forecasts over the actual series: the truth as a line, a thinned, evenly spaced selection of
// forecast windows as separate segments, and optionally the naive last-value forecast dashed.
import type { TopLevelSpec } from 'vega-lite';
import { ConfigError, ShapeError, ValueError } from '../errors.js';
import { parseDate } from '../data/table.js';
import { checkFinite, specFrame, minMaxIndices, renderSvg, sizeOptions, type PlotSize } from './render.js';

/** One forecast window: `values[j]` is the forecast for `dates[start + j]`. */
export interface ForecastWindow {
  start: number;
  values: number[];
}

export interface ForecastSeries {
  /** Epoch ms, or date strings (naive wall-clock times are read as UTC). */
  dates: number[] | string[];
  actual: number[];
  forecasts: ForecastWindow[];
  /** Naive last-value forecasts, one per entry of `forecasts` (same windows). */
  naive?: ForecastWindow[];
}

export interface ForecastPlotOptions extends PlotSize {
  /** Y axis title (default 'value'). */
  unit?: string;
  /** Most forecast windows drawn, evenly spaced over the given ones (default 12). */
  maxForecasts?: number;
}

const FN = 'forecastSvg';
/** The actual line is min/max-downsampled beyond this many points; a window beyond SEGMENT_MAX. */
const ACTUAL_MAX = 2000;
const SEGMENT_MAX = 500;
const SERIES = ['actual', 'forecast', 'naive'];
const COLORS = ['#4c4c4c', '#d62728', '#1f77b4'];
const DASHES = [
  [1, 0],
  [1, 0],
  [5, 3],
];

type Row = { t: number; y: number; series: string; w?: number };

/** SVG of the actual series with forecast windows overlaid (temporal UTC x axis). */
export async function forecastSvg(series: ForecastSeries, opts: ForecastPlotOptions = {}): Promise<string> {
  return renderSvg(forecastSpec(series, opts));
}

/** The Vega-Lite spec behind forecastSvg (e.g. to embed it interactively); same checks and errors. */
export function forecastSpec(series: ForecastSeries, opts: ForecastPlotOptions = {}): TopLevelSpec {
  const { width, height, title } = sizeOptions(FN, opts, 960, 360);
  const max = opts.maxForecasts ?? 12;
  if (!Number.isSafeInteger(max) || max < 0) throw new ConfigError(`${FN}: maxForecasts must be an integer >= 0, got ${String(max)}`);
  if (opts.unit !== undefined && typeof opts.unit !== 'string') throw new ConfigError(`${FN}: unit must be a string`);
  if (series === null || typeof series !== 'object') throw new ValueError(`${FN}: series must be an object`);
  const { dates, actual, forecasts, naive } = series;
  if (!Array.isArray(actual) || actual.length === 0) throw new ValueError(`${FN}: actual must be a non-empty array`);
  if (!Array.isArray(dates) || dates.length !== actual.length) {
    throw new ShapeError(`${FN}: dates has ${Array.isArray(dates) ? dates.length : 'no'} entries, actual has ${actual.length}`);
  }
  if (!Array.isArray(forecasts)) throw new ValueError(`${FN}: forecasts must be an array`);
  if (naive !== undefined && (!Array.isArray(naive) || naive.length !== forecasts.length)) {
    throw new ShapeError(
      `${FN}: naive must have one window per forecast (${forecasts.length}), got ${Array.isArray(naive) ? naive.length : typeof naive}`,
    );
  }

  const t = dates.map((d, i) => {
    const ms = typeof d === 'string' ? parseDate(d) : d;
    if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new ValueError(`${FN}: dates[${i}] is not a date, got ${String(d)}`);
    return ms;
  });
  actual.forEach((v, i) => checkFinite(FN, `actual[${i}]`, v));
  // Check every window (not only the drawn ones) so bad input fails the same way at any maxForecasts.
  forecasts.forEach((w, k) => checkWindow('forecasts', k, w, t.length));
  naive?.forEach((w, k) => checkWindow('naive', k, w, t.length));

  const rows: Row[] = minMaxIndices(actual, ACTUAL_MAX).map((i) => ({ t: t[i]!, y: actual[i]!, series: 'actual' }));
  const picked = pick(forecasts.length, max);
  for (const [name, windows] of [
    ['forecast', forecasts],
    ['naive', naive ?? []],
  ] as const) {
    if (windows.length === 0) continue;
    for (const k of picked) {
      const w = windows[k]!;
      for (const j of minMaxIndices(w.values, SEGMENT_MAX)) rows.push({ t: t[w.start + j]!, y: w.values[j]!, series: name, w: k });
    }
  }

  const domain = SERIES.filter((s) => rows.some((r) => r.series === s));
  const pickScale = <T>(range: T[]) => ({ domain, range: domain.map((s) => range[SERIES.indexOf(s)]!) });
  const spec = {
    ...specFrame(title, width, height),
    data: { values: rows },
    encoding: {
      x: { field: 't', type: 'temporal', title: 'time (UTC)', scale: { type: 'utc' } },
      y: { field: 'y', type: 'quantitative', title: opts.unit ?? 'value', scale: { zero: false } },
      color: {
        field: 'series',
        type: 'nominal',
        scale: pickScale(COLORS),
        legend: { title: null, orient: 'top', symbolType: 'stroke', symbolStrokeWidth: 2.5 },
      },
      strokeDash: { field: 'series', type: 'nominal', scale: pickScale(DASHES), legend: { title: null } },
    },
    // One layer per series, named so a reader (or a test) can find e.g. the forecast paths.
    layer: domain.map((s) => ({
      name: s,
      transform: [{ filter: { field: 'series', equal: s } }],
      mark: { type: 'line', strokeWidth: s === 'actual' ? 1.2 : 2 },
      ...(s === 'actual' ? {} : { encoding: { detail: { field: 'w', type: 'quantitative' } } }),
    })),
  };
  return spec as TopLevelSpec;
}

function checkWindow(name: string, k: number, w: ForecastWindow, n: number): void {
  if (w === null || typeof w !== 'object' || !Array.isArray(w.values))
    throw new ValueError(`${FN}: ${name}[${k}] must be { start, values[] }`);
  if (!Number.isSafeInteger(w.start) || w.start < 0 || w.start >= n) {
    throw new ValueError(`${FN}: ${name}[${k}].start must be an index into dates (0..${n - 1}), got ${String(w.start)}`);
  }
  if (w.start + w.values.length > n) {
    throw new ShapeError(`${FN}: ${name}[${k}] has ${w.values.length} values from index ${w.start}, past the ${n} dates`);
  }
  w.values.forEach((v, j) => checkFinite(FN, `${name}[${k}].values[${j}]`, v));
}

/** `max` evenly spaced indices out of `n` (first and last included), or all of them. */
function pick(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  if (max === 0) return [];
  if (max === 1) return [n - 1];
  return Array.from({ length: max }, (_, i) => Math.round((i * (n - 1)) / (max - 1)));
}
