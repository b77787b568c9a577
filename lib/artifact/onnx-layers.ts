// The Informer forward pass (eval mode) as ONNX graph fragments, mirroring native/core/model.cc:
// embeddings, full and ProbSparse attention, the distilling ConvLayer, encoder / decoder layers.
// Activations are [B, L, D] (batch symbolic); heads are [B, H, L, d].
import { freqInfo, type InformerConfig } from '../config.js';
import { StateDictError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { GraphBuilder, Value } from './onnx-builder.js';

export interface LayerContext {
  g: GraphBuilder;
  cfg: InformerConfig;
  /** Float parameter or buffer by reference state_dict name. */
  param(name: string): Tensor<Float32Array>;
  /** ProbSparse key samples [Lq * U] by inner-attention module path (see Informer.sampleDraws()). */
  samples: ReadonlyMap<string, Int32Array>;
  /** Causal masks by "Lq,Lk" (shared between layers). */
  masks: Map<string, Value>;
}

/** Temporal tables of the fixed / learned embedding: registration order and x_mark column (params.cc). */
const TEMPORAL_TABLES: readonly { name: string; column: number }[] = [
  { name: 'minute_embed', column: 4 },
  { name: 'hour_embed', column: 3 },
  { name: 'weekday_embed', column: 2 },
  { name: 'day_embed', column: 1 },
  { name: 'month_embed', column: 0 },
];

/** The reference ProbSparse budget min(factor * ceil(ln L), L). */
export function probBudget(factor: number, L: number): number {
  return Math.min(factor * Math.ceil(Math.log(L)), L);
}

/** ConvLayer output length: MaxPool1d(3, stride 2, padding 1). */
export function distilledLength(L: number): number {
  return Math.floor((L - 1) / 2) + 1;
}

function transposed(t: Tensor<Float32Array>): Float32Array {
  // [out, in] or a kernel-1 conv [out, in, 1] -> [in, out] for x @ W.
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c] as number;
  return out;
}

/** x W^T + b; with `first`, only the outputs from `first` on (the weight's rows from there). */
function linear(c: LayerContext, x: Value, prefix: string, first = 0): Value {
  let w = c.param(`${prefix}.weight`);
  let b = c.param(`${prefix}.bias`).data;
  let name = prefix;
  if (first > 0) {
    const [rows, cols] = w.shape as [number, number];
    w = { ...w, data: w.data.subarray(first * cols), shape: [rows - first, cols] };
    b = b.subarray(first);
    name = `${prefix}[${first}:]`;
  }
  const [out, inp] = w.shape as [number, number];
  const wt = c.g.initializer(`${name}.weight.T`, transposed(w), [inp, out]);
  return c.g.op('Add', [c.g.op('MatMul', [x, wt]), c.g.initializer(`${name}.bias`, b, [out])]);
}

function slice(c: LayerContext, x: Value, start: number, end: number, axis: number): Value {
  return c.g.op('Slice', [x, c.g.ints([start]), c.g.ints([end]), c.g.ints([axis])]);
}

/** Conv1d(kernel 3, circular padding 1) over time on [B, L, C]: im2col by Slice + Concat, then MatMul. */
function circularConv3(c: LayerContext, x: Value, L: number, wName: string, bName: string): Value {
  const { g } = c;
  const w = c.param(wName);
  const [D, C] = w.shape as [number, number, number];
  const padded = g.op('Concat', [slice(c, x, L - 1, L, 1), x, slice(c, x, 0, 1, 1)], { axis: 1 });
  const cols = g.op(
    'Concat',
    [0, 1, 2].map((k) => slice(c, padded, k, k + L, 1)),
    { axis: 2 },
  );
  // cols[.., k*C + c] = x[t - 1 + k, c] multiplies weight[d, c, k].
  const wc = new Float32Array(3 * C * D);
  for (let d = 0; d < D; d++)
    for (let ci = 0; ci < C; ci++) for (let k = 0; k < 3; k++) wc[(k * C + ci) * D + d] = w.data[(d * C + ci) * 3 + k] as number;
  const wv = g.initializer(`${wName}.im2col`, wc, [3 * C, D]);
  return g.op('Add', [g.op('MatMul', [cols, wv]), g.initializer(bName, c.param(bName).data, [D])]);
}

/** DataEmbedding: token conv + positional table + temporal embedding (no dropout in eval). */
export function embedding(c: LayerContext, prefix: string, x: Value, mark: Value, L: number): Value {
  const { g, cfg } = c;
  const D = cfg.dModel;
  return g.scope(prefix, () => {
    let out = circularConv3(c, x, L, `${prefix}.value_embedding.tokenConv.weight`, `${prefix}.value_embedding.tokenConv.bias`);
    const pe = c.param(`${prefix}.position_embedding.pe`);
    out = g.op('Add', [out, g.initializer(`${prefix}.position_embedding.pe[:${L}]`, pe.data.slice(0, L * D), [L, D])]);
    if (cfg.embed === 'timeF') return g.op('Add', [out, linear(c, mark, `${prefix}.temporal_embedding.embed`)]);
    // fixed / learned: marks truncated to integers (Cast float -> int64 truncates, as the native
    // static_cast and torch's .long()) index the tables.
    const ids = g.op('Cast', [mark], { to: 7 });
    const suffix = cfg.embed === 'fixed' ? '.emb.weight' : '.weight';
    const minute = freqInfo(cfg.freq).base === 't';
    for (const t of TEMPORAL_TABLES) {
      if (t.name === 'minute_embed' && !minute) continue;
      const name = `${prefix}.temporal_embedding.${t.name}${suffix}`;
      const table = c.param(name);
      const col = g.op('Gather', [ids, g.ints([t.column], true)], { axis: 2 });
      out = g.op('Add', [out, g.op('Gather', [g.initializer(name, table.data, table.shape), col], { axis: 0 })]);
    }
    return out;
  });
}

function causalMask(c: LayerContext, Lq: number, Lk: number): Value {
  const key = `${Lq},${Lk}`;
  let m = c.masks.get(key);
  if (!m) {
    // Additive mask: -inf strictly above the diagonal. The diagonal is never masked, so every softmax
    // row keeps a finite maximum and no NaN appears.
    const data = new Float32Array(Lq * Lk);
    for (let i = 0; i < Lq; i++) for (let j = i + 1; j < Lk; j++) data[i * Lk + j] = -Infinity;
    m = c.g.initializer(`causal_mask_${Lq}x${Lk}`, data, [Lq, Lk]);
    c.masks.set(key, m);
  }
  return m;
}

function softmaxAttend(c: LayerContext, scores: Value, v: Value): Value {
  return c.g.op('MatMul', [c.g.op('Softmax', [scores], { axis: -1 }), v]);
}

interface Heads {
  q: Value; // [B, H, Lq, d]
  kT: Value; // [B, H, d, Lk]
  v: Value; // [B, H, Lk, d]
}

/** Canonical attention: softmax(scale Q K^T [+ causal mask]) V -> [B, H, Lq, d]. */
function fullAttention(c: LayerContext, h: Heads, Lq: number, Lk: number, masked: boolean, scale: number): Value {
  const { g } = c;
  let s = g.op('Mul', [g.op('MatMul', [h.q, h.kT]), g.scalar(scale)]);
  if (masked) s = g.op('Add', [s, causalMask(c, Lq, Lk)]);
  return softmaxAttend(c, s, h.v);
}

/**
 * ProbSparse attention (REFERENCE.md 3c) with the fixed key samples `sample` [Lq, U] baked in:
 * M = max - sum / Lk over the sampled unscaled scores, top-u queries per (b, h) attend to every key,
 * the other rows keep mean(V) (unmasked) or cumsum(V) (masked).
 */
function probAttention(c: LayerContext, h: Heads, Lq: number, Lk: number, masked: boolean, scale: number, layer: string): Value {
  const { g, cfg } = c;
  const u = probBudget(cfg.factor, Lq);
  // Every query active: identical to full (causal) attention, and no sample is needed.
  if (u >= Lq) return fullAttention(c, h, Lq, Lk, masked, scale);
  const sample = c.samples.get(layer);
  if (sample === undefined) throw new StateDictError(`no ProbSparse key samples for ${layer}`);
  const U = sample.length / Lq;
  // Sampled scores: gather columns of the full unscaled Q K^T (cheaper in memory than gathering key
  // rows, which would materialise [B, H, Lq, U, d]).
  const qk = g.op('MatMul', [h.q, h.kT]);
  const bh = g.op('Shape', [h.q], { start: 0, end: 2 });
  const idx = g.op('Expand', [g.int64(`${layer}.sample_indices`, sample, [Lq, U]), g.op('Concat', [bh, g.ints([Lq, U])], { axis: 0 })]);
  const sampled = g.op('GatherElements', [qk, idx], { axis: 3 });
  const measure = g.op('Sub', [
    g.reduce('ReduceMax', sampled, [-1], false),
    g.op('Div', [g.reduce('ReduceSum', sampled, [-1], false), g.scalar(Lk)]),
  ]);
  const top = g.node('TopK', [measure, g.ints([u])], { axis: -1, largest: 1, sorted: 1 })[1] as Value; // [B, H, u]
  const top1 = g.op('Unsqueeze', [top, g.ints([-1])]); // [B, H, u, 1]
  const qReduce = g.op('GatherND', [h.q, top1], { batch_dims: 2 }); // [B, H, u, d]
  let s = g.op('Mul', [g.op('MatMul', [qReduce, h.kT]), g.scalar(scale)]);
  if (masked) s = g.op('Add', [s, g.op('Gather', [causalMask(c, Lq, Lk), top], { axis: 0 })]);
  const rows = softmaxAttend(c, s, h.v); // [B, H, u, d]
  const initial = masked
    ? g.op('CumSum', [h.v, g.ints([2], true)])
    : g.op('Expand', [g.reduce('ReduceMean', h.v, [2], true), g.op('Shape', [h.q])]);
  const at = g.op('Expand', [top1, g.op('Shape', [rows])]);
  return g.op('ScatterElements', [initial, at, rows], { axis: 2 });
}

export interface AttentionOptions {
  sparse: boolean;
  masked: boolean;
  mix: boolean;
  /** Output only the last `keepLast` query rows (the last decoder layer: only they reach the forecast). */
  keepLast?: number;
}

/** AttentionLayer plus residual: xq + out_projection(attention(q(xq), k(xkv), v(xkv))). */
export function attentionLayer(c: LayerContext, prefix: string, xq: Value, xkv: Value, Lq: number, Lk: number, o: AttentionOptions): Value {
  const { g, cfg } = c;
  const H = cfg.nHeads;
  const D = cfg.dModel;
  const d = Math.floor(D / H);
  const Lo = o.keepLast ?? Lq;
  // mix: the reference views the head-major [B, H, L, d] context as [B, L, H*d] (no transpose back), so
  // the last Lo rows of that view come from heads h0.. only, and the others are left out (as the
  // native forward does: their projections are the weights' rows before h0 * d).
  const h0 = o.mix && Lo < Lq ? Math.floor(((Lq - Lo) * H) / Lq) : 0;
  const Hs = H - h0;
  return g.scope(prefix, () => {
    const split = (x: Value, L: number, perm: number[]) => g.op('Transpose', [g.op('Reshape', [x, g.ints([0, L, Hs, d])])], { perm });
    const heads: Heads = {
      q: split(linear(c, xq, `${prefix}.query_projection`, h0 * d), Lq, [0, 2, 1, 3]),
      kT: split(linear(c, xkv, `${prefix}.key_projection`, h0 * d), Lk, [0, 2, 3, 1]),
      v: split(linear(c, xkv, `${prefix}.value_projection`, h0 * d), Lk, [0, 2, 1, 3]),
    };
    const scale = Math.fround(1 / Math.sqrt(d));
    const ctx = o.sparse
      ? probAttention(c, heads, Lq, Lk, o.masked, scale, `${prefix}.inner_attention`)
      : fullAttention(c, heads, Lq, Lk, o.masked, scale);
    const rows = (x: Value) => (Lo < Lq ? slice(c, x, Lq - Lo, Lq, 1) : x);
    let kept: Value;
    if (o.mix && Lo < Lq) {
      // Heads h0.. as one run of floats per sample; the kept rows start (Lq - Lo) * D into all H heads'.
      const n = Hs * Lq * d;
      const tail = slice(c, g.op('Reshape', [ctx, g.ints([0, n])]), (Lq - Lo) * D - h0 * Lq * d, n, 1);
      kept = g.op('Reshape', [tail, g.ints([0, Lo, D])]);
    } else {
      const flat = o.mix ? ctx : g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] });
      kept = rows(g.op('Reshape', [flat, g.ints([0, Lq, D])]));
    }
    return g.op('Add', [linear(c, kept, `${prefix}.out_projection`), rows(xq)]);
  });
}

function layerNorm(c: LayerContext, x: Value, prefix: string): Value {
  const w = c.param(`${prefix}.weight`);
  const b = c.param(`${prefix}.bias`);
  return c.g.op(
    'LayerNormalization',
    [x, c.g.initializer(`${prefix}.weight`, w.data, w.shape), c.g.initializer(`${prefix}.bias`, b.data, b.shape)],
    {
      axis: -1,
      epsilon: 1e-5,
    },
  );
}

/** Exact GELU 0.5 x (1 + erf(x / sqrt 2)) (no Gelu op before opset 20). */
function gelu(c: LayerContext, x: Value): Value {
  const { g } = c;
  const erf = g.op('Erf', [g.op('Mul', [x, g.scalar(Math.SQRT1_2)])]);
  return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [erf, g.scalar(1)])]);
}

/** x + conv2(act(conv1(x))) with the kernel-1 convs as MatMuls. */
function feedForward(c: LayerContext, prefix: string, x: Value): Value {
  const hidden = linear(c, x, `${prefix}.conv1`);
  const act = c.cfg.activation === 'gelu' ? gelu(c, hidden) : c.g.op('Relu', [hidden]);
  return c.g.op('Add', [linear(c, act, `${prefix}.conv2`), x]);
}

export function encoderLayer(c: LayerContext, prefix: string, x: Value, L: number): Value {
  return c.g.scope(prefix, () => {
    const a = layerNorm(
      c,
      attentionLayer(c, `${prefix}.attention`, x, x, L, L, { sparse: c.cfg.attn === 'prob', masked: false, mix: false }),
      `${prefix}.norm1`,
    );
    return layerNorm(c, feedForward(c, prefix, a), `${prefix}.norm2`);
  });
}

/** ConvLayer: circular Conv1d(3) -> BatchNorm1d (running stats) -> ELU -> MaxPool1d(3, 2, 1). */
export function distilLayer(c: LayerContext, prefix: string, x: Value, L: number): Value {
  const { g } = c;
  return g.scope(prefix, () => {
    const y = circularConv3(c, x, L, `${prefix}.downConv.weight`, `${prefix}.downConv.bias`);
    const chw = g.op('Transpose', [y], { perm: [0, 2, 1] }); // [B, D, L]
    const bn = ['weight', 'bias', 'running_mean', 'running_var'].map((n) => {
      const t = c.param(`${prefix}.norm.${n}`);
      return g.initializer(`${prefix}.norm.${n}`, t.data, t.shape);
    });
    const normed = g.op('BatchNormalization', [chw, ...bn], { epsilon: 1e-5 });
    // ONNX MaxPool never selects padding, i.e. the -inf padding of torch's MaxPool1d.
    const pooled = g.op('MaxPool', [g.op('Elu', [normed], { alpha: 1 })], { kernel_shape: [3], strides: [2], pads: [1, 1] });
    return g.op('Transpose', [pooled], { perm: [0, 2, 1] });
  });
}

/** Encoder: layers with distilling in between, then LayerNorm. Returns the output and its length. */
export function encoder(c: LayerContext, prefix: string, x: Value, L: number, layers: number): { out: Value; L: number } {
  let h = x;
  for (let i = 0; i < layers; i++) {
    h = encoderLayer(c, `${prefix}.attn_layers.${i}`, h, L);
    if (c.cfg.distil && i + 1 < layers) {
      h = distilLayer(c, `${prefix}.conv_layers.${i}`, h, L);
      L = distilledLength(L);
    }
  }
  return { out: layerNorm(c, h, `${prefix}.norm`), L };
}

/** EncoderStack: encoder i sees the last floor(L / 2^i) steps; outputs concatenated in time. */
export function encoderStack(c: LayerContext, x: Value, L: number, sLayers: readonly number[]): { out: Value; L: number } {
  const parts = sLayers.map((layers, i) => {
    const Li = Math.floor(L / 2 ** i);
    return encoder(c, `encoder.encoders.${i}`, Li === L ? x : slice(c, x, L - Li, L, 1), Li, layers);
  });
  if (parts.length === 1) return parts[0] as { out: Value; L: number };
  return {
    out: c.g.op(
      'Concat',
      parts.map((p) => p.out),
      { axis: 1 },
    ),
    L: parts.reduce((s, p) => s + p.L, 0),
  };
}

/**
 * A decoder layer over [B, L, D]; its output keeps the last `Lout` rows: past the self-attention (which
 * needs every row as keys) each row is computed alone, so the last layer computes only the forecast
 * rows, as the native forward pass does.
 */
export function decoderLayer(c: LayerContext, prefix: string, x: Value, enc: Value, L: number, Lenc: number, Lout = L): Value {
  const { cfg } = c;
  return c.g.scope(prefix, () => {
    const selfAttention = { sparse: cfg.attn === 'prob', masked: true, mix: cfg.mix, keepLast: Lout };
    const a = layerNorm(c, attentionLayer(c, `${prefix}.self_attention`, x, x, L, L, selfAttention), `${prefix}.norm1`);
    const b = layerNorm(
      c,
      attentionLayer(c, `${prefix}.cross_attention`, a, enc, Lout, Lenc, { sparse: false, masked: false, mix: false }),
      `${prefix}.norm2`,
    );
    return layerNorm(c, feedForward(c, prefix, b), `${prefix}.norm3`);
  });
}

/**
 * Decoder LayerNorm, projection to cOut, and the last predLen of x's Ldec steps -> [B, predLen, cOut],
 * as the graph output `outputName`; `finish` (the de-normalisation) maps them and names its result.
 */
export function head(c: LayerContext, x: Value, Ldec: number, outputName: string, finish?: (y: Value, name: string) => Value): Value {
  const { g, cfg } = c;
  const y = linear(c, layerNorm(c, x, 'decoder.norm'), 'projection');
  const slice = [y, g.ints([Ldec - cfg.predLen]), g.ints([Ldec]), g.ints([1])];
  const out = finish ? finish(g.op('Slice', slice), outputName) : (g.node('Slice', slice, {}, [outputName])[0] as Value);
  g.output(out);
  return out;
}
