// LayerNorm and BatchNorm1d on the GPU (contract: cuda/norm.h; numerics of kernels/cpu/norm.cc).
//
// LayerNorm normalises rows: one warp per row while the row fits in registers (D <= 1024, float4
// loads when D % 4 == 0 and the pointers are 16-byte aligned), one 512-thread block per row above
// that. Its parameter gradients, and every BatchNorm statistic, are column reductions: a block of up
// to 1024 threads owns W whole columns (8, 16 or 32: whole 32-byte sectors per row), its thread rows
// walk the rows in a fixed stride, then fold through shared memory in a fixed tree. Owning whole
// columns needs no workspace and no atomics, so the results are the same bits on every run.
// BatchNorm sums in double, as the CPU does, so both agree on large-batch statistics to rounding.
#include "cuda/norm.h"

#include <cstdint>
#include <initializer_list>

#include "base/op_types.h"
#include "cuda/compat.h"
#include "cuda/warp.h"

#if defined(__CUDACC__)
#define INFORMER_UNROLL _Pragma("unroll")
#else
#define INFORMER_UNROLL
#endif

namespace informer::cuda {
namespace {

constexpr int kRowWarps = 4;             // rows (warps) per block of the warp-per-row kernels
constexpr int kMaxWarpRowWidth = 1024;   // widest row kept in one warp's registers
constexpr int kRowBlock = 512;           // threads of the block-per-row kernels (wider rows)
constexpr int kColThreads = 1024;        // threads per block of the column reductions (W columns each)
constexpr int kEvalCols = 32;            // columns per block of the element-wise BatchNorm eval
constexpr unsigned kMaxGrid = 1u << 20;  // grid-stride loops cover the rest

// ---- reductions ------------------------------------------------------------------------------

// Sum over a 1-D block; every thread gets the same value. red holds one float per warp.
__device__ __forceinline__ float BlockSum(float v, float* red) {
  v = WarpSum(v);
  __syncthreads();  // red may still be read by the previous call
  if (threadIdx.x % kWarpSize == 0) red[threadIdx.x / kWarpSize] = v;
  __syncthreads();
  float total = 0.f;
  const int warps = blockDim.x / kWarpSize;
  for (int w = 0; w < warps; ++w) total += red[w];
  return total;
}

// Sum over the blockDim.y (a power of two) thread rows of a (W, rows) block, per column: a fixed tree.
template <int W, typename T>
__device__ __forceinline__ T ColumnTotal(T v, T (*red)[W]) {
  __syncthreads();  // red may still be read by the previous call
  red[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.y / 2; s > 0; s >>= 1) {
    if (static_cast<int>(threadIdx.y) < s) red[threadIdx.y][threadIdx.x] += red[threadIdx.y + s][threadIdx.x];
    __syncthreads();
  }
  return red[0][threadIdx.x];
}

// ---- vector access ---------------------------------------------------------------------------

template <int VEC>
__device__ __forceinline__ void LoadVec(const float* p, float (&v)[VEC]) {
  if constexpr (VEC == 4) {
    const float4 q = *reinterpret_cast<const float4*>(p);
    v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
  } else {
    INFORMER_UNROLL
    for (int e = 0; e < VEC; ++e) v[e] = p[e];
  }
}

template <int VEC>
__device__ __forceinline__ void StoreVec(float* p, const float (&v)[VEC]) {
  if constexpr (VEC == 4) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
  } else {
    INFORMER_UNROLL
    for (int e = 0; e < VEC; ++e) p[e] = v[e];
  }
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Launch shape of the column reductions. A block owns W whole columns, so no two blocks meet in an
// output; W is 8 floats (one 32-byte sector per row) up to 2048 columns, 16 up to 4096, then 32, so
// d_model 512 spreads over 64 SMs rather than the 16 that 32-wide tiles would give. Thread rows: a power
// of two up to 1024 / W, no more than the rows need (a 12-row batch gets 16, not 128).
struct ColumnLaunch {
  ColumnLaunch(int64_t cols, int64_t rows)
      : width(cols >= 128 * 32   ? 32
              : cols >= 128 * 16 ? 16
                                 : 8),
        grid(CeilDiv(cols, width)) {
    int thread_rows = kWarpSize / width;  // at least one full warp
    while (thread_rows < kColThreads / width && thread_rows < rows) thread_rows *= 2;
    block = dim3(width, thread_rows);
  }
  template <typename Kernel>
  Kernel Pick(Kernel w8, Kernel w16, Kernel w32) const {
    return width == 8 ? w8 : width == 16 ? w16 : w32;
  }
  int width;
  dim3 grid, block;
};

unsigned GridFor(int64_t items, int64_t per_block) {
  const int64_t blocks = (items + per_block - 1) / per_block;
  return static_cast<unsigned>(blocks < kMaxGrid ? blocks : kMaxGrid);
}

// ---- LayerNorm forward -----------------------------------------------------------------------

// One warp per row. Lane l holds elements (k * 32 + l) * VEC + e for k < ITERS, e < VEC, so each
// load instruction of the warp reads one contiguous 128 * VEC-byte segment.
template <int VEC, int ITERS>
__global__ void __launch_bounds__(kRowWarps* kWarpSize)
    LayerNormForwardWarpKernel(int64_t rows, int D, const float* x, const float* gamma, const float* beta, float* out,
                               float* mean, float* rstd) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t row_stride = static_cast<int64_t>(gridDim.x) * kRowWarps;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / kWarpSize; row < rows;
       row += row_stride) {
    const float* xr = x + row * D;
    float v[ITERS][VEC];
    float sum = 0.f;
    INFORMER_UNROLL
    for (int k = 0; k < ITERS; ++k) {
      const int j = (k * kWarpSize + lane) * VEC;
      if (j < D) {
        LoadVec<VEC>(xr + j, v[k]);
      } else {
        INFORMER_UNROLL
        for (int e = 0; e < VEC; ++e) v[k][e] = 0.f;
      }
      INFORMER_UNROLL
      for (int e = 0; e < VEC; ++e) sum += v[k][e];
    }
    const float mu = WarpSum(sum) / static_cast<float>(D);
    float sq = 0.f;
    INFORMER_UNROLL
    for (int k = 0; k < ITERS; ++k) {
      if ((k * kWarpSize + lane) * VEC < D) {
        INFORMER_UNROLL
        for (int e = 0; e < VEC; ++e) {
          const float c = v[k][e] - mu;
          sq += c * c;
        }
      }
    }
    const float rs = 1.f / sqrtf(WarpSum(sq) / static_cast<float>(D) + kNormEps);
    float* o = out + row * D;
    INFORMER_UNROLL
    for (int k = 0; k < ITERS; ++k) {
      const int j = (k * kWarpSize + lane) * VEC;
      if (j < D) {
        float g[VEC], b[VEC], r[VEC];
        LoadVec<VEC>(gamma + j, g);
        LoadVec<VEC>(beta + j, b);
        INFORMER_UNROLL
        for (int e = 0; e < VEC; ++e) r[e] = (v[k][e] - mu) * rs * g[e] + b[e];
        StoreVec<VEC>(o + j, r);
      }
    }
    if (lane == 0) {
      if (mean) mean[row] = mu;
      if (rstd) rstd[row] = rs;
    }
  }
}

// One block per row, for rows wider than a warp holds. ITEMS > 0: thread t keeps elements
// t + k * blockDim.x (k < ITEMS) in registers; ITEMS == 0: each pass re-reads the row (L1-resident).
// With out aliasing x, the write pass reads each element just before the same thread overwrites it.
template <int ITEMS>
__global__ void __launch_bounds__(kRowBlock)
    LayerNormForwardBlockKernel(int64_t rows, int D, const float* x, const float* gamma, const float* beta, float* out,
                                float* mean, float* rstd) {
  __shared__ float red[kRowBlock / kWarpSize];
  const int tid = threadIdx.x, threads = blockDim.x;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = x + row * D;
    float v[ITEMS > 0 ? ITEMS : 1];
    float sum = 0.f;
    if constexpr (ITEMS > 0) {
      INFORMER_UNROLL
      for (int k = 0; k < ITEMS; ++k) {
        const int j = tid + k * threads;
        v[k] = j < D ? xr[j] : 0.f;
        sum += v[k];
      }
    } else {
      for (int j = tid; j < D; j += threads) sum += xr[j];
    }
    const float mu = BlockSum(sum, red) / static_cast<float>(D);
    float sq = 0.f;
    if constexpr (ITEMS > 0) {
      INFORMER_UNROLL
      for (int k = 0; k < ITEMS; ++k) {
        const float c = tid + k * threads < D ? v[k] - mu : 0.f;
        sq += c * c;
      }
    } else {
      for (int j = tid; j < D; j += threads) {
        const float c = xr[j] - mu;
        sq += c * c;
      }
    }
    const float rs = 1.f / sqrtf(BlockSum(sq, red) / static_cast<float>(D) + kNormEps);
    float* o = out + row * D;
    if constexpr (ITEMS > 0) {
      INFORMER_UNROLL
      for (int k = 0; k < ITEMS; ++k) {
        const int j = tid + k * threads;
        if (j < D) o[j] = (v[k] - mu) * rs * gamma[j] + beta[j];
      }
    } else {
      for (int j = tid; j < D; j += threads) o[j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
    }
    if (tid == 0) {
      if (mean) mean[row] = mu;
      if (rstd) rstd[row] = rs;
    }
  }
}

// ---- LayerNorm backward ----------------------------------------------------------------------

// dx of one row per warp: dx += rs * (g*gamma - mean(g*gamma) - xhat * mean(g*gamma*xhat)).
template <int VEC, int ITERS>
__global__ void __launch_bounds__(kRowWarps* kWarpSize)
    LayerNormBackwardWarpKernel(int64_t rows, int D, const float* x, const float* gamma, const float* mean,
                                const float* rstd, const float* dy, float* dx) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t row_stride = static_cast<int64_t>(gridDim.x) * kRowWarps;
  const float inv_d = 1.f / static_cast<float>(D);
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / kWarpSize; row < rows;
       row += row_stride) {
    const float mu = mean[row], rs = rstd[row];
    const float* xr = x + row * D;
    const float* gr = dy + row * D;
    float xhat[ITERS][VEC], gh[ITERS][VEC];
    float sum_g = 0.f, sum_gx = 0.f;
    INFORMER_UNROLL
    for (int k = 0; k < ITERS; ++k) {
      const int j = (k * kWarpSize + lane) * VEC;
      if (j < D) {
        float xv[VEC], g[VEC], w[VEC];
        LoadVec<VEC>(xr + j, xv);
        LoadVec<VEC>(gr + j, g);
        LoadVec<VEC>(gamma + j, w);
        INFORMER_UNROLL
        for (int e = 0; e < VEC; ++e) {
          xhat[k][e] = (xv[e] - mu) * rs;
          gh[k][e] = g[e] * w[e];
          sum_g += gh[k][e];
          sum_gx += gh[k][e] * xhat[k][e];
        }
      } else {
        INFORMER_UNROLL
        for (int e = 0; e < VEC; ++e) xhat[k][e] = gh[k][e] = 0.f;
      }
    }
    sum_g = WarpSum(sum_g);
    sum_gx = WarpSum(sum_gx);
    float* o = dx + row * D;
    INFORMER_UNROLL
    for (int k = 0; k < ITERS; ++k) {
      const int j = (k * kWarpSize + lane) * VEC;
      if (j < D) {
        float d[VEC];
        LoadVec<VEC>(o + j, d);
        INFORMER_UNROLL
        for (int e = 0; e < VEC; ++e) d[e] += rs * (gh[k][e] - inv_d * sum_g - xhat[k][e] * inv_d * sum_gx);
        StoreVec<VEC>(o + j, d);
      }
    }
  }
}

// The same per block, for wide rows (ITEMS as in LayerNormForwardBlockKernel).
template <int ITEMS>
__global__ void __launch_bounds__(kRowBlock)
    LayerNormBackwardBlockKernel(int64_t rows, int D, const float* x, const float* gamma, const float* mean,
                                 const float* rstd, const float* dy, float* dx) {
  __shared__ float red[kRowBlock / kWarpSize];
  const int tid = threadIdx.x, threads = blockDim.x;
  const float inv_d = 1.f / static_cast<float>(D);
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float mu = mean[row], rs = rstd[row];
    const float* xr = x + row * D;
    const float* gr = dy + row * D;
    float xhat[ITEMS > 0 ? ITEMS : 1], gh[ITEMS > 0 ? ITEMS : 1];
    float sum_g = 0.f, sum_gx = 0.f;
    if constexpr (ITEMS > 0) {
      INFORMER_UNROLL
      for (int k = 0; k < ITEMS; ++k) {
        const int j = tid + k * threads;
        xhat[k] = j < D ? (xr[j] - mu) * rs : 0.f;
        gh[k] = j < D ? gr[j] * gamma[j] : 0.f;
        sum_g += gh[k];
        sum_gx += gh[k] * xhat[k];
      }
    } else {
      for (int j = tid; j < D; j += threads) {
        const float h = gr[j] * gamma[j];
        sum_g += h;
        sum_gx += h * ((xr[j] - mu) * rs);
      }
    }
    sum_g = BlockSum(sum_g, red);
    sum_gx = BlockSum(sum_gx, red);
    float* o = dx + row * D;
    if constexpr (ITEMS > 0) {
      INFORMER_UNROLL
      for (int k = 0; k < ITEMS; ++k) {
        const int j = tid + k * threads;
        if (j < D) o[j] += rs * (gh[k] - inv_d * sum_g - xhat[k] * inv_d * sum_gx);
      }
    } else {
      for (int j = tid; j < D; j += threads) {
        const float h = gr[j] * gamma[j];
        const float xh = (xr[j] - mu) * rs;
        o[j] += rs * (h - inv_d * sum_g - xh * inv_d * sum_gx);
      }
    }
  }
}

// dgamma[c] += sum_r dy * xhat, dbeta[c] += sum_r dy: 32 columns per block, no atomics.
template <int W>
__global__ void __launch_bounds__(kColThreads)
    LayerNormParamGradKernel(int64_t rows, int64_t D, const float* x, const float* mean, const float* rstd,
                             const float* dy, float* dgamma, float* dbeta) {
  __shared__ float red[kColThreads / W][W];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * W + threadIdx.x;
  float sum_gx = 0.f, sum_g = 0.f;
  if (c < D) {
    for (int64_t r = threadIdx.y; r < rows; r += blockDim.y) {
      const float g = dy[r * D + c];
      sum_gx += g * (x[r * D + c] - mean[r]) * rstd[r];
      sum_g += g;
    }
  }
  sum_gx = ColumnTotal<W>(sum_gx, red);
  sum_g = ColumnTotal<W>(sum_g, red);
  if (c < D && threadIdx.y == 0) {
    dgamma[c] += sum_gx;
    dbeta[c] += sum_g;
  }
}

// ---- LayerNorm dispatch ----------------------------------------------------------------------

// Picks the register footprint (a power of two of elements per lane) for a row of D.
int WarpIters(int64_t D, int vec) {
  const int64_t per_lane = (D + kWarpSize * vec - 1) / (kWarpSize * vec);
  int iters = 1;
  while (iters < per_lane) iters *= 2;
  return iters;
}

template <int VEC, typename... Args>
void LaunchLayerNormForwardWarp(int iters, dim3 grid, Stream stream, Args... args) {
  const dim3 block(kRowWarps * kWarpSize);
  switch (iters) {
    case 1:
      return Launch(LayerNormForwardWarpKernel<VEC, 1>, grid, block, 0, stream, args...);
    case 2:
      return Launch(LayerNormForwardWarpKernel<VEC, 2>, grid, block, 0, stream, args...);
    case 4:
      return Launch(LayerNormForwardWarpKernel<VEC, 4>, grid, block, 0, stream, args...);
    case 8:
      return Launch(LayerNormForwardWarpKernel<VEC, 8>, grid, block, 0, stream, args...);
    default:
      if constexpr (VEC == 1) {
        if (iters == 16) return Launch(LayerNormForwardWarpKernel<1, 16>, grid, block, 0, stream, args...);
        return Launch(LayerNormForwardWarpKernel<1, 32>, grid, block, 0, stream, args...);
      }
  }
}

template <int VEC, typename... Args>
void LaunchLayerNormBackwardWarp(int iters, dim3 grid, Stream stream, Args... args) {
  const dim3 block(kRowWarps * kWarpSize);
  switch (iters) {
    case 1:
      return Launch(LayerNormBackwardWarpKernel<VEC, 1>, grid, block, 0, stream, args...);
    case 2:
      return Launch(LayerNormBackwardWarpKernel<VEC, 2>, grid, block, 0, stream, args...);
    case 4:
      return Launch(LayerNormBackwardWarpKernel<VEC, 4>, grid, block, 0, stream, args...);
    case 8:
      return Launch(LayerNormBackwardWarpKernel<VEC, 8>, grid, block, 0, stream, args...);
    default:
      if constexpr (VEC == 1) {
        if (iters == 16) return Launch(LayerNormBackwardWarpKernel<1, 16>, grid, block, 0, stream, args...);
        return Launch(LayerNormBackwardWarpKernel<1, 32>, grid, block, 0, stream, args...);
      }
  }
}

// float4 access pays from a full 128-element warp segment on; it needs every row start aligned.
bool UseFloat4(int64_t D, std::initializer_list<const void*> ptrs) {
  if (D % 4 != 0 || D < 4 * kWarpSize) return false;
  for (const void* p : ptrs)
    if (!Aligned16(p)) return false;
  return true;
}

}  // namespace

void LayerNormForward(Stream stream, int64_t rows, int64_t D, const float* x, const float* gamma, const float* beta,
                      float* out, float* mean, float* rstd) {
  if (rows <= 0 || D <= 0) return;
  const int d = static_cast<int>(D);
  if (D <= kMaxWarpRowWidth) {
    const dim3 grid(GridFor(rows, kRowWarps));
    if (UseFloat4(D, {x, gamma, beta, out}))
      return LaunchLayerNormForwardWarp<4>(WarpIters(D, 4), grid, stream, rows, d, x, gamma, beta, out, mean, rstd);
    return LaunchLayerNormForwardWarp<1>(WarpIters(D, 1), grid, stream, rows, d, x, gamma, beta, out, mean, rstd);
  }
  const dim3 grid(GridFor(rows, 1)), block(kRowBlock);
  if (D <= 4 * kRowBlock)
    return Launch(LayerNormForwardBlockKernel<4>, grid, block, 0, stream, rows, d, x, gamma, beta, out, mean, rstd);
  if (D <= 8 * kRowBlock)
    return Launch(LayerNormForwardBlockKernel<8>, grid, block, 0, stream, rows, d, x, gamma, beta, out, mean, rstd);
  Launch(LayerNormForwardBlockKernel<0>, grid, block, 0, stream, rows, d, x, gamma, beta, out, mean, rstd);
}

void LayerNormBackward(Stream stream, int64_t rows, int64_t D, const float* x, const float* gamma, const float* mean,
                       const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta) {
  if (rows <= 0 || D <= 0) return;
  const int d = static_cast<int>(D);
  if (D <= kMaxWarpRowWidth) {
    const dim3 grid(GridFor(rows, kRowWarps));
    if (UseFloat4(D, {x, gamma, dy, dx}))
      LaunchLayerNormBackwardWarp<4>(WarpIters(D, 4), grid, stream, rows, d, x, gamma, mean, rstd, dy, dx);
    else
      LaunchLayerNormBackwardWarp<1>(WarpIters(D, 1), grid, stream, rows, d, x, gamma, mean, rstd, dy, dx);
  } else {
    const dim3 grid(GridFor(rows, 1)), block(kRowBlock);
    if (D <= 4 * kRowBlock)
      Launch(LayerNormBackwardBlockKernel<4>, grid, block, 0, stream, rows, d, x, gamma, mean, rstd, dy, dx);
    else if (D <= 8 * kRowBlock)
      Launch(LayerNormBackwardBlockKernel<8>, grid, block, 0, stream, rows, d, x, gamma, mean, rstd, dy, dx);
    else
      Launch(LayerNormBackwardBlockKernel<0>, grid, block, 0, stream, rows, d, x, gamma, mean, rstd, dy, dx);
  }
  const ColumnLaunch cl(D, rows);
  Launch(cl.Pick(LayerNormParamGradKernel<8>, LayerNormParamGradKernel<16>, LayerNormParamGradKernel<32>), cl.grid,
         cl.block, 0, stream, rows, D, x, mean, rstd, dy, dgamma, dbeta);
}

// ---- BatchNorm -------------------------------------------------------------------------------

namespace {

// Train mode, one block per 32 channels: batch mean, biased variance (two passes, in double like
// the CPU), the running-stat update, then the normalisation, all in one launch.
template <int W>
__global__ void __launch_bounds__(kColThreads)
    BatchNormTrainForwardKernel(int64_t N, int64_t C, const float* x, const float* gamma, const float* beta,
                                float* running_mean, float* running_var, float* out, float* mean, float* rstd) {
  __shared__ double red[kColThreads / W][W];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * W + threadIdx.x;
  const bool active = c < C;
  double sum = 0.0;
  if (active)
    for (int64_t n = threadIdx.y; n < N; n += blockDim.y) sum += x[n * C + c];
  sum = ColumnTotal<W>(sum, red);
  const float mu = static_cast<float>(sum / static_cast<double>(N));
  double sq = 0.0;
  if (active)
    for (int64_t n = threadIdx.y; n < N; n += blockDim.y) {
      const double d = static_cast<double>(x[n * C + c]) - mu;
      sq += d * d;
    }
  sq = ColumnTotal<W>(sq, red);
  if (!active) return;  // after the last barrier
  const double var = sq / static_cast<double>(N);
  const float rs = static_cast<float>(1.0 / sqrt(var + static_cast<double>(kNormEps)));
  if (threadIdx.y == 0) {
    const double momentum = 0.1;
    const double unbiased = N > 1 ? sq / static_cast<double>(N - 1) : var;
    running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * mu);
    running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
    if (mean) mean[c] = mu;
    if (rstd) rstd[c] = rs;
  }
  const float g = gamma[c], b = beta[c];
  for (int64_t n = threadIdx.y; n < N; n += blockDim.y) out[n * C + c] = (x[n * C + c] - mu) * rs * g + b;
}

// Eval mode is element-wise with the running stats: (32 channels x 8 rows) tiles, rows strided.
constexpr int kEvalRows = 8;
__global__ void __launch_bounds__(kEvalCols* kEvalRows)
    BatchNormEvalForwardKernel(int64_t N, int64_t C, const float* x, const float* gamma, const float* beta,
                               const float* running_mean, const float* running_var, float* out, float* mean,
                               float* rstd) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kEvalCols + threadIdx.x;
  if (c >= C) return;
  const float mu = running_mean[c];
  const float rs = 1.f / sqrtf(running_var[c] + kNormEps);
  const float g = gamma[c], b = beta[c];
  if (blockIdx.y == 0 && threadIdx.y == 0) {
    if (mean) mean[c] = mu;
    if (rstd) rstd[c] = rs;
  }
  const int64_t stride = static_cast<int64_t>(gridDim.y) * kEvalRows;
  for (int64_t n = static_cast<int64_t>(blockIdx.y) * kEvalRows + threadIdx.y; n < N; n += stride)
    out[n * C + c] = (x[n * C + c] - mu) * rs * g + b;
}

// Both modes: dgamma/dbeta are column sums (double, like the CPU). Eval: dx += dy * gamma * rstd in
// the same pass. Train: a second pass applies the full batch-statistics backward.
template <int W>
__global__ void __launch_bounds__(kColThreads)
    BatchNormBackwardKernel(int64_t N, int64_t C, const float* x, const float* gamma, const float* mean,
                            const float* rstd, bool train, const float* dy, float* dx, float* dgamma, float* dbeta) {
  __shared__ double red[kColThreads / W][W];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * W + threadIdx.x;
  const bool active = c < C;
  const float mu = active ? mean[c] : 0.f, rs = active ? rstd[c] : 0.f, w = active ? gamma[c] : 0.f;
  double sum_g = 0.0, sum_gx = 0.0;
  if (active)
    for (int64_t n = threadIdx.y; n < N; n += blockDim.y) {
      const float g = dy[n * C + c];
      sum_g += g;
      sum_gx += static_cast<double>(g) * (x[n * C + c] - mu) * rs;
      if (!train) dx[n * C + c] += g * w * rs;
    }
  sum_g = ColumnTotal<W>(sum_g, red);
  sum_gx = ColumnTotal<W>(sum_gx, red);
  if (!active) return;  // after the last barrier
  if (threadIdx.y == 0) {
    dgamma[c] += static_cast<float>(sum_gx);
    dbeta[c] += static_cast<float>(sum_g);
  }
  if (!train) return;
  const double inv_n = 1.0 / static_cast<double>(N);
  const float wr = w * rs;
  for (int64_t n = threadIdx.y; n < N; n += blockDim.y) {
    const double xhat = (x[n * C + c] - mu) * rs;
    dx[n * C + c] += static_cast<float>(wr * (dy[n * C + c] - inv_n * sum_g - xhat * inv_n * sum_gx));
  }
}

}  // namespace

void BatchNormForward(Stream stream, int64_t N, int64_t C, const float* x, const float* gamma, const float* beta,
                      float* running_mean, float* running_var, bool train, float* out, float* mean, float* rstd) {
  if (C <= 0) return;
  if (train) {
    if (N <= 0) return;  // no batch statistics to take
    const ColumnLaunch cl(C, N);
    Launch(cl.Pick(BatchNormTrainForwardKernel<8>, BatchNormTrainForwardKernel<16>, BatchNormTrainForwardKernel<32>),
           cl.grid, cl.block, 0, stream, N, C, x, gamma, beta, running_mean, running_var, out, mean, rstd);
    return;
  }
  // At least one row of blocks, so mean/rstd are written even for an empty batch.
  const int64_t row_blocks = N > 0 ? (N + kEvalRows - 1) / kEvalRows : 1;
  const dim3 grid(CeilDiv(C, kEvalCols), static_cast<unsigned>(row_blocks < 4096 ? row_blocks : 4096));
  Launch(BatchNormEvalForwardKernel, grid, dim3(kEvalCols, kEvalRows), 0, stream, N, C, x, gamma, beta, running_mean,
         running_var, out, mean, rstd);
}

void BatchNormBackward(Stream stream, int64_t N, int64_t C, const float* x, const float* gamma, const float* mean,
                       const float* rstd, bool train, const float* dy, float* dx, float* dgamma, float* dbeta) {
  if (N <= 0 || C <= 0) return;
  const ColumnLaunch cl(C, N);
  Launch(cl.Pick(BatchNormBackwardKernel<8>, BatchNormBackwardKernel<16>, BatchNormBackwardKernel<32>), cl.grid,
         cl.block, 0, stream, N, C, x, gamma, mean, rstd, train, dy, dx, dgamma, dbeta);
}

}  // namespace informer::cuda
