// ProbSparse self-attention on the GPU (REFERENCE.md 3c), forward and backward, with the semantics of
// kernels/cpu/attention_probsparse.cc. The reference's expanded [B, H, Lq, Lk, d] key tensor is never
// built. Forward, four launches:
//   1. SparsityMeasureKernel: a warp per query row dots q_i with its U sampled keys -> M [B*H, Lq];
//   2. TopQueriesKernel: a block per (b, h) takes u rounds of block argmax -> top [B, H, u], ascending;
//   3. LazyContextKernel: mean / cumsum of V over the sequence for every row (parallel over
//      (b, h, channel) and sequence segments);
//   4. SelectedRowsAttentionKernel: the u selected rows attend to all keys (scores, softmax, probs,
//      P.V), K/V tiles staged in shared memory, written over their lazy rows.
// Backward, four launches, no atomics: selected-row flags, the lazy rows' gradient into dv (mean
// broadcast / reverse cumsum), a row-parallel pass (dS = softmax'(dO V^T), dq += scale dS K) and a
// key-parallel pass looping over the u selected rows (dk += scale dS^T q, dv += P^T dO).
#include <cmath>
#include <cstdint>

#include "cuda/attention.h"
#include "cuda/compat.h"
#include "cuda/warp.h"

namespace informer::cuda {

namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * kWarpSize;
constexpr int kMeasureChunk = 128;  // sampled dot products staged per warp at a time
constexpr int kMaxRowsPerWarp = 2;  // selected rows per warp in the row kernels
constexpr int kKeyTile = 32;        // keys per shared-memory tile: one per lane
constexpr int kKeysBackwardRows = 32;
constexpr int kKeysBackwardPairs = 8;  // (key, channel) outputs per thread in the key-parallel pass
constexpr size_t kDefaultSharedBytes = 48 * 1024;

template <typename T>
__host__ __device__ __forceinline__ T Min(T a, T b) {
  return a < b ? a : b;
}
template <typename T>
__host__ __device__ __forceinline__ T Max(T a, T b) {
  return a < b ? b : a;
}

int64_t AlignFloats(int64_t n) { return (n + 63) / 64 * 64; }  // keeps the next region 256-byte aligned

// Rounded multiply / add that nvcc may not contract into an FMA: the sparsity measure must be
// bit-identical to the CPU kernel's (built without FMA contraction) so the top-u sets agree.
__device__ __forceinline__ float MulRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
__device__ __forceinline__ float AddRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

__device__ __forceinline__ int64_t HeadOffset(const HeadLayout& l, int64_t bh, int64_t H) {
  return (bh / H) * l.batch + (bh % H) * l.head;
}

__device__ __forceinline__ unsigned long long WarpMaxKey(unsigned long long v) {
  for (int o = kWarpSize / 2; o > 0; o >>= 1) {
    const unsigned long long other = __shfl_xor_sync(kFullMask, v, o);
    v = v < other ? other : v;
  }
  return v;
}

// Dot product in exactly the order of kernels/cpu/reduce.h ReduceDot: eight interleaved partial
// sums, a fixed pairwise combination, then the tail.
__device__ __forceinline__ float ReduceDotOrdered(const float* a, const float* b, int n) {
  float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  int i = 0;
  for (; i + 8 <= n; i += 8)
#pragma unroll
    for (int t = 0; t < 8; ++t) acc[t] = AddRn(acc[t], MulRn(a[i + t], b[i + t]));
  float s =
      AddRn(AddRn(AddRn(acc[0], acc[1]), AddRn(acc[2], acc[3])), AddRn(AddRn(acc[4], acc[5]), AddRn(acc[6], acc[7])));
  for (; i < n; ++i) s = AddRn(s, MulRn(a[i], b[i]));
  return s;
}

// Plain dot product with four independent chains (latency, not bit-exactness, matters here).
__device__ __forceinline__ float Dot(const float* a, const float* b, int n) {
  float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 = fmaf(a[i], b[i], s0);
    s1 = fmaf(a[i + 1], b[i + 1], s1);
    s2 = fmaf(a[i + 2], b[i + 2], s2);
    s3 = fmaf(a[i + 3], b[i + 3], s3);
  }
  for (; i < n; ++i) s0 = fmaf(a[i], b[i], s0);
  return (s0 + s1) + (s2 + s3);
}

// ---------------------------------------------------------------------------------------------
// Forward 1: sparsity measure. A warp per query row (bh, i); lane j computes the sampled dot
// products j, j+32, ... of a chunk into shared memory, then every lane folds the chunk in sample
// order, so max, sum and M = max - sum / Lk are the CPU's to the bit.
__global__ void __launch_bounds__(kThreads)
    SparsityMeasureKernel(const float* q, HeadLayout in_q, const float* k, HeadLayout in_kv, int64_t H, int64_t Lq,
                          int64_t Lk, int d, const int32_t* sample, int64_t U, int64_t rows, float* measure) {
  INFORMER_DYNAMIC_SHARED(float, smem);
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarpSize) + warp;
  if (row >= rows) return;  // the whole warp leaves; this kernel has no block barrier
  float* q_s = smem + static_cast<int64_t>(warp) * (d + kMeasureChunk);
  float* dots = q_s + d;
  const int64_t bh = row / Lq, i = row % Lq;
  const float* qi = q + HeadOffset(in_q, bh, H) + i * in_q.row;
  const float* kh = k + HeadOffset(in_kv, bh, H);
  for (int e = lane; e < d; e += kWarpSize) q_s[e] = qi[e];
  __syncwarp();
  const int32_t* idx = sample + i * U;
  float mx = -INFINITY, sum = 0.f;
  for (int64_t c0 = 0; c0 < U; c0 += kMeasureChunk) {
    const int n = static_cast<int>(Min<int64_t>(kMeasureChunk, U - c0));
    for (int j = lane; j < n; j += kWarpSize)
      dots[j] = ReduceDotOrdered(q_s, kh + static_cast<int64_t>(idx[c0 + j]) * in_kv.row, d);
    __syncwarp();
    for (int j = 0; j < n; ++j) {
      const float x = dots[j];
      mx = mx < x ? x : mx;  // std::max(mx, x)
      sum = AddRn(sum, x);
    }
    __syncwarp();
  }
  if (lane == 0) measure[row] = mx - sum / static_cast<float>(Lk);
}

// Orderable 64-bit key of (M[i], i): larger M first, then the lower index (the CPU's tie rule).
// -0 and +0 compare equal on the CPU, so they share a key.
__device__ __forceinline__ unsigned long long RankKey(float m, int64_t i) {
  if (m == 0.f) m = 0.f;
  unsigned bits = __float_as_uint(m);
  bits = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
  return (static_cast<unsigned long long>(bits) << 32) | static_cast<unsigned>(~static_cast<unsigned>(i));
}

// Largest key below `bound` among this thread's rows i = tid, tid + stride, ... (0 when none).
__device__ __forceinline__ unsigned long long BestKeyBelow(const float* m, int64_t Lq, int tid, int stride,
                                                           unsigned long long bound) {
  unsigned long long best = 0;
  for (int64_t i = tid; i < Lq; i += stride) {
    const unsigned long long key = RankKey(m[i], i);
    if (key < bound && key > best) best = key;
  }
  return best;
}

// Forward 2: top-u rows per (b, h). Keys are unique, so each round's block maximum has exactly one
// owner, which then moves on to its next-best row; a thread never needs to remember what it gave
// away beyond its last key. One barrier per round (partials are double-buffered). The u winners
// are written in ascending index order (the CPU's order after its final sort).
__global__ void __launch_bounds__(1024) TopQueriesKernel(const float* measure, int64_t Lq, int64_t u, int32_t* top) {
  INFORMER_DYNAMIC_SHARED(int32_t, chosen);  // [u]
  __shared__ unsigned long long partial[2][32];
  const int tid = threadIdx.x, lane = tid % kWarpSize, warp = tid / kWarpSize;
  const int warps = blockDim.x / kWarpSize;
  const int64_t bh = blockIdx.x;
  const float* m = measure + bh * Lq;
  unsigned long long cand = BestKeyBelow(m, Lq, tid, blockDim.x, ~0ull);
  for (int64_t r = 0; r < u; ++r) {
    unsigned long long w = WarpMaxKey(cand);
    if (lane == 0) partial[r & 1][warp] = w;
    __syncthreads();
    w = WarpMaxKey(lane < warps ? partial[r & 1][lane] : 0ull);
    if (tid == 0) chosen[r] = static_cast<int32_t>(~static_cast<unsigned>(w));
    if (cand == w) cand = BestKeyBelow(m, Lq, tid, blockDim.x, w);
  }
  __syncthreads();
  for (int64_t r = tid; r < u; r += blockDim.x) {
    const int32_t c = chosen[r];
    int64_t rank = 0;
    for (int64_t j = 0; j < u; ++j) rank += chosen[j] < c;
    top[bh * u + rank] = c;
  }
}

// u == Lq: every row is selected, in order (the CPU skips the measure then).
__global__ void AllRowsKernel(int64_t total, int64_t u, int32_t* top) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < total) top[t] = static_cast<int32_t>(t % u);
}

// Launch shape of the sequence-scan kernels: a block per (b, h, channel tile), threadIdx.x over
// channels (coalesced), threadIdx.y over contiguous sequence segments.
struct ScanShape {
  int channels, segments, channel_tiles;
};
ScanShape ScanShapeFor(int64_t d, int64_t L) {
  ScanShape s;
  s.channels = static_cast<int>(Min<int64_t>(d, kWarpSize));
  s.segments = static_cast<int>(Max<int64_t>(1, Min<int64_t>(kThreads / s.channels, L)));
  s.channel_tiles = static_cast<int>(CeilDiv(d, s.channels));
  return s;
}

// Forward 3: initial context of every row, mean of V over Lk (unmasked) or cumsum of V (masked,
// Lq == Lk). Segment partial sums are combined in segment order, so the result is deterministic.
__global__ void __launch_bounds__(kThreads)
    LazyContextKernel(const float* v, HeadLayout in_kv, float* out, HeadLayout out_layout, int64_t H, int64_t Lq,
                      int64_t Lk, int d, int channel_tiles, bool masked) {
  __shared__ float partial[kThreads];
  __shared__ float mean[kWarpSize];
  const int cw = blockDim.x, segs = blockDim.y, x = threadIdx.x, seg = threadIdx.y;
  const int64_t bh = blockIdx.x / channel_tiles;
  const int c = static_cast<int>(blockIdx.x % channel_tiles) * cw + x;
  const bool live = c < d;
  const float* vh = v + HeadOffset(in_kv, bh, H) + c;
  float* oh = out + HeadOffset(out_layout, bh, H) + c;
  const int64_t L = masked ? Lq : Lk;  // rows summed
  const int64_t chunk = (L + segs - 1) / segs, t0 = Min<int64_t>(L, seg * chunk), t1 = Min<int64_t>(L, t0 + chunk);
  float s = 0.f;
  if (live)
    for (int64_t t = t0; t < t1; ++t) s += vh[t * in_kv.row];
  partial[seg * cw + x] = s;
  __syncthreads();
  if (masked) {
    float run = 0.f;
    for (int g = 0; g < seg; ++g) run += partial[g * cw + x];
    if (live)
      for (int64_t t = t0; t < t1; ++t) {
        run += vh[t * in_kv.row];
        oh[t * out_layout.row] = run;
      }
    return;
  }
  if (seg == 0) {
    float total = 0.f;
    for (int g = 0; g < segs; ++g) total += partial[g * cw + x];
    mean[x] = total * (1.f / static_cast<float>(Lk));
  }
  __syncthreads();
  const float mv = mean[x];
  const int64_t qchunk = (Lq + segs - 1) / segs, q0 = Min<int64_t>(Lq, seg * qchunk),
                q1 = Min<int64_t>(Lq, q0 + qchunk);
  if (live)
    for (int64_t t = q0; t < q1; ++t) oh[t * out_layout.row] = mv;
}

// Shared-memory plan of the row kernels: rows_per_warp selected rows per warp, `keys` keys per
// K/V tile. Wide heads shrink the tile so the default 48 KiB suffices where possible.
struct RowTiles {
  int rows_per_warp, keys;
  size_t smem;
};
template <typename SmemFloats>
RowTiles PlanRowTiles(int64_t rows_wanted_per_warp, SmemFloats floats) {
  RowTiles t{static_cast<int>(rows_wanted_per_warp), kKeyTile, 0};
  auto bytes = [&] { return static_cast<size_t>(floats(t.rows_per_warp * kWarps, t.keys)) * sizeof(float); };
  while (bytes() > kDefaultSharedBytes && (t.keys > 1 || t.rows_per_warp > 1)) {
    if (t.keys > 8)
      t.keys /= 2;
    else if (t.rows_per_warp > 1)
      t.rows_per_warp = 1;
    else
      t.keys /= 2;
  }
  t.smem = bytes();
  return t;
}

// Few (b, h) heads with few selected rows: one row per warp doubles the blocks to fill the GPU.
int RowsPerWarpFor(int64_t BH, int64_t u) {
  return BH * static_cast<int64_t>(CeilDiv(u, kWarps * kMaxRowsPerWarp)) >= 256 ? kMaxRowsPerWarp : 1;
}

template <typename Kernel>
void AllowSharedBytes(Kernel* kernel, size_t bytes) {
  if (bytes > kDefaultSharedBytes)
    cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
}

// P.V-style accumulation over a tile for one warp: lane -> channel c0 + lane % W and key group
// lane / W (W = the smallest power of two >= min(d, 32)), so narrow heads keep every lane busy;
// returns the sum over the tile's n keys of w[j] * rows[j * stride + c], complete in group 0.
__device__ __forceinline__ float TileWeightedSum(const float* w, const float* rows, int stride, int n, int c, bool live,
                                                 int group, int groups, int width) {
  float a = 0.f;
  if (live)
    for (int j = group; j < n; j += groups) a = fmaf(w[j], rows[j * stride + c], a);
  for (int o = width; o < kWarpSize; o <<= 1) a += __shfl_xor_sync(kFullMask, a, o);
  return a;
}

__device__ __forceinline__ int LaneWidth(int d) {
  int w = 1;
  while (w < d && w < kWarpSize) w <<= 1;
  return w;
}

// Forward 4: the selected rows attend to every key (keys after the query masked when causal).
// Block = 8 warps x rows_per_warp rows of one (b, h); pass 1 streams K tiles for each row's max
// and sum (lane = key, online per lane), pass 2 streams K and V tiles again, writes the
// normalised probabilities and accumulates P.V straight into the row's output (each output row
// belongs to one warp).
// The block's R selected rows (top indices r0 .. r0 + R - 1, zeros past u) gathered from a head's
// [L, d] view with row stride src_row into shared memory [R][d].
__device__ __forceinline__ void GatherSelectedRows(float* dst, const float* src, int64_t src_row, const int32_t* sel,
                                                   int64_t r0, int R, int d, int64_t u) {
  for (int idx = threadIdx.x; idx < R * d; idx += kThreads) {
    const int64_t r = r0 + idx / d;
    dst[idx] = r < u ? src[static_cast<int64_t>(sel[r]) * src_row + idx % d] : 0.f;
  }
}

// The rows a warp owns in the block: slot s is selected row r0 + warp + kWarps * s (of u), at query
// position query[s]; ok[s] says whether that row exists.
struct WarpRows {
  int64_t row[kMaxRowsPerWarp], query[kMaxRowsPerWarp];
  bool ok[kMaxRowsPerWarp];
};

__device__ __forceinline__ WarpRows SelectWarpRows(const int32_t* sel, int64_t r0, int warp, int rows_per_warp,
                                                   int64_t u) {
  WarpRows w;
#pragma unroll
  for (int s = 0; s < kMaxRowsPerWarp; ++s) {
    w.row[s] = r0 + warp + kWarps * s;
    w.ok[s] = s < rows_per_warp && w.row[s] < u;
    w.query[s] = w.ok[s] ? sel[w.row[s]] : 0;
  }
  return w;
}

__global__ void __launch_bounds__(kThreads)
    SelectedRowsAttentionKernel(const float* q, HeadLayout in_q, const float* k, const float* v, HeadLayout in_kv,
                                float* out, HeadLayout out_layout, int64_t H, int64_t Lk, int d, int64_t u,
                                const int32_t* top, bool masked, float scale, int rows_per_warp, int tile,
                                int64_t row_blocks, float* probs) {
  INFORMER_DYNAMIC_SHARED(float, smem);
  __shared__ int64_t warp_key_end[kWarps];
  const int R = kWarps * rows_per_warp, ks = d + 1;  // padded K rows: lane-per-key reads hit distinct banks
  float* q_s = smem;                                 // [R][d]
  float* k_s = q_s + R * d;                          // [tile][d + 1]
  float* v_s = k_s + tile * ks;                      // [tile][d]
  float* p_s = v_s + tile * d;                       // [kWarps][tile]
  const int tid = threadIdx.x, warp = tid / kWarpSize, lane = tid % kWarpSize;
  const int64_t bh = blockIdx.x / row_blocks, r0 = (blockIdx.x % row_blocks) * R;
  const int32_t* sel = top + bh * u;
  const float* qh = q + HeadOffset(in_q, bh, H);
  const float* kh = k + HeadOffset(in_kv, bh, H);
  const float* vh = v + HeadOffset(in_kv, bh, H);
  float* oh = out + HeadOffset(out_layout, bh, H);

  GatherSelectedRows(q_s, qh, in_q.row, sel, r0, R, d, u);
  const WarpRows wr = SelectWarpRows(sel, r0, warp, rows_per_warp, u);
  const int64_t *row = wr.row, *query = wr.query;
  const bool* ok = wr.ok;
  int64_t my_end = 0;
#pragma unroll
  for (int s = 0; s < kMaxRowsPerWarp; ++s)
    if (ok[s]) my_end = Max<int64_t>(my_end, masked ? query[s] + 1 : Lk);
  if (lane == 0) warp_key_end[warp] = my_end;
  __syncthreads();
  int64_t key_end = 0;  // causal rows never look past their own query
  for (int w = 0; w < kWarps; ++w) key_end = Max(key_end, warp_key_end[w]);
  key_end = Min(key_end, Lk);

  // Pass 1: per-lane online max / sum of the scaled scores.
  float m_run[kMaxRowsPerWarp], l_run[kMaxRowsPerWarp];
#pragma unroll
  for (int s = 0; s < kMaxRowsPerWarp; ++s) m_run[s] = -INFINITY, l_run[s] = 0.f;
  for (int64_t t0 = 0; t0 < key_end; t0 += tile) {
    const int n = static_cast<int>(Min<int64_t>(tile, key_end - t0));
    __syncthreads();
    for (int idx = tid; idx < n * d; idx += kThreads)
      k_s[(idx / d) * ks + idx % d] = kh[(t0 + idx / d) * in_kv.row + idx % d];
    __syncthreads();
#pragma unroll
    for (int s = 0; s < kMaxRowsPerWarp; ++s) {
      const int64_t key = t0 + lane;
      if (!ok[s] || lane >= n || (masked && key > query[s])) continue;
      const float sc = scale * Dot(q_s + (warp + kWarps * s) * d, k_s + lane * ks, d);
      if (sc > m_run[s]) {
        l_run[s] = l_run[s] * expf(m_run[s] - sc) + 1.f;
        m_run[s] = sc;
      } else {
        l_run[s] += expf(sc - m_run[s]);
      }
    }
  }
  float row_max[kMaxRowsPerWarp], inv_sum[kMaxRowsPerWarp];
#pragma unroll
  for (int s = 0; s < kMaxRowsPerWarp; ++s) {
    row_max[s] = WarpMax(m_run[s]);
    const float l = WarpSum(m_run[s] == -INFINITY ? 0.f : l_run[s] * expf(m_run[s] - row_max[s]));
    inv_sum[s] = 1.f / l;
  }

  // Pass 2: probabilities and P.V.
  const int width = LaneWidth(d), groups = kWarpSize / width, group = lane / width;
  float* pw = p_s + warp * tile;
  for (int64_t t0 = 0; t0 < key_end; t0 += tile) {
    const int n = static_cast<int>(Min<int64_t>(tile, key_end - t0));
    __syncthreads();
    for (int idx = tid; idx < n * d; idx += kThreads) {
      const int64_t src = (t0 + idx / d) * in_kv.row + idx % d;
      k_s[(idx / d) * ks + idx % d] = kh[src];
      v_s[idx] = vh[src];
    }
    __syncthreads();
#pragma unroll
    for (int s = 0; s < kMaxRowsPerWarp; ++s) {
      if (!ok[s]) continue;  // warp-uniform
      const int64_t key = t0 + lane;
      float p = 0.f;
      if (lane < n && !(masked && key > query[s]))
        p = expf(scale * Dot(q_s + (warp + kWarps * s) * d, k_s + lane * ks, d) - row_max[s]) * inv_sum[s];
      if (lane < n) {
        if (probs) probs[(bh * u + row[s]) * Lk + key] = p;
        pw[lane] = p;
      }
      if (masked && t0 > query[s]) continue;  // a fully masked tile adds nothing (warp-uniform)
      __syncwarp();
      float* orow = oh + query[s] * out_layout.row;
      for (int c0 = 0; c0 < d; c0 += width) {
        const int c = c0 + lane % width;
        const float a = TileWeightedSum(pw, v_s, d, n, c, c < d, group, groups, width);
        if (group == 0 && c < d) orow[c] = (t0 == 0 ? 0.f : orow[c]) + a;
      }
      __syncwarp();
    }
  }
  // Causal rows: the keys past the block's last query were never visited.
  if (probs && key_end < Lk)
    for (int s = 0; s < kMaxRowsPerWarp; ++s)
      if (ok[s])
        for (int64_t j = key_end + lane; j < Lk; j += kWarpSize) probs[(bh * u + row[s]) * Lk + j] = 0.f;
}

// ---------------------------------------------------------------------------------------------
// Backward 1: selected-row flags [B*H, Lq] (rows of one head belong to one block: clear, then set).
__global__ void __launch_bounds__(kThreads)
    MarkSelectedKernel(const int32_t* top, int64_t Lq, int64_t u, int32_t* flags) {
  const int64_t bh = blockIdx.x;
  int32_t* f = flags + bh * Lq;
  for (int64_t i = threadIdx.x; i < Lq; i += blockDim.x) f[i] = 0;
  __syncthreads();
  for (int64_t r = threadIdx.x; r < u; r += blockDim.x) f[top[bh * u + r]] = 1;
}

// Backward 2: gradient of the lazy rows into dv. Unmasked: every key gets 1/Lk of the lazy rows'
// summed gradient. Masked (Lq == Lk): key t gets the lazy gradient of every row >= t (reverse
// cumsum). Same block shape as LazyContextKernel.
// (kThreads, 4): with no occupancy target ptxas spilled this kernel and the next at 48 registers.
__global__ void __launch_bounds__(kThreads, 4)
    LazyContextBackwardKernel(const float* d_out, HeadLayout out_layout, const int32_t* flags, float* dv,
                              HeadLayout in_kv, int64_t H, int64_t Lq, int64_t Lk, int d, int channel_tiles,
                              bool masked) {
  __shared__ float partial[kThreads];
  __shared__ float mean[kWarpSize];
  const int cw = blockDim.x, segs = blockDim.y, x = threadIdx.x, seg = threadIdx.y;
  const int64_t bh = blockIdx.x / channel_tiles;
  const int c = static_cast<int>(blockIdx.x % channel_tiles) * cw + x;
  const bool live = c < d;
  const float* gh = d_out + HeadOffset(out_layout, bh, H) + c;
  float* dvh = dv + HeadOffset(in_kv, bh, H) + c;
  const int32_t* f = flags + bh * Lq;
  const int64_t chunk = (Lq + segs - 1) / segs, t0 = Min<int64_t>(Lq, seg * chunk), t1 = Min<int64_t>(Lq, t0 + chunk);
  float s = 0.f;
  if (live)
    for (int64_t t = t0; t < t1; ++t)
      if (!f[t]) s += gh[t * out_layout.row];
  partial[seg * cw + x] = s;
  __syncthreads();
  if (masked) {
    float run = 0.f;
    for (int g = segs - 1; g > seg; --g) run += partial[g * cw + x];
    if (live)
      for (int64_t t = t1 - 1; t >= t0; --t) {
        if (!f[t]) run += gh[t * out_layout.row];
        dvh[t * in_kv.row] += run;
      }
    return;
  }
  if (seg == 0) {
    float total = 0.f;
    for (int g = 0; g < segs; ++g) total += partial[g * cw + x];
    mean[x] = total * (1.f / static_cast<float>(Lk));
  }
  __syncthreads();
  const float mv = mean[x];
  const int64_t kchunk = (Lk + segs - 1) / segs, k0 = Min<int64_t>(Lk, seg * kchunk),
                k1 = Min<int64_t>(Lk, k0 + kchunk);
  if (live)
    for (int64_t t = k0; t < k1; ++t) dvh[t * in_kv.row] += mv;
}

// Backward 3: per selected row, dP = dO V^T (pass 1, kept in ds, with delta = sum_j P dP), then
// dS = P (dP - delta) into ds (pass 2) and dq[query] += scale dS K. Same tiling as the forward.
__global__ void __launch_bounds__(kThreads, 4)
    SelectedRowsBackwardKernel(const float* k, const float* v, HeadLayout in_kv, const float* d_out,
                               HeadLayout out_layout, float* dq, HeadLayout in_q, int64_t H, int64_t Lk, int d,
                               int64_t u, const int32_t* top, const float* probs, float scale, int rows_per_warp,
                               int tile, int64_t row_blocks, float* ds) {
  INFORMER_DYNAMIC_SHARED(float, smem);
  const int R = kWarps * rows_per_warp, ks = d + 1;
  float* g_s = smem;              // [R][d] gathered dO rows
  float* kv_s = g_s + R * d;      // [tile][d + 1]: V tile (pass 1), K tile (pass 2)
  float* w_s = kv_s + tile * ks;  // [kWarps][tile] dS of the warp's current row
  const int tid = threadIdx.x, warp = tid / kWarpSize, lane = tid % kWarpSize;
  const int64_t bh = blockIdx.x / row_blocks, r0 = (blockIdx.x % row_blocks) * R;
  const int32_t* sel = top + bh * u;
  const float* kh = k + HeadOffset(in_kv, bh, H);
  const float* vh = v + HeadOffset(in_kv, bh, H);
  const float* gh = d_out + HeadOffset(out_layout, bh, H);
  float* dqh = dq + HeadOffset(in_q, bh, H);

  GatherSelectedRows(g_s, gh, out_layout.row, sel, r0, R, d, u);
  const WarpRows wr = SelectWarpRows(sel, r0, warp, rows_per_warp, u);
  const int64_t *row = wr.row, *query = wr.query;
  const bool* ok = wr.ok;

  float delta[kMaxRowsPerWarp];
#pragma unroll
  for (int s = 0; s < kMaxRowsPerWarp; ++s) delta[s] = 0.f;
  for (int64_t t0 = 0; t0 < Lk; t0 += tile) {
    const int n = static_cast<int>(Min<int64_t>(tile, Lk - t0));
    __syncthreads();
    for (int idx = tid; idx < n * d; idx += kThreads)
      kv_s[(idx / d) * ks + idx % d] = vh[(t0 + idx / d) * in_kv.row + idx % d];
    __syncthreads();
#pragma unroll
    for (int s = 0; s < kMaxRowsPerWarp; ++s) {
      if (!ok[s] || lane >= n) continue;
      const int64_t at = (bh * u + row[s]) * Lk + t0 + lane;
      const float p = probs[at];
      const float dp = p == 0.f ? 0.f : Dot(g_s + (warp + kWarps * s) * d, kv_s + lane * ks, d);  // masked keys
      delta[s] = fmaf(p, dp, delta[s]);
      ds[at] = dp;
    }
  }
#pragma unroll
  for (int s = 0; s < kMaxRowsPerWarp; ++s) delta[s] = WarpSum(delta[s]);

  const int width = LaneWidth(d), groups = kWarpSize / width, group = lane / width;
  float* ww = w_s + warp * tile;
  for (int64_t t0 = 0; t0 < Lk; t0 += tile) {
    const int n = static_cast<int>(Min<int64_t>(tile, Lk - t0));
    __syncthreads();
    for (int idx = tid; idx < n * d; idx += kThreads)
      kv_s[(idx / d) * ks + idx % d] = kh[(t0 + idx / d) * in_kv.row + idx % d];
    __syncthreads();
#pragma unroll
    for (int s = 0; s < kMaxRowsPerWarp; ++s) {
      if (!ok[s]) continue;  // warp-uniform
      if (lane < n) {
        const int64_t at = (bh * u + row[s]) * Lk + t0 + lane;
        const float g = probs[at] * (ds[at] - delta[s]);
        ds[at] = g;
        ww[lane] = g;
      }
      __syncwarp();
      float* dq_row = dqh + query[s] * in_q.row;
      for (int c0 = 0; c0 < d; c0 += width) {
        const int c = c0 + lane % width;
        const float a = TileWeightedSum(ww, kv_s, ks, n, c, c < d, group, groups, width);
        if (group == 0 && c < d) dq_row[c] += scale * a;
      }
      __syncwarp();
    }
  }
}

// Backward 4: key-parallel. A block owns a tile of keys x channels of one head and loops over the
// u selected rows in chunks staged in shared memory: dk[j] += scale sum_r dS[r, j] q[top r],
// dv[j] += sum_r P[r, j] dO[top r]. Each output element has one owner: no atomics.
struct KeysTiles {
  int channels, keys, channel_tiles;
  int64_t key_tiles;
  size_t smem;
};
KeysTiles PlanKeysTiles(int64_t d, int64_t Lk) {
  KeysTiles t;
  t.channels = static_cast<int>(Min<int64_t>(d, 64));
  t.keys = static_cast<int>(
      Max<int64_t>(1, Min<int64_t>(Min<int64_t>(128, kThreads * kKeysBackwardPairs / t.channels), Lk)));
  t.channel_tiles = static_cast<int>(CeilDiv(d, t.channels));
  t.key_tiles = CeilDiv(Lk, t.keys);
  t.smem = static_cast<size_t>(kKeysBackwardRows) * 2 * (t.channels + t.keys) * sizeof(float);
  return t;
}

__global__ void __launch_bounds__(kThreads)
    KeysBackwardKernel(const float* q, HeadLayout in_q, const float* d_out, HeadLayout out_layout, float* dk, float* dv,
                       HeadLayout in_kv, int64_t H, int64_t Lk, int d, int64_t u, const int32_t* top,
                       const float* probs, const float* ds, float scale, int ct, int kt, int channel_tiles,
                       int64_t key_tiles) {
  INFORMER_DYNAMIC_SHARED(float, smem);
  constexpr int RC = kKeysBackwardRows;
  float* q_s = smem;            // [RC][ct]
  float* g_s = q_s + RC * ct;   // [RC][ct]
  float* ds_s = g_s + RC * ct;  // [RC][kt]
  float* p_s = ds_s + RC * kt;  // [RC][kt]
  const int tid = threadIdx.x;
  const int64_t per_head = key_tiles * channel_tiles;
  const int64_t bh = blockIdx.x / per_head;
  const int64_t k0 = (blockIdx.x % per_head) / channel_tiles * kt;
  const int c0 = static_cast<int>(blockIdx.x % channel_tiles) * ct;
  const int32_t* sel = top + bh * u;
  const float* qh = q + HeadOffset(in_q, bh, H);
  const float* gh = d_out + HeadOffset(out_layout, bh, H);
  const int64_t kvo = HeadOffset(in_kv, bh, H);

  // Thread's outputs: pair p is (key k0 + key_of[p], channel c0 + chan_of[p]); -1 = none.
  int key_of[kKeysBackwardPairs], chan_of[kKeysBackwardPairs];
  float acc_k[kKeysBackwardPairs], acc_v[kKeysBackwardPairs];
#pragma unroll
  for (int p = 0; p < kKeysBackwardPairs; ++p) {
    const int pair = tid + p * kThreads;
    key_of[p] = pair < kt * ct ? pair / ct : -1;
    chan_of[p] = pair % ct;
    acc_k[p] = acc_v[p] = 0.f;
  }
  for (int64_t rb = 0; rb < u; rb += RC) {
    const int nr = static_cast<int>(Min<int64_t>(RC, u - rb));
    __syncthreads();
    for (int idx = tid; idx < RC * ct; idx += kThreads) {
      const int rr = idx / ct, c = c0 + idx % ct;
      const bool live = rr < nr && c < d;
      const int64_t qi = live ? sel[rb + rr] : 0;
      q_s[idx] = live ? qh[qi * in_q.row + c] : 0.f;
      g_s[idx] = live ? gh[qi * out_layout.row + c] : 0.f;
    }
    for (int idx = tid; idx < RC * kt; idx += kThreads) {
      const int rr = idx / kt;
      const int64_t j = k0 + idx % kt;
      const bool live = rr < nr && j < Lk;
      const int64_t at = (bh * u + rb + rr) * Lk + j;
      ds_s[idx] = live ? ds[at] : 0.f;
      p_s[idx] = live ? probs[at] : 0.f;
    }
    __syncthreads();
    for (int rr = 0; rr < nr; ++rr)
#pragma unroll
      for (int p = 0; p < kKeysBackwardPairs; ++p) {
        if (key_of[p] < 0) continue;
        acc_k[p] = fmaf(ds_s[rr * kt + key_of[p]], q_s[rr * ct + chan_of[p]], acc_k[p]);
        acc_v[p] = fmaf(p_s[rr * kt + key_of[p]], g_s[rr * ct + chan_of[p]], acc_v[p]);
      }
  }
#pragma unroll
  for (int p = 0; p < kKeysBackwardPairs; ++p) {
    const int64_t j = k0 + key_of[p];
    const int c = c0 + chan_of[p];
    if (key_of[p] < 0 || j >= Lk || c >= d) continue;
    dk[kvo + j * in_kv.row + c] += scale * acc_k[p];
    dv[kvo + j * in_kv.row + c] += acc_v[p];
  }
}

}  // namespace

int64_t ProbAttentionWorkspaceFloats(const AttentionShape& s, int64_t U, int64_t u) {
  const int64_t BH = s.B * s.H;
  return AlignFloats(BH * s.Lq) + BH * u;  // M, then top when the caller keeps none
}

void ProbAttentionForward(Stream stream, const AttentionShape& s, const float* q, const float* k, const float* v,
                          HeadLayout in_q, HeadLayout in_kv, float* out, HeadLayout out_layout, bool masked,
                          float scale, const int32_t* sample, int64_t U, int64_t u, int32_t* top_out, float* probs,
                          float* workspace) {
  const int64_t BH = s.B * s.H;
  if (BH == 0 || s.Lq == 0 || s.Lk == 0 || s.d == 0) return;
  const int d = static_cast<int>(s.d);
  float* measure = workspace;
  int32_t* top = top_out ? top_out : reinterpret_cast<int32_t*>(workspace + AlignFloats(BH * s.Lq));

  if (u > 0 && u < s.Lq) {
    // Warps per block shrink only for very wide heads (q row + dot chunk staged per warp).
    const int64_t per_warp = (d + kMeasureChunk) * static_cast<int64_t>(sizeof(float));
    const int warps = static_cast<int>(Max<int64_t>(1, Min<int64_t>(kWarps, kDefaultSharedBytes / per_warp)));
    const size_t smem = static_cast<size_t>(warps * per_warp);
    AllowSharedBytes(SparsityMeasureKernel, smem);
    const int64_t rows = BH * s.Lq;
    Launch(SparsityMeasureKernel, dim3(CeilDiv(rows, warps)), dim3(warps * kWarpSize), smem, stream, q, in_q, k, in_kv,
           s.H, s.Lq, s.Lk, d, sample, U, rows, measure);
    const int threads = static_cast<int>(Min<int64_t>(1024, CeilDiv(s.Lq, kWarpSize) * kWarpSize));
    // Rounded up to whole 16-byte words: ptxas may merge the rank loop's tail loads into one wider
    // load that reaches past chosen[u - 1] (compute-sanitizer's memcheck flagged it on an H200).
    const size_t top_smem = static_cast<size_t>(CeilDiv(u, 4) * 4) * sizeof(int32_t);
    AllowSharedBytes(TopQueriesKernel, top_smem);
    Launch(TopQueriesKernel, dim3(static_cast<unsigned>(BH)), dim3(threads), top_smem, stream, measure, s.Lq, u, top);
  } else if (u > 0) {
    Launch(AllRowsKernel, dim3(CeilDiv(BH * u, kThreads)), dim3(kThreads), 0, stream, BH * u, u, top);
  }
  if (u < s.Lq) {
    const ScanShape sh = ScanShapeFor(s.d, Max(s.Lq, s.Lk));
    Launch(LazyContextKernel, dim3(static_cast<unsigned>(BH * sh.channel_tiles)), dim3(sh.channels, sh.segments), 0,
           stream, v, in_kv, out, out_layout, s.H, s.Lq, s.Lk, d, sh.channel_tiles, masked);
  }
  if (u > 0) {
    const RowTiles t = PlanRowTiles(RowsPerWarpFor(BH, u), [d](int64_t rows, int64_t keys) {
      return rows * d + keys * (d + 1) + keys * d + kWarps * keys;
    });
    AllowSharedBytes(SelectedRowsAttentionKernel, t.smem);
    const int64_t row_blocks = CeilDiv(u, kWarps * t.rows_per_warp);
    Launch(SelectedRowsAttentionKernel, dim3(static_cast<unsigned>(BH * row_blocks)), dim3(kThreads), t.smem, stream, q,
           in_q, k, v, in_kv, out, out_layout, s.H, s.Lk, d, u, top, masked, scale, t.rows_per_warp, t.keys, row_blocks,
           probs);
  }
}

int64_t ProbAttentionBackwardWorkspaceFloats(const AttentionShape& s, int64_t u) {
  const int64_t BH = s.B * s.H;
  return AlignFloats(BH * s.Lq) + BH * u * s.Lk;  // selected flags, then dP / dS [B, H, u, Lk]
}

void ProbAttentionBackward(Stream stream, const AttentionShape& s, const float* q, const float* k, const float* v,
                           HeadLayout in_q, HeadLayout in_kv, const float* d_out, HeadLayout out_layout, bool masked,
                           float scale, int64_t u, const int32_t* top, const float* probs, float* dq, float* dk,
                           float* dv, float* workspace) {
  const int64_t BH = s.B * s.H;
  if (BH == 0 || s.Lq == 0 || s.Lk == 0 || s.d == 0) return;
  const int d = static_cast<int>(s.d);
  int32_t* flags = reinterpret_cast<int32_t*>(workspace);
  float* ds = workspace + AlignFloats(BH * s.Lq);

  if (u < s.Lq) {
    Launch(MarkSelectedKernel, dim3(static_cast<unsigned>(BH)), dim3(kThreads), 0, stream, top, s.Lq, u, flags);
    const ScanShape sh = ScanShapeFor(s.d, Max(s.Lq, s.Lk));
    Launch(LazyContextBackwardKernel, dim3(static_cast<unsigned>(BH * sh.channel_tiles)),
           dim3(sh.channels, sh.segments), 0, stream, d_out, out_layout, flags, dv, in_kv, s.H, s.Lq, s.Lk, d,
           sh.channel_tiles, masked);
  }
  if (u == 0) return;
  const RowTiles t = PlanRowTiles(
      RowsPerWarpFor(BH, u), [d](int64_t rows, int64_t keys) { return rows * d + keys * (d + 1) + kWarps * keys; });
  AllowSharedBytes(SelectedRowsBackwardKernel, t.smem);
  const int64_t row_blocks = CeilDiv(u, kWarps * t.rows_per_warp);
  Launch(SelectedRowsBackwardKernel, dim3(static_cast<unsigned>(BH * row_blocks)), dim3(kThreads), t.smem, stream, k, v,
         in_kv, d_out, out_layout, dq, in_q, s.H, s.Lk, d, u, top, probs, scale, t.rows_per_warp, t.keys, row_blocks,
         ds);
  const KeysTiles kt = PlanKeysTiles(s.d, s.Lk);
  Launch(KeysBackwardKernel, dim3(static_cast<unsigned>(BH * kt.key_tiles * kt.channel_tiles)), dim3(kThreads), kt.smem,
         stream, q, in_q, d_out, out_layout, dk, dv, in_kv, s.H, s.Lk, d, u, top, probs, ds, scale, kt.channels,
         kt.keys, kt.channel_tiles, kt.key_tiles);
}

}  // namespace informer::cuda
