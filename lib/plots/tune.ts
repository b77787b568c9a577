// Settings against validation loss for a hyper-parameter search: one scatter panel per searched
// setting (log x for log-uniform ranges, categories for choices), every trial a point coloured by
// the epochs it trained (how far successive halving let it go), the best trial ringed in red.
import type { TopLevelSpec } from 'vega-lite';
import { ValueError } from '../errors.js';
import { checkFinite, renderSvg, sizeOptions, type PlotSize } from './render.js';

/** One trial: its settings, best validation loss, and epochs trained. */
export interface TunePoint {
  trial: number;
  params: Record<string, number | string | boolean | number[]>;
  valLoss: number;
  epochs: number;
}

export interface TunePlotOptions extends PlotSize {
  /** Settings to plot, in order (default: every key of the points' params). */
  keys?: string[];
  /** Settings drawn on a log axis (e.g. the log-uniform ones). */
  logKeys?: string[];
  /** Panels per row (default 3). */
  columns?: number;
}

const FN = 'tuneScatterSvg';

export async function tuneScatterSvg(points: TunePoint[], opts: TunePlotOptions = {}): Promise<string> {
  return renderSvg(tuneScatterSpec(points, opts));
}

/** The Vega-Lite spec behind tuneScatterSvg. */
export function tuneScatterSpec(points: TunePoint[], opts: TunePlotOptions = {}): TopLevelSpec {
  const { width, height, title } = sizeOptions(FN, opts, 240, 180);
  if (!Array.isArray(points) || points.length === 0) throw new ValueError(`${FN}: points must be a non-empty array`);
  const keys = opts.keys ?? [...new Set(points.flatMap((p) => Object.keys(p.params)))].sort();
  if (keys.length === 0) throw new ValueError(`${FN}: no settings to plot`);
  const log = new Set(opts.logKeys ?? []);
  const rows = points.map((p, i) => {
    const row: Record<string, unknown> = {
      trial: checkFinite(FN, `points[${i}].trial`, p.trial),
      val_loss: checkFinite(FN, `points[${i}].valLoss`, p.valLoss),
      epochs: checkFinite(FN, `points[${i}].epochs`, p.epochs),
    };
    for (const k of keys) {
      const v = p.params[k];
      row[k] = Array.isArray(v) ? v.join(',') : typeof v === 'boolean' ? String(v) : v;
    }
    return row;
  });
  const best = rows.reduce((a, b) => ((b.val_loss as number) < (a.val_loss as number) ? b : a));
  const losses = rows.map((r) => r.val_loss as number);
  const [lo, hi] = [Math.min(...losses), Math.max(...losses)];
  const y = {
    field: 'val_loss',
    type: 'quantitative',
    title: 'validation MSE',
    scale: lo > 0 && hi / lo > 10 ? { type: 'log', nice: false } : { zero: false },
    axis: { format: '~g' },
  };
  const epochs = [...new Set(rows.map((r) => r.epochs as number))].sort((a, b) => a - b);
  const panels = keys.map((k) => {
    const numeric = rows.every((r) => typeof r[k] === 'number');
    const distinct = new Set(rows.map((r) => r[k])).size;
    const x =
      numeric && (log.has(k) || distinct > 6)
        ? {
            field: k,
            type: 'quantitative',
            title: k,
            scale: log.has(k) ? { type: 'log', nice: false } : { zero: false },
            axis: { format: '~g' },
          }
        : { field: k, type: numeric ? 'ordinal' : 'nominal', title: k, axis: { labelAngle: 0 } };
    return {
      width,
      height,
      layer: [
        {
          data: { values: rows },
          mark: { type: 'point', filled: true, size: 45, opacity: 0.75 },
          encoding: {
            x,
            y,
            color: { field: 'epochs', type: 'ordinal', title: 'epochs trained', scale: { domain: epochs, scheme: 'viridis' } },
            tooltip: [{ field: 'trial' }, { field: k }, { field: 'val_loss' }],
          },
        },
        { data: { values: [best] }, mark: { type: 'point', size: 160, strokeWidth: 2, color: '#d62728' }, encoding: { x, y } },
      ],
    };
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: title ?? `Search: validation loss by setting (${rows.length} trials, best: trial ${best.trial as number}, ringed)`,
    background: 'white',
    columns: opts.columns ?? 3,
    concat: panels,
    resolve: { scale: { y: 'shared' } },
  };
  return spec as TopLevelSpec;
}
