// Loss curves of a training run: train/val/test MSE per epoch, optional faint per-step train loss,
// the learning rate on a right-hand axis when it changes, and the best (lowest val) epoch marked.
import type { TopLevelSpec } from 'vega-lite';
import { ValueError } from '../errors.js';
import { checkFinite, specFrame, renderSvg, sizeOptions, type PlotSize } from './render.js';

/** One epoch of a run (Trainer's EpochEvent fits). */
export interface LossEpoch {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  testLoss: number | null;
  lr?: number;
}

export interface LossCurveOptions extends PlotSize {
  /**
   * Per-step train loss, drawn faint. `step` counts from 1 over the whole run; steps are spread
   * evenly over the epochs, so the last step lands on the last epoch.
   */
  steps?: { step: number; loss: number }[];
}

const FN = 'lossCurveSvg';
const COLORS: Record<string, string> = {
  'train (step)': '#aec7e8',
  train: '#1f77b4',
  val: '#ff7f0e',
  test: '#2ca02c',
  'learning rate': '#8c8c8c',
};

type Row = { x: number; loss?: number; lr?: number; series: string };

/** SVG of the loss curves; log-scale y when the losses span more than one decade. */
export async function lossCurveSvg(epochs: LossEpoch[], opts: LossCurveOptions = {}): Promise<string> {
  return renderSvg(lossCurveSpec(epochs, opts));
}

/** The Vega-Lite spec behind lossCurveSvg (e.g. to embed it interactively); same checks and errors. */
export function lossCurveSpec(epochs: LossEpoch[], opts: LossCurveOptions = {}): TopLevelSpec {
  const { width, height, title } = sizeOptions(FN, opts, 720, 400);
  if (!Array.isArray(epochs) || epochs.length === 0) throw new ValueError(`${FN}: epochs must be a non-empty array`);
  const rows: Row[] = [];
  const lrs: number[] = [];
  let best = 0;
  epochs.forEach((e, i) => {
    if (e === null || typeof e !== 'object') throw new ValueError(`${FN}: epochs[${i}] must be an object`);
    const x = checkFinite(FN, `epoch[${i}]`, e.epoch);
    rows.push({ x, loss: checkFinite(FN, `trainLoss[${i}]`, e.trainLoss), series: 'train' });
    rows.push({ x, loss: checkFinite(FN, `valLoss[${i}]`, e.valLoss), series: 'val' });
    if (e.testLoss !== null && e.testLoss !== undefined)
      rows.push({ x, loss: checkFinite(FN, `testLoss[${i}]`, e.testLoss), series: 'test' });
    if (e.lr !== undefined) lrs.push(checkFinite(FN, `lr[${i}]`, e.lr));
    if (e.valLoss < epochs[best]!.valLoss) best = i;
  });

  const xs = epochs.map((e) => e.epoch);
  const [e0, e1] = [Math.min(...xs), Math.max(...xs)];
  const steps = opts.steps ?? [];
  if (!Array.isArray(steps)) throw new ValueError(`${FN}: steps must be an array`);
  const stepRows: Row[] = steps.map((s, i) => ({
    x: checkFinite(FN, `steps.step[${i}]`, s?.step),
    loss: checkFinite(FN, `steps.loss[${i}]`, s?.loss),
    series: 'train (step)',
  }));
  const lastStep = Math.max(0, ...stepRows.map((r) => r.x));
  for (const r of stepRows) r.x = lastStep > 0 ? e0 - 1 + ((e1 - e0 + 1) * r.x) / lastStep : e0;

  const losses = [...rows, ...stepRows].map((r) => r.loss!);
  const [lo, hi] = [Math.min(...losses), Math.max(...losses)];
  const logY = lo > 0 && hi / lo > 10;
  // The lr axis only earns its place when a schedule actually changed the rate.
  const showLr = lrs.length === epochs.length && Math.min(...lrs) !== Math.max(...lrs);
  const lrRows: Row[] = showLr ? epochs.map((e) => ({ x: e.epoch, lr: e.lr!, series: 'learning rate' })) : [];

  const present = new Set([...rows, ...stepRows, ...lrRows].map((r) => r.series));
  const domain = Object.keys(COLORS).filter((s) => present.has(s));
  const color = {
    field: 'series',
    type: 'nominal',
    scale: { domain, range: domain.map((s) => COLORS[s]!) },
    legend: { title: null, orient: 'right', symbolType: 'stroke', symbolStrokeWidth: 2.5 },
  } as const;
  const x = {
    field: 'x',
    type: 'quantitative',
    title: 'epoch',
    scale: { zero: false, nice: false },
    axis: { tickMinStep: 1, format: 'd' },
  } as const;
  const yLoss = {
    field: 'loss',
    type: 'quantitative',
    title: 'MSE (scaled)',
    scale: logY ? { type: 'log', nice: false, padding: 8 } : { zero: false },
    axis: { format: '~g' },
  } as const;

  const bestEpoch = epochs[best]!;
  const label = `best val ${fmt(bestEpoch.valLoss)} @ epoch ${bestEpoch.epoch}`;
  const rightHalf = bestEpoch.epoch > (e0 + e1) / 2;
  const lossLayers: object[] = [
    ...(stepRows.length
      ? [{ name: 'steps', data: { values: stepRows }, mark: { type: 'line', strokeWidth: 1 }, encoding: { x, y: yLoss, color } }]
      : []),
    { name: 'loss', data: { values: rows }, mark: { type: 'line', point: true, strokeWidth: 2 }, encoding: { x, y: yLoss, color } },
    {
      data: { values: [{ x: bestEpoch.epoch, label }] },
      layer: [
        {
          name: 'best_rule',
          mark: { type: 'rule', color: '#555', strokeDash: [4, 4] },
          encoding: { x: { field: 'x', type: 'quantitative' } },
        },
        {
          name: 'best_label',
          mark: {
            type: 'text',
            align: rightHalf ? 'right' : 'left',
            baseline: 'top',
            dx: rightHalf ? -4 : 4,
            dy: 4,
            fontSize: 11,
            color: '#333',
          },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
        },
      ],
    },
  ];
  const layer: object[] = [{ layer: lossLayers }];
  if (showLr) {
    const lrLog = Math.min(...lrs) > 0 && Math.max(...lrs) / Math.min(...lrs) > 10;
    layer.push({
      name: 'lr',
      data: { values: lrRows },
      mark: { type: 'line', strokeWidth: 1.5, strokeDash: [2, 2], opacity: 0.8, interpolate: 'step-before' },
      encoding: {
        x,
        y: {
          field: 'lr',
          type: 'quantitative',
          title: 'learning rate',
          scale: lrLog ? { type: 'log', nice: false } : { zero: false },
          axis: { orient: 'right', format: '.1e', grid: false, tickCount: 5 },
        },
        color,
      },
    });
  }
  const spec = {
    ...specFrame(title, width, height),
    layer,
    ...(showLr ? { resolve: { scale: { y: 'independent' } } } : {}),
  };
  return spec as TopLevelSpec;
}

/** Fixed-precision number for labels (toPrecision does not depend on the locale). */
function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString();
}
