// The instance normalisation around the network (config normalize 'revin' | 'last') as ONNX graph
// fragments, mirroring native/core/model_normalize.cc: statistics of each encoder window, the
// normalised encoder and decoder inputs (the decoder's placeholder steps unchanged), and the forecast
// mapped back (output channel j with input channel encIn - cOut + j).
import type { Value } from './onnx-builder.js';
import type { LayerContext } from './onnx-layers.js';

/** RevIN's eps (native/kernels/cpu/instance_norm.h kRevinEps). */
const EPS = 1e-5;

/** Per window and channel [B, 1, C]: RevIN's mean and std, or the last value (scale 1: none). */
export interface WindowStats {
  center: Value;
  scale: Value | null;
  /** RevIN's affine weight and bias [C]. */
  affine: [Value, Value] | null;
}

function slice(c: LayerContext, x: Value, start: number, end: number, axis: number): Value {
  return c.g.op('Slice', [x, c.g.ints([start]), c.g.ints([end]), c.g.ints([axis])]);
}

export function windowStats(c: LayerContext, xEnc: Value): WindowStats {
  const { g, cfg } = c;
  return g.scope('normalize', () => {
    if (cfg.normalize === 'last') return { center: slice(c, xEnc, cfg.seqLen - 1, cfg.seqLen, 1), scale: null, affine: null };
    const mean = g.reduce('ReduceMean', xEnc, [1], true);
    const d = g.op('Sub', [xEnc, mean]);
    const variance = g.reduce('ReduceMean', g.op('Mul', [d, d]), [1], true);
    const w = c.param('revin.affine_weight'),
      b = c.param('revin.affine_bias');
    return {
      center: mean,
      scale: g.op('Sqrt', [g.op('Add', [variance, g.scalar(EPS)])]),
      affine: [g.initializer('revin.affine_weight', w.data, w.shape), g.initializer('revin.affine_bias', b.data, b.shape)],
    };
  });
}

function normalizeSteps(c: LayerContext, x: Value, s: WindowStats): Value {
  const { g } = c;
  let z = g.op('Sub', [x, s.center]);
  if (s.scale) z = g.op('Div', [z, s.scale]);
  return s.affine ? g.op('Add', [g.op('Mul', [z, s.affine[0]]), s.affine[1]]) : z;
}

/** x [B, L, C] with its first `normalized` steps normalised and the rest (placeholder steps) as given. */
export function normalizeInput(c: LayerContext, x: Value, s: WindowStats, L: number, normalized: number): Value {
  return c.g.scope('normalize', () => {
    if (normalized === L) return normalizeSteps(c, x, s);
    if (normalized === 0) return x;
    return c.g.op('Concat', [normalizeSteps(c, slice(c, x, 0, normalized, 1), s), slice(c, x, normalized, L, 1)], { axis: 1 });
  });
}

/** The forecast y [B, predLen, cOut] back in the input's units, as the graph output `name`. */
export function denormalizeOutput(c: LayerContext, y: Value, s: WindowStats, name: string): Value {
  const { g, cfg } = c;
  return g.scope('denormalize', () => {
    const first = cfg.encIn - cfg.cOut;
    const channels = (v: Value) => (first === 0 ? v : slice(c, v, first, cfg.encIn, 2));
    let z = y;
    if (cfg.normalize === 'revin') {
      const w = c.param('revin.affine_weight').data.subarray(first);
      const b = c.param('revin.affine_bias').data.subarray(first);
      // (y - bias) / (weight + eps^2), the divisor rounded to float32 as the native kernel computes it.
      const divisor = Float32Array.from(w, (v) => v + EPS * EPS);
      z = g.op('Div', [
        g.op('Sub', [z, g.initializer('revin.affine_bias.out', b.slice(), [cfg.cOut])]),
        g.initializer('revin.affine_weight.out', divisor, [cfg.cOut]),
      ]);
    }
    if (s.scale) z = g.op('Mul', [z, channels(s.scale)]);
    return g.node('Add', [z, channels(s.center)], {}, [name])[0] as Value;
  });
}
