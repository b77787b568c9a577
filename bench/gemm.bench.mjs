// GEMM throughput on the paper config's shapes (Linear layers: A [rows, in] x W^T), one thread and
// the whole pool, against OpenBLAS's ~80 GFLOP/s per core measured on this machine kind
// (DESIGN.md 3b) and the one-thread figure of the same call (pool scaling).
import { kernels, nativeInfo } from '../dist/native.js';
import { machine, measure, table } from './common.mjs';

const shapes = [
  ['FFN conv1: 3072 x 2048 x 512', 3072, 2048, 512],
  ['FFN conv2: 3072 x 512 x 2048', 3072, 512, 2048],
  ['Q/K/V/out: 3072 x 512 x 512', 3072, 512, 512],
  ['decoder FFN: 2304 x 2048 x 512', 2304, 2048, 512],
];
const k = kernels();
const rows = [];
for (const [label, M, N, K] of shapes) {
  const A = Float32Array.from({ length: M * K }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const B = Float32Array.from({ length: N * K }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const C = new Float32Array(M * N);
  const flop = 2 * M * N * K;
  const one = await measure(`${label} 1 thread`, () => k.sgemm(false, true, M, N, K, A, B, C, false), { minSamples: 10, maxTime: 4 });
  const all = await measure(`${label} pool`, () => k.sgemm(false, true, M, N, K, A, B, C, true), { minSamples: 10, maxTime: 4 });
  const g1 = flop / one.median / 1e9,
    gp = flop / all.median / 1e9;
  rows.push([label, g1.toFixed(1), (g1 / 80).toFixed(2), gp.toFixed(1), (gp / g1).toFixed(2)]);
  console.error(`${label}: ${g1.toFixed(1)} GFLOP/s (1 thread), ${gp.toFixed(1)} (pool)`);
}
const info = nativeInfo();
console.log(`### GEMM (fp32, ${info.gemmKernel} micro-kernel)\n\nMachine: ${machine()}; pool of ${info.threads} threads.\n`);
console.log(table(['shape (M x N x K)', 'GFLOP/s, 1 thread', 'vs OpenBLAS 80', `GFLOP/s, ${info.threads} threads`, 'scaling'], rows));
