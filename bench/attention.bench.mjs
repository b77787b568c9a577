// ProbSparse vs full (canonical) self-attention as the sequence grows: one layer's inner attention,
// batch 1, 8 heads of width 64 (the paper's d_model 512), unmasked, both kernels in the same process.
import { kernels } from '../dist/native.js';
import { machine, measure, ms, table } from './common.mjs';

const k = kernels();
const rows = [];
const H = 8,
  d = 64;
for (const L of [96, 192, 384, 768, 1536, 2048, 3072, 4096]) {
  const n = L * H * d;
  const q = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const kk = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
  const v = Float32Array.from({ length: n }, (_, i) => Math.sin(i / 3));
  const out = new Float32Array(n);
  const big = L >= 2048;
  const opts = { minSamples: big ? 5 : 20, maxTime: big ? 4 : 2 };
  const full = await measure(`full L=${L}`, () => k.attention('full', 1, H, L, d, q, kk, v, out, false), opts);
  const prob = await measure(`prob L=${L}`, () => k.attention('prob', 1, H, L, d, q, kk, v, out, false), opts);
  rows.push([String(L), ms(full.median), ms(prob.median), (full.median / prob.median).toFixed(2)]);
  console.error(`L=${L}: full ${ms(full.median)}, prob ${ms(prob.median)}`);
}
console.log(`### Attention scaling (B=1, H=8, d=64)\n\nMachine: ${machine()}. Medians; both kernels in the same process.\n`);
console.log(table(['L', 'full', 'ProbSparse', 'full / prob'], rows));
