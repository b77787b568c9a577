// Shared plumbing of lib/plots: Vega-Lite spec → SVG string (headless, no canvas or browser), input
// checks that throw the library's typed errors, min/max downsampling and an atomic SVG writer.
import type * as Vega from 'vega';
import type * as VegaLite from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../fs/atomic.js';
import { ConfigError, ValueError } from '../errors.js';
import { importLazily } from '../lazy.js';

// vega-scenegraph keeps module-level id counters (clip paths, gradients) and may measure text with
// node-canvas when it happens to be installed; none of these are in vega's typings.
type Scenegraph = {
  resetSVGClipId?: () => void;
  resetSVGGradientId?: () => void;
  textMetrics?: { width?: unknown; canvas?: (use: boolean) => void };
};

let queue: Promise<unknown> = Promise.resolve();

/**
 * Renders a Vega-Lite spec to an SVG string. Output is a pure function of the spec: renders are
 * serialised and the global id counters reset first, so two renders of one spec are byte-identical,
 * and text is measured with vega's font-independent estimate rather than whatever canvas is around.
 */
export function renderSvg(spec: TopLevelSpec): Promise<string> {
  const run = async (): Promise<string> => {
    // vega and vega-lite are big: they load with the first plot, not with the package.
    const [vega, { compile }] = await Promise.all([
      importLazily<typeof Vega>('vega', 'plotting'),
      importLazily<typeof VegaLite>('vega-lite', 'plotting'),
    ]);
    const scenegraph = vega as unknown as Scenegraph;
    const metrics = scenegraph.textMetrics;
    const width = metrics?.width; // restored afterwards: other vega users in the process keep their setting
    metrics?.canvas?.(false);
    scenegraph.resetSVGClipId?.();
    scenegraph.resetSVGGradientId?.();
    const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none', logLevel: vega.Error });
    try {
      return await view.toSVG();
    } finally {
      view.finalize();
      if (metrics !== undefined) metrics.width = width;
    }
  };
  const out = queue.then(run, run);
  queue = out.catch(() => undefined);
  return out;
}

/** Writes `svg` to `file` through a temp file in the same folder and a rename (never a partial file). */
export function writeSvgAtomic(file: string, svg: string): void {
  if (typeof svg !== 'string' || !svg.startsWith('<svg')) throw new ValueError('writeSvgAtomic: svg must be an SVG string');
  writeFileAtomic(file, svg);
}

/** Common size/title options of every plot. */
export interface PlotSize {
  title?: string;
  /** Whole-picture width in px (default per plot). */
  width?: number;
  /** Whole-picture height in px (default per plot). */
  height?: number;
}

/** Validated width/height/title (ConfigError on bad values). */
export function sizeOptions(fn: string, opts: PlotSize, width: number, height: number): { width: number; height: number; title?: string } {
  const dim = (name: string, v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 50 || v > 20000) {
      throw new ConfigError(`${fn}: ${name} must be a number of pixels in [50, 20000], got ${String(v)}`);
    }
    return Math.round(v);
  };
  if (opts.title !== undefined && typeof opts.title !== 'string') throw new ConfigError(`${fn}: title must be a string`);
  return { width: dim('width', opts.width, width), height: dim('height', opts.height, height), title: opts.title };
}

/** Throws ValueError naming `label` (series and index, e.g. 'valLoss[3]') unless `v` is a finite number. */
/** The top of every plot's Vega-Lite spec: schema, title, size and a white background. */
export function specFrame(title: string | undefined, width: number, height: number) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    ...(title !== undefined ? { title } : {}),
    width,
    height,
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
  } as const;
}

export function checkFinite(fn: string, label: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValueError(`${fn}: ${label} must be a finite number, got ${String(v)}`);
  return v;
}

/**
 * Indices of at most `max` points of `ys` that keep its shape: the series is cut into max/2 buckets
 * and each bucket keeps its minimum and maximum (in index order), so spikes survive downsampling.
 */
export function minMaxIndices(ys: ArrayLike<number>, max: number): number[] {
  const n = ys.length;
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.max(1, Math.floor(max / 2));
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    let iMin = lo;
    let iMax = lo;
    for (let i = lo + 1; i < hi; i++) {
      if (ys[i]! < ys[iMin]!) iMin = i;
      if (ys[i]! > ys[iMax]!) iMax = i;
    }
    if (iMin === iMax) out.push(iMin);
    else out.push(Math.min(iMin, iMax), Math.max(iMin, iMax));
  }
  return out;
}
