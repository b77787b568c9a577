// Full (canonical softmax) attention on the GPU, forward and backward (see attention.h).
//
// Work layout shared by every kernel here: a block owns one (batch, head) and a tile of rows (query
// rows, or key rows for the key-parallel backward); each warp owns kRowsPerWarp of them. Scores
// are computed "lane = key" (a 32-key tile per step, keys transposed in shared memory so each lane
// reads its own bank); weighted sums over keys ("acc[c] += w_j X[j][c]") use a column mapping where
// narrow heads (d <= 16) split the warp into groups that each take every G-th key, so no lane idles
// on 8- or 16-wide heads, and the groups are summed once at the end.
//
// Forward: a streaming online softmax (running max / sum per row, accumulator rescaled), so no
// [Lq, Lk] buffer is needed. With probs it also stores the raw scores in a first pass and rewrites
// them as probabilities afterwards; dropout is drawn from the counter hash (device_random.h) for
// element ((b*H + h)*Lq + i)*Lk + j at counter rng.offset + index, so the mask is reproducible.
//
// Backward (deterministic, no atomics; every gradient element has one owner thread):
//   1. query-parallel: dP = (dOut V^T) masked, D = rowsum(dP * P), dS = scale P (dP - D) -> workspace
//   2. query-parallel: dq += dS K
//   3. key-parallel:   dv += A^T dOut (A = dropped P), dk += dS^T Q
//
// Head widths above kScoreChunk stream the dot products through shared memory in chunks, and output
// columns beyond 128 are split over gridDim.z (each such block recomputes the scores), so any d works.
#include <algorithm>
#include <cmath>

#include "cuda/attention.h"
#include "cuda/compat.h"
#include "cuda/warp.h"
#include "cuda/device_random.h"

namespace informer::cuda {
namespace {

constexpr int kKeyTile = 32;     // keys per step = lanes of a warp
constexpr int kRowsPerWarp = 4;  // rows each warp carries (one float4 of weights per key)
constexpr int kMaxWarps = 8;
// Head-width columns of a dot product held in shared memory at once, and at most 32*4 output
// columns per block: wider heads chunk both, which keeps every kernel under Turing's 64 KiB and
// Ampere/Ada's 99 KiB of shared memory per block.
constexpr int kScoreChunk = 128;
constexpr int kMaxColumnsPerLane = 4;
constexpr int kKtStride = kKeyTile + 1;  // transposed key tile [c][j]: odd stride, conflict-free stores
// Resident blocks per SM for __launch_bounds__: up to 80 registers a thread (left alone, ptxas kept
// some of these kernels at 64 and spilled).
constexpr int kMinBlocks = 3;
constexpr int kTargetBlocks = 264;  // ~2 blocks per H100 SM before we shrink blocks for more of them

struct Geometry {
  int warps;       // warps per block
  int row_tiles;   // row tiles per (batch, head)
  int nc;          // accumulator columns per lane (template parameter NC)
  int col_chunks;  // output column chunks (gridDim.z), 32*NC columns each
  int scp;         // dot-product chunk width, padded to 4
  int dd;          // lanes per column group: power of two >= d (d <= 32), else 32
  int vst;         // row stride of a [32][columns] tile in shared memory
};

int NcFor(int64_t d) { return d <= 32 ? 1 : d <= 64 ? 2 : kMaxColumnsPerLane; }

Geometry MakeGeometry(int64_t rows, int64_t BH, int64_t d) {
  Geometry g;
  g.warps = static_cast<int>(std::min<int64_t>(kMaxWarps, std::max<int64_t>(1, CeilDiv(rows, kRowsPerWarp))));
  // Fewer warps per block when the grid would not fill the GPU (short sequences, small batches).
  while (g.warps > 2 && BH * CeilDiv(rows, g.warps * kRowsPerWarp) < kTargetBlocks) g.warps /= 2;
  g.row_tiles = static_cast<int>(CeilDiv(rows, g.warps * kRowsPerWarp));
  g.nc = NcFor(d);
  g.col_chunks = static_cast<int>(CeilDiv(d, 32 * g.nc));
  g.scp = static_cast<int>((std::min<int64_t>(d, kScoreChunk) + 3) / 4 * 4);
  g.dd = 32;
  if (d <= 32) {
    g.dd = 1;
    while (g.dd < d) g.dd *= 2;
  }
  g.vst = g.nc == 1 ? g.dd : 32 * g.nc;
  return g;
}

// Per-lane view of the output columns of a column chunk: group g of G handles keys g, g+G, ...;
// columns c + 32 t for t < NC.
struct ColumnMap {
  int g, G, c;
};
__device__ __forceinline__ ColumnMap LaneColumns(int lane, int dd) { return {lane / dd, 32 / dd, lane % dd}; }

// dst[r * ld + c] = src[(row0 + r) * stride + col0 + c] for rows < row_end and c < width, zero in
// the padding, for r < nrows and c < ld (block-cooperative, coalesced along c).
__device__ void LoadRows(float* dst, int nrows, int ld, const float* src, int64_t stride, int64_t row0, int64_t row_end,
                         int col0, int width) {
  for (int idx = threadIdx.x; idx < nrows * ld; idx += blockDim.x) {
    const int r = idx / ld, c = idx % ld;
    const int64_t row = row0 + r;
    dst[idx] = row < row_end && c < width ? src[row * stride + col0 + c] : 0.f;
  }
}

// Transposed key tile: dst[c * kKtStride + j] = src[(row0 + j) * stride + col0 + c], j < kKeyTile,
// c < ncols (zero-padded beyond row_end / width).
__device__ void LoadKeysTransposed(float* dst, int ncols, const float* src, int64_t stride, int64_t row0,
                                   int64_t row_end, int col0, int width) {
  for (int idx = threadIdx.x; idx < kKeyTile * ncols; idx += blockDim.x) {
    const int j = idx / ncols, c = idx % ncols;
    const int64_t row = row0 + j;
    dst[c * kKtStride + j] = row < row_end && c < width ? src[row * stride + col0 + c] : 0.f;
  }
}

// s[r] = x_row(w * R + r) . y_key(lane) over all d for keys [j0, j0 + 32). x rows [x0, x0 + BQ) of
// the block live in xs ([BQ][scp]); when x_resident they were loaded once (d <= scp), otherwise each
// chunk is reloaded here. The caller synchronises before (shared memory reuse); this ends with the
// block synchronised after the last chunk load, so tiles the caller loaded before are visible.
__device__ void TileDots(float (&s)[kRowsPerWarp], const float* x, int64_t x_row, int64_t x0, int64_t x_end,
                         bool x_resident, const float* y, int64_t y_row, int64_t j0, int64_t j_end, int d, int scp,
                         float* xs, float* kt) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, BQ = (blockDim.x / 32) * kRowsPerWarp;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) s[r] = 0.f;
  for (int c0 = 0; c0 < d; c0 += scp) {
    const int width = min(scp, d - c0);
    if (c0 > 0) __syncthreads();
    if (!x_resident) LoadRows(xs, BQ, scp, x, x_row, x0, x_end, c0, width);
    LoadKeysTransposed(kt, scp, y, y_row, j0, j_end, c0, width);
    __syncthreads();
    const float4* xr = reinterpret_cast<const float4*>(xs) + warp * kRowsPerWarp * (scp / 4);
    for (int c = 0; c < scp; c += 4) {
      const float k0 = kt[c * kKtStride + lane], k1 = kt[(c + 1) * kKtStride + lane];
      const float k2 = kt[(c + 2) * kKtStride + lane], k3 = kt[(c + 3) * kKtStride + lane];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float4 xv = xr[r * (scp / 4) + c / 4];
        s[r] = fmaf(xv.x, k0, fmaf(xv.y, k1, fmaf(xv.z, k2, fmaf(xv.w, k3, s[r]))));
      }
    }
  }
}

// acc[r][t] += sum_j w[j].r * X[j][c + 32 t] over j < n in this lane's group (X: [n][vst] in shared).
template <int NC>
__device__ __forceinline__ void AccumulateTile(float (&acc)[kRowsPerWarp][NC], const float4* w, int w_stride,
                                               const float* X, int vst, int n, ColumnMap m) {
  for (int j = m.g; j < n; j += m.G) {
    const float4 wj = w[j * w_stride];
    const float* xj = X + j * vst + m.c;
#pragma unroll
    for (int t = 0; t < NC; ++t) {
      const float xv = xj[32 * t];
      acc[0][t] = fmaf(wj.x, xv, acc[0][t]);
      acc[1][t] = fmaf(wj.y, xv, acc[1][t]);
      acc[2][t] = fmaf(wj.z, xv, acc[2][t]);
      acc[3][t] = fmaf(wj.w, xv, acc[3][t]);
    }
  }
}

// Sums the column groups' partial accumulators (lanes dd, 2 dd, ... apart).
template <int NC>
__device__ __forceinline__ void ReduceGroups(float (&acc)[kRowsPerWarp][NC], int dd) {
  for (int o = dd; o < 32; o <<= 1)
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
      for (int t = 0; t < NC; ++t) acc[r][t] += __shfl_xor_sync(kFullMask, acc[r][t], o);
}

struct ForwardParams {
  const float *q, *k, *v;
  float* out;
  float* probs;        // optional [B, H, Lq, Lk]
  uint8_t* drop_mask;  // with probs when dropping
  HeadLayout in_q, in_kv, out_layout;
  int H, Lq, Lk, d;
  Geometry geo;
  bool causal, drop;
  float scale, dropout, inv_keep;
  uint64_t seed, offset;
};

template <int NC>
__global__ void __launch_bounds__(kMaxWarps * 32, kMinBlocks) FullAttentionForwardKernel(ForwardParams p) {
  INFORMER_DYNAMIC_SHARED(float, smem);
  const Geometry& geo = p.geo;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, BQ = (blockDim.x / 32) * kRowsPerWarp;
  const int64_t bh = blockIdx.x / geo.row_tiles;
  const int64_t b = bh / p.H, h = bh % p.H;
  const int q0 = static_cast<int>(blockIdx.x % geo.row_tiles) * BQ;
  const int col0 = blockIdx.z * 32 * NC, cols = min(32 * NC, p.d - col0);
  const float* qh = p.q + b * p.in_q.batch + h * p.in_q.head;
  const float* kh = p.k + b * p.in_kv.batch + h * p.in_kv.head;
  const float* vh = p.v + b * p.in_kv.batch + h * p.in_kv.head;
  const int64_t row_base = bh * p.Lq;  // (b*H + h)*Lq: first row of this head in probs / mask
  const bool write_probs = p.probs != nullptr && blockIdx.z == 0;

  float* qs = smem;
  float* kt = qs + BQ * geo.scp;
  float* vs = kt + geo.scp * kKtStride;
  float4* wbuf = reinterpret_cast<float4*>(vs + kKeyTile * geo.vst) + warp * kKeyTile;

  const bool q_resident = p.d <= geo.scp;
  if (q_resident) LoadRows(qs, BQ, geo.scp, qh, p.in_q.row, q0, p.Lq, 0, p.d);

  const ColumnMap cm = LaneColumns(lane, geo.dd);
  float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][NC];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    m[r] = -INFINITY, l[r] = 0.f;
#pragma unroll
    for (int t = 0; t < NC; ++t) acc[r][t] = 0.f;
  }
  // Causal rows never look past their own index: the block stops at its last row.
  const int k_end = p.causal ? min(p.Lk, q0 + BQ) : p.Lk;
  for (int j0 = 0; j0 < k_end; j0 += kKeyTile) {
    __syncthreads();  // previous tile's shared data fully consumed
    LoadRows(vs, kKeyTile, geo.vst, vh, p.in_kv.row, j0, k_end, col0, cols);
    float s[kRowsPerWarp];
    TileDots(s, qh, p.in_q.row, q0, p.Lq, q_resident, kh, p.in_kv.row, j0, k_end, p.d, geo.scp, qs, kt);
    const int j = j0 + lane;
    float w[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int i = q0 + warp * kRowsPerWarp + r;
      const bool valid = j < k_end && !(p.causal && j > i);
      const float sc = valid ? s[r] * p.scale : -INFINITY;
      const float mn = fmaxf(m[r], WarpMax(sc));
      float alpha = 1.f, e = 0.f;
      if (mn != -INFINITY) {  // a row with no visible key yet keeps its empty state
        alpha = expf(m[r] - mn);
        e = valid ? expf(sc - mn) : 0.f;
      }
      m[r] = mn;
      l[r] = l[r] * alpha + e;  // per-lane partial sum, reduced once at the end
#pragma unroll
      for (int t = 0; t < NC; ++t) acc[r][t] *= alpha;
      if (valid && i < p.Lq) {
        const int64_t idx = (row_base + i) * p.Lk + j;
        if (write_probs) p.probs[idx] = sc;  // raw score; normalised below once the row is complete
        if (p.drop && !DropoutKeep(p.seed, p.offset + static_cast<uint64_t>(idx), p.dropout)) e = 0.f;
      }
      w[r] = e;
    }
    wbuf[lane] = make_float4(w[0], w[1], w[2], w[3]);
    __syncwarp();
    AccumulateTile<NC>(acc, wbuf, 1, vs, geo.vst, min(kKeyTile, k_end - j0), cm);
  }

  ReduceGroups<NC>(acc, geo.dd);
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int i = q0 + warp * kRowsPerWarp + r;
    const float sum = WarpSum(l[r]);
    if (i >= p.Lq) continue;
    const float inv_l = sum > 0.f ? 1.f / sum : 0.f;
    if (cm.g == 0) {
      float* o = p.out + b * p.out_layout.batch + h * p.out_layout.head + i * p.out_layout.row + col0;
#pragma unroll
      for (int t = 0; t < NC; ++t)
        if (cm.c + 32 * t < cols) o[cm.c + 32 * t] = acc[r][t] * (inv_l * p.inv_keep);
    }
    if (!write_probs) continue;
    // Each lane rereads only the scores it wrote itself (j = lane mod 32), so no barrier is needed.
    for (int jj = lane; jj < p.Lk; jj += kKeyTile) {
      const int64_t idx = (row_base + i) * p.Lk + jj;
      p.probs[idx] = p.causal && jj > i ? 0.f : expf(p.probs[idx] - m[r]) * inv_l;
      if (p.drop) p.drop_mask[idx] = DropoutKeep(p.seed, p.offset + static_cast<uint64_t>(idx), p.dropout) ? 1 : 0;
    }
  }
}

struct BackwardParams {
  const float *q, *k, *v, *d_out, *probs;
  const uint8_t* drop_mask;  // null without dropout
  float *dq, *dk, *dv;
  float* ds;  // workspace [B, H, Lq, Lk]
  HeadLayout in_q, in_kv, out_layout;
  int H, Lq, Lk, d;
  Geometry geo;
  float scale, inv_keep;
};

// dS = scale P (dP - rowsum(dP P)) with dP = (dOut V^T) * mask / keep, into p.ds. (Two blocks per
// SM: at three, ptxas spills a few registers here.)
__global__ void __launch_bounds__(kMaxWarps * 32, 2) FullAttentionScoreGradKernel(BackwardParams p) {
  INFORMER_DYNAMIC_SHARED(float, smem);
  const Geometry& geo = p.geo;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, BQ = (blockDim.x / 32) * kRowsPerWarp;
  const int64_t bh = blockIdx.x / geo.row_tiles;
  const int64_t b = bh / p.H, h = bh % p.H;
  const int q0 = static_cast<int>(blockIdx.x % geo.row_tiles) * BQ;
  const float* goh = p.d_out + b * p.out_layout.batch + h * p.out_layout.head;
  const float* vh = p.v + b * p.in_kv.batch + h * p.in_kv.head;
  const int64_t row_base = bh * p.Lq;
  float* gs = smem;
  float* vt = gs + BQ * geo.scp;

  const bool g_resident = p.d <= geo.scp;
  if (g_resident) LoadRows(gs, BQ, geo.scp, goh, p.out_layout.row, q0, p.Lq, 0, p.d);
  float dsum[kRowsPerWarp] = {0.f, 0.f, 0.f, 0.f};
  for (int j0 = 0; j0 < p.Lk; j0 += kKeyTile) {
    __syncthreads();
    float s[kRowsPerWarp];
    TileDots(s, goh, p.out_layout.row, q0, p.Lq, g_resident, vh, p.in_kv.row, j0, p.Lk, p.d, geo.scp, gs, vt);
    const int j = j0 + lane;
    if (j >= p.Lk) continue;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int i = q0 + warp * kRowsPerWarp + r;
      if (i >= p.Lq) continue;
      const int64_t idx = (row_base + i) * p.Lk + j;
      const float dp = p.drop_mask ? (p.drop_mask[idx] ? s[r] * p.inv_keep : 0.f) : s[r];
      dsum[r] = fmaf(dp, p.probs[idx], dsum[r]);
      p.ds[idx] = dp;
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int i = q0 + warp * kRowsPerWarp + r;
    const float D = WarpSum(dsum[r]);
    if (i >= p.Lq) continue;
    // Own writes only (j = lane mod 32): no barrier needed.
    for (int j = lane; j < p.Lk; j += kKeyTile) {
      const int64_t idx = (row_base + i) * p.Lk + j;
      p.ds[idx] = p.scale * p.probs[idx] * (p.ds[idx] - D);
    }
  }
}

// dq += dS K (query-parallel, output columns chunked over gridDim.z).
template <int NC>
__global__ void __launch_bounds__(kMaxWarps * 32, kMinBlocks) FullAttentionQueryGradKernel(BackwardParams p) {
  INFORMER_DYNAMIC_SHARED(float, smem);
  const Geometry& geo = p.geo;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, BQ = (blockDim.x / 32) * kRowsPerWarp;
  const int64_t bh = blockIdx.x / geo.row_tiles;
  const int64_t b = bh / p.H, h = bh % p.H;
  const int q0 = static_cast<int>(blockIdx.x % geo.row_tiles) * BQ;
  const int col0 = blockIdx.z * 32 * NC, cols = min(32 * NC, p.d - col0);
  const float* kh = p.k + b * p.in_kv.batch + h * p.in_kv.head;
  const int64_t row_base = bh * p.Lq;
  float* ks = smem;
  float4* wbuf = reinterpret_cast<float4*>(ks + kKeyTile * geo.vst) + warp * kKeyTile;

  const ColumnMap cm = LaneColumns(lane, geo.dd);
  float acc[kRowsPerWarp][NC] = {};
  for (int j0 = 0; j0 < p.Lk; j0 += kKeyTile) {
    __syncthreads();
    LoadRows(ks, kKeyTile, geo.vst, kh, p.in_kv.row, j0, p.Lk, col0, cols);
    const int j = j0 + lane;
    float w[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int i = q0 + warp * kRowsPerWarp + r;
      w[r] = i < p.Lq && j < p.Lk ? p.ds[(row_base + i) * p.Lk + j] : 0.f;
    }
    wbuf[lane] = make_float4(w[0], w[1], w[2], w[3]);
    __syncthreads();
    AccumulateTile<NC>(acc, wbuf, 1, ks, geo.vst, min(kKeyTile, p.Lk - j0), cm);
  }
  ReduceGroups<NC>(acc, geo.dd);
  if (cm.g != 0) return;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int i = q0 + warp * kRowsPerWarp + r;
    if (i >= p.Lq) continue;
    float* g = p.dq + b * p.in_q.batch + h * p.in_q.head + i * p.in_q.row + col0;
#pragma unroll
    for (int t = 0; t < NC; ++t)
      if (cm.c + 32 * t < cols) g[cm.c + 32 * t] += acc[r][t];
  }
}

// dv += A^T dOut, dk += dS^T Q (key-parallel: each warp owns kRowsPerWarp keys; query tiles of 32
// rows stream through shared memory together with the matching [32, BK] slices of A and dS).
template <int NC>
__global__ void __launch_bounds__(kMaxWarps * 32, kMinBlocks) FullAttentionKeyValueGradKernel(BackwardParams p) {
  INFORMER_DYNAMIC_SHARED(float, smem);
  const Geometry& geo = p.geo;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, BK = (blockDim.x / 32) * kRowsPerWarp;
  const int wst = BK + 4;  // padded row of the A / dS slices (keeps float4 alignment, spreads banks)
  const int64_t bh = blockIdx.x / geo.row_tiles;
  const int64_t b = bh / p.H, h = bh % p.H;
  const int k0 = static_cast<int>(blockIdx.x % geo.row_tiles) * BK;
  const int col0 = blockIdx.z * 32 * NC, cols = min(32 * NC, p.d - col0);
  const float* qh = p.q + b * p.in_q.batch + h * p.in_q.head;
  const float* goh = p.d_out + b * p.out_layout.batch + h * p.out_layout.head;
  const int64_t row_base = bh * p.Lq;
  float* gs = smem;                     // dOut tile [32][vst]
  float* qs = gs + kKeyTile * geo.vst;  // Q tile [32][vst]
  float* as = qs + kKeyTile * geo.vst;  // A slice [32][wst]
  float* ss = as + kKeyTile * wst;      // dS slice [32][wst]

  const ColumnMap cm = LaneColumns(lane, geo.dd);
  float acc_v[kRowsPerWarp][NC] = {}, acc_k[kRowsPerWarp][NC] = {};
  for (int i0 = 0; i0 < p.Lq; i0 += kKeyTile) {
    __syncthreads();
    LoadRows(gs, kKeyTile, geo.vst, goh, p.out_layout.row, i0, p.Lq, col0, cols);
    LoadRows(qs, kKeyTile, geo.vst, qh, p.in_q.row, i0, p.Lq, col0, cols);
    for (int idx = threadIdx.x; idx < kKeyTile * BK; idx += blockDim.x) {
      const int r = idx / BK, c = idx % BK;
      const int i = i0 + r, j = k0 + c;
      float a = 0.f, ds = 0.f;
      if (i < p.Lq && j < p.Lk) {
        const int64_t e = (row_base + i) * p.Lk + j;
        a = p.probs[e];
        if (p.drop_mask) a = p.drop_mask[e] ? a * p.inv_keep : 0.f;
        ds = p.ds[e];
      }
      as[r * wst + c] = a;
      ss[r * wst + c] = ds;
    }
    __syncthreads();
    const int n = min(kKeyTile, p.Lq - i0);
    const float4* aw = reinterpret_cast<const float4*>(as) + warp;
    const float4* sw = reinterpret_cast<const float4*>(ss) + warp;
    AccumulateTile<NC>(acc_v, aw, wst / 4, gs, geo.vst, n, cm);
    AccumulateTile<NC>(acc_k, sw, wst / 4, qs, geo.vst, n, cm);
  }
  ReduceGroups<NC>(acc_v, geo.dd);
  ReduceGroups<NC>(acc_k, geo.dd);
  if (cm.g != 0) return;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int j = k0 + warp * kRowsPerWarp + r;
    if (j >= p.Lk) continue;
    const int64_t off = b * p.in_kv.batch + h * p.in_kv.head + j * p.in_kv.row + col0;
#pragma unroll
    for (int t = 0; t < NC; ++t) {
      if (cm.c + 32 * t >= cols) continue;
      p.dv[off + cm.c + 32 * t] += acc_v[r][t];
      p.dk[off + cm.c + 32 * t] += acc_k[r][t];
    }
  }
}

template <typename Kernel>
void AllowSharedMemory(Kernel* kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
}

template <int NC>
void LaunchForward(Stream stream, const ForwardParams& p, int64_t BH) {
  const Geometry& g = p.geo;
  const int BQ = g.warps * kRowsPerWarp;
  const size_t smem = sizeof(float) * (BQ * g.scp + g.scp * kKtStride + kKeyTile * g.vst + g.warps * kKeyTile * 4);
  AllowSharedMemory(FullAttentionForwardKernel<NC>, smem);
  Launch(FullAttentionForwardKernel<NC>, dim3(static_cast<unsigned>(BH * g.row_tiles), 1, g.col_chunks),
         dim3(g.warps * 32), smem, stream, p);
}

template <int NC>
void LaunchGradients(Stream stream, BackwardParams p, int64_t BH) {
  const Geometry qg = p.geo;
  const int BQ = qg.warps * kRowsPerWarp;
  const size_t score_smem = sizeof(float) * (BQ * qg.scp + qg.scp * kKtStride);
  AllowSharedMemory(FullAttentionScoreGradKernel, score_smem);
  Launch(FullAttentionScoreGradKernel, dim3(static_cast<unsigned>(BH * qg.row_tiles)), dim3(qg.warps * 32), score_smem,
         stream, p);

  const size_t dq_smem = sizeof(float) * (kKeyTile * qg.vst + qg.warps * kKeyTile * 4);
  AllowSharedMemory(FullAttentionQueryGradKernel<NC>, dq_smem);
  Launch(FullAttentionQueryGradKernel<NC>, dim3(static_cast<unsigned>(BH * qg.row_tiles), 1, qg.col_chunks),
         dim3(qg.warps * 32), dq_smem, stream, p);

  p.geo = MakeGeometry(p.Lk, BH, p.d);  // key-parallel tiling over Lk
  const Geometry& kg = p.geo;
  const int BK = kg.warps * kRowsPerWarp;
  const size_t kv_smem = sizeof(float) * (2 * kKeyTile * kg.vst + 2 * kKeyTile * (BK + 4));
  AllowSharedMemory(FullAttentionKeyValueGradKernel<NC>, kv_smem);
  Launch(FullAttentionKeyValueGradKernel<NC>, dim3(static_cast<unsigned>(BH * kg.row_tiles), 1, kg.col_chunks),
         dim3(kg.warps * 32), kv_smem, stream, p);
}

}  // namespace

int64_t FullAttentionWorkspaceFloats(const AttentionShape&) { return 0; }

void FullAttentionForward(Stream stream, const AttentionShape& s, const float* q, const float* k, const float* v,
                          HeadLayout in_q, HeadLayout in_kv, float* out, HeadLayout out_layout, bool causal,
                          float scale, float dropout, DropoutRng rng, float* probs, uint8_t* drop_mask,
                          float* /*workspace*/) {
  const int64_t BH = s.B * s.H;
  if (BH == 0 || s.Lq == 0 || s.d == 0) return;
  ForwardParams p{};
  p.q = q, p.k = k, p.v = v, p.out = out, p.probs = probs, p.drop_mask = drop_mask;
  p.in_q = in_q, p.in_kv = in_kv, p.out_layout = out_layout;
  p.H = static_cast<int>(s.H), p.Lq = static_cast<int>(s.Lq), p.Lk = static_cast<int>(s.Lk);
  p.d = static_cast<int>(s.d);
  p.geo = MakeGeometry(s.Lq, BH, s.d);
  p.causal = causal;
  // As on the CPU: dropout only in the training layout (probabilities kept, mask requested).
  p.drop = dropout > 0.f && probs && drop_mask;
  p.scale = scale, p.dropout = dropout, p.inv_keep = p.drop ? 1.f / (1.f - dropout) : 1.f;
  p.seed = rng.seed, p.offset = rng.offset;
  switch (p.geo.nc) {
    case 1:
      LaunchForward<1>(stream, p, BH);
      break;
    case 2:
      LaunchForward<2>(stream, p, BH);
      break;
    default:
      LaunchForward<kMaxColumnsPerLane>(stream, p, BH);
      break;
  }
}

int64_t FullAttentionBackwardWorkspaceFloats(const AttentionShape& s) { return s.B * s.H * s.Lq * s.Lk; }

void FullAttentionBackward(Stream stream, const AttentionShape& s, const float* q, const float* k, const float* v,
                           HeadLayout in_q, HeadLayout in_kv, const float* d_out, HeadLayout out_layout, float scale,
                           float dropout, const float* probs, const uint8_t* drop_mask, float* dq, float* dk, float* dv,
                           float* workspace) {
  const int64_t BH = s.B * s.H;
  if (BH == 0 || s.Lq == 0 || s.Lk == 0 || s.d == 0) return;
  BackwardParams p{};
  p.q = q, p.k = k, p.v = v, p.d_out = d_out, p.probs = probs;
  const bool drop = dropout > 0.f && drop_mask;
  p.drop_mask = drop ? drop_mask : nullptr;
  p.dq = dq, p.dk = dk, p.dv = dv, p.ds = workspace;
  p.in_q = in_q, p.in_kv = in_kv, p.out_layout = out_layout;
  p.H = static_cast<int>(s.H), p.Lq = static_cast<int>(s.Lq), p.Lk = static_cast<int>(s.Lk);
  p.d = static_cast<int>(s.d);
  p.geo = MakeGeometry(s.Lq, BH, s.d);
  p.scale = scale, p.inv_keep = drop ? 1.f / (1.f - dropout) : 1.f;
  switch (p.geo.nc) {
    case 1:
      LaunchGradients<1>(stream, p, BH);
      break;
    case 2:
      LaunchGradients<2>(stream, p, BH);
      break;
    default:
      LaunchGradients<kMaxColumnsPerLane>(stream, p, BH);
      break;
  }
}

}  // namespace informer::cuda
