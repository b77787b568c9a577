// Single-precision GEMM on the GPU (contract of cuda/gemm.h). Two back ends:
//   - the package's own tiled SGEMM (always built; the only one without cuBLAS): 128x128, 128x64,
//     64x64 or 32x32 block tiles chosen by problem size, staged in shared memory and double-buffered
//     through registers, an 8x8 / 8x4 / 4x4 register tile per thread, transposes resolved while a
//     tile is staged, and the epilogue (beta C, bias, activation, residual) fused into the store;
//     one warp per output for N <= 2. gridDim.z walks the batch of the strided-batched variant.
//   - cuBLAS (INFORMER_HAVE_CUBLAS): the product through cublasGemmEx, then one epilogue kernel
//     (the tiled kernel instead when the residual lives in C: it must be read before C is written).
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>

#include "cuda/compat.h"
#include "cuda/gemm.h"

#if defined(INFORMER_HAVE_CUBLAS) && defined(__CUDACC__)
#include <cublas_v2.h>
#endif

namespace informer::cuda {
namespace {

// ---- epilogue -----------------------------------------------------------------------------------

// What the kernels need of GemmEpilogue (a plain struct passed by value to the kernels).
struct Epilogue {
  const float* bias;      // [N] or null
  const float* residual;  // [M, ldr] or null
  int64_t ldr;
  int act;  // Activation
};

Epilogue ToKernelEpilogue(const GemmEpilogue& e) {
  return Epilogue{e.bias, e.residual, e.ldr, static_cast<int>(e.act)};
}

__device__ __forceinline__ float Activate(float v, int act) {
  if (act == static_cast<int>(Activation::kRelu)) return v < 0.f ? 0.f : v;  // NaN stays NaN, as on the CPU
  // Exact GELU; 1 + erf(x/sqrt2) written as erfc(-x/sqrt2), accurate where erf is close to -1.
  if (act == static_cast<int>(Activation::kGelu)) return 0.5f * v * erfcf(-v * 0.70710678118654752f);
  return v;
}

// C[i, j] = act(alpha * acc + beta * C[i, j] + bias[j]) + residual[i, j]. C is read only when
// beta != 0, and the residual (possibly C itself) is read before C is written.
__device__ __forceinline__ void StoreOne(float acc, float alpha, float beta, float* c, int64_t i, int64_t j,
                                         int64_t ldc, const Epilogue& ep) {
  float* cij = c + i * ldc + j;
  float v = alpha * acc;
  if (beta != 0.f) v += beta * *cij;
  if (ep.bias) v += ep.bias[j];
  v = Activate(v, ep.act);
  if (ep.residual) v += ep.residual[i * ep.ldr + j];
  *cij = v;
}

// Four consecutive outputs of row i starting at column j (16-byte aligned: checked on the host).
__device__ __forceinline__ void StoreFour(const float* acc, float alpha, float beta, float* c, int64_t i, int64_t j,
                                          int64_t ldc, const Epilogue& ep) {
  float4* cij = reinterpret_cast<float4*>(c + i * ldc + j);
  float v[4] = {alpha * acc[0], alpha * acc[1], alpha * acc[2], alpha * acc[3]};
  if (beta != 0.f) {
    const float4 old = *cij;
    v[0] += beta * old.x, v[1] += beta * old.y, v[2] += beta * old.z, v[3] += beta * old.w;
  }
  if (ep.bias)
    for (int q = 0; q < 4; ++q) v[q] += ep.bias[j + q];
  for (int q = 0; q < 4; ++q) v[q] = Activate(v[q], ep.act);
  if (ep.residual) {
    const float4 r = *reinterpret_cast<const float4*>(ep.residual + i * ep.ldr + j);
    v[0] += r.x, v[1] += r.y, v[2] += r.z, v[3] += r.w;
  }
  *cij = make_float4(v[0], v[1], v[2], v[3]);
}

// ---- tiled SGEMM --------------------------------------------------------------------------------

// Block tile BM x BN, K step BK, thread tile TM x TN (multiples of 4). A thread's TM rows are TM/4
// groups of 4 consecutive rows spaced BM/(TM/4) apart (likewise columns), so a warp's float4 reads
// of a shared-memory k-row are contiguous and conflict-free.
template <int BM, int BN, int BK, int TM, int TN>
struct TileConfig {
  static constexpr int kThreads = (BM / TM) * (BN / TN);
  static constexpr int kThreadCols = BN / TN;
  static constexpr int kALoads = BM * BK / kThreads;  // elements of the A tile each thread stages
  static constexpr int kBLoads = BN * BK / kThreads;
  static constexpr int kRowGroupStride = BM / (TM / 4);
  static constexpr int kColGroupStride = BN / (TN / 4);
  // +4 floats per k-row: keeps float4 alignment and spreads the transposing stores over the banks.
  static constexpr int kPad = 4;
  static_assert(TM % 4 == 0 && TN % 4 == 0, "thread tiles are float4 groups");
  static_assert((BM * BK) % kThreads == 0 && (BN * BK) % kThreads == 0, "tiles split evenly over threads");
};

// A thread's share of staging op(X)'s ROWS x BK tile (op(X) is rows x K; X is stored rows x K, or
// K x rows when TRANS), walking the direction that is contiguous in memory so consecutive threads
// read consecutive addresses. THREADS divides the contiguous extent's multiple, so each thread keeps
// one (row, k) start and steps by a fixed amount: load l is (r + l * kRowStep, k + l * kKStep).
template <int ROWS, int BK, int THREADS, bool TRANS>
struct TileWalk {
  static constexpr int kRowStep = TRANS ? THREADS % ROWS : THREADS / BK;
  static constexpr int kKStep = TRANS ? THREADS / ROWS : 0;
  static_assert(TRANS ? THREADS % ROWS == 0 : THREADS % BK == 0, "each thread walks one row or one k");
  __device__ __forceinline__ static int Row(int tid) { return TRANS ? tid % ROWS : tid / BK; }
  __device__ __forceinline__ static int K(int tid) { return TRANS ? tid / ROWS : tid % BK; }
};

// Stages op(X)[r0 + r, k0 + k] (zero outside the matrix) into registers.
template <int ROWS, int BK, int LOADS, int THREADS, bool TRANS>
__device__ __forceinline__ void LoadTile(const float* __restrict__ x, int64_t ld, int rows, int K, int r0, int k0,
                                         int tid, float (&reg)[LOADS]) {
  using Walk = TileWalk<ROWS, BK, THREADS, TRANS>;
  const int r = r0 + Walk::Row(tid), k = k0 + Walk::K(tid);
  const float* p = TRANS ? x + static_cast<int64_t>(k) * ld + r : x + static_cast<int64_t>(r) * ld + k;
  const int64_t step = TRANS ? Walk::kKStep * ld : Walk::kRowStep * ld;
#pragma unroll
  for (int l = 0; l < LOADS; ++l) {
    const bool inside = r + l * Walk::kRowStep < rows && k + l * Walk::kKStep < K;
    reg[l] = inside ? p[l * step] : 0.f;
  }
}

// Writes the staged registers k-major into shared memory: tile[k][r].
template <int ROWS, int BK, int LOADS, int THREADS, bool TRANS, int STRIDE>
__device__ __forceinline__ void StoreTile(float* tile, int tid, const float (&reg)[LOADS]) {
  using Walk = TileWalk<ROWS, BK, THREADS, TRANS>;
  float* p = tile + Walk::K(tid) * STRIDE + Walk::Row(tid);
#pragma unroll
  for (int l = 0; l < LOADS; ++l) p[l * (Walk::kKStep * STRIDE + Walk::kRowStep)] = reg[l];
}

// C_z = epilogue(alpha op(A_z) op(B_z) + beta C_z) for z = blockIdx.z (the host splits batches
// beyond the grid's z limit: a loop over z in here costs registers). blockIdx.x enumerates the (M / BM) x (N / BN)
// output tiles row by row. vec_store: C (and the residual) allow 16-byte stores of column groups.
template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
__global__ void __launch_bounds__((BM / TM) * (BN / TN), 512 / ((BM / TM) * (BN / TN)))
    TiledSgemmKernel(int M, int N, int K, float alpha, const float* __restrict__ A, int64_t lda, int64_t stride_a,
                     const float* __restrict__ B, int64_t ldb, int64_t stride_b, float beta, float* C, int64_t ldc,
                     int64_t stride_c, int tiles_n, Epilogue ep, bool vec_store) {
  using Cfg = TileConfig<BM, BN, BK, TM, TN>;
  constexpr int kThreads = Cfg::kThreads;
  constexpr int kAStride = BM + Cfg::kPad, kBStride = BN + Cfg::kPad;
  __shared__ __align__(16) float a_tile[2][BK * kAStride];
  __shared__ __align__(16) float b_tile[2][BK * kBStride];

  const int tid = threadIdx.x;
  const int tx = tid % Cfg::kThreadCols, ty = tid / Cfg::kThreadCols;
  const int m0 = static_cast<int>(blockIdx.x / tiles_n) * BM;
  const int n0 = static_cast<int>(blockIdx.x % tiles_n) * BN;
  const int k_tiles = (K + BK - 1) / BK;

  {
    const int64_t z = blockIdx.z;
    const float* a = A + z * stride_a;
    const float* b = B + z * stride_b;
    float* c = C + z * stride_c;

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

    float a_reg[Cfg::kALoads], b_reg[Cfg::kBLoads];
    if (k_tiles > 0) {
      LoadTile<BM, BK, Cfg::kALoads, kThreads, TA>(a, lda, M, K, m0, 0, tid, a_reg);
      LoadTile<BN, BK, Cfg::kBLoads, kThreads, !TB>(b, ldb, N, K, n0, 0, tid, b_reg);
      StoreTile<BM, BK, Cfg::kALoads, kThreads, TA, kAStride>(a_tile[0], tid, a_reg);
      StoreTile<BN, BK, Cfg::kBLoads, kThreads, !TB, kBStride>(b_tile[0], tid, b_reg);
    }
    __syncthreads();

    for (int kt = 0; kt < k_tiles; ++kt) {
      const int cur = kt & 1;
      const bool more = kt + 1 < k_tiles;
      // The next tile's global loads are in flight while this one is multiplied.
      if (more) {
        LoadTile<BM, BK, Cfg::kALoads, kThreads, TA>(a, lda, M, K, m0, (kt + 1) * BK, tid, a_reg);
        LoadTile<BN, BK, Cfg::kBLoads, kThreads, !TB>(b, ldb, N, K, n0, (kt + 1) * BK, tid, b_reg);
      }
      const float* as = a_tile[cur];
      const float* bs = b_tile[cur];
#pragma unroll
      for (int k = 0; k < BK; ++k) {
        float af[TM], bf[TN];
#pragma unroll
        for (int g = 0; g < TM / 4; ++g) {
          const float4 v = *reinterpret_cast<const float4*>(as + k * kAStride + g * Cfg::kRowGroupStride + ty * 4);
          af[g * 4 + 0] = v.x, af[g * 4 + 1] = v.y, af[g * 4 + 2] = v.z, af[g * 4 + 3] = v.w;
        }
#pragma unroll
        for (int g = 0; g < TN / 4; ++g) {
          const float4 v = *reinterpret_cast<const float4*>(bs + k * kBStride + g * Cfg::kColGroupStride + tx * 4);
          bf[g * 4 + 0] = v.x, bf[g * 4 + 1] = v.y, bf[g * 4 + 2] = v.z, bf[g * 4 + 3] = v.w;
        }
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(af[i], bf[j], acc[i][j]);
      }
      // The other buffer was last read before the previous barrier, so it is free to fill.
      if (more) {
        StoreTile<BM, BK, Cfg::kALoads, kThreads, TA, kAStride>(a_tile[cur ^ 1], tid, a_reg);
        StoreTile<BN, BK, Cfg::kBLoads, kThreads, !TB, kBStride>(b_tile[cur ^ 1], tid, b_reg);
      }
      __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int row = m0 + (i / 4) * Cfg::kRowGroupStride + ty * 4 + i % 4;
      if (row >= M) continue;
#pragma unroll
      for (int g = 0; g < TN / 4; ++g) {
        const int col = n0 + g * Cfg::kColGroupStride + tx * 4;
        if (vec_store && col + 3 < N) {
          StoreFour(&acc[i][g * 4], alpha, beta, c, row, col, ldc, ep);
        } else {
#pragma unroll
          for (int q = 0; q < 4; ++q)
            if (col + q < N) StoreOne(acc[i][g * 4 + q], alpha, beta, c, row, col + q, ldc, ep);
        }
      }
    }
  }
}

// One warp per output element: for N = 1 or 2 columns (output projections), where a tile would be
// mostly idle. The K loop is coalesced in the Linear layout (A rows and B^T rows contiguous).
constexpr int kDotWarps = 8;

template <bool TA, bool TB>
__global__ void __launch_bounds__(kDotWarps* kWarpSize)
    WarpDotSgemmKernel(int M, int N, int K, float alpha, const float* __restrict__ A, int64_t lda, int64_t stride_a,
                       const float* __restrict__ B, int64_t ldb, int64_t stride_b, float beta, float* C, int64_t ldc,
                       int64_t stride_c, Epilogue ep) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t out = static_cast<int64_t>(blockIdx.x) * kDotWarps + threadIdx.x / kWarpSize;
  if (out >= static_cast<int64_t>(M) * N) return;  // whole warps leave together
  const int i = static_cast<int>(out / N), j = static_cast<int>(out % N);
  {
    const int64_t z = blockIdx.z;
    const float* a = A + z * stride_a;
    const float* b = B + z * stride_b;
    float acc = 0.f;
    for (int k = lane; k < K; k += kWarpSize) {
      const float av = TA ? a[static_cast<int64_t>(k) * lda + i] : a[static_cast<int64_t>(i) * lda + k];
      const float bv = TB ? b[static_cast<int64_t>(j) * ldb + k] : b[static_cast<int64_t>(k) * ldb + j];
      acc = fmaf(av, bv, acc);
    }
    for (int o = kWarpSize / 2; o > 0; o >>= 1) acc += __shfl_xor_sync(kFullMask, acc, o);
    if (lane == 0) StoreOne(acc, alpha, beta, C + z * stride_c, i, j, ldc, ep);
  }
}

// ---- host dispatch ------------------------------------------------------------------------------

struct Problem {
  bool ta, tb;
  int M, N, K;
  float alpha;
  const float* A;
  int64_t lda, stride_a;
  const float* B;
  int64_t ldb, stride_b;
  float beta;
  float* C;
  int64_t ldc, stride_c;
  int64_t batch;
  Epilogue ep;
};

constexpr unsigned kMaxGridZ = 65535;

bool Aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
void LaunchTiledAs(const Problem& p, Stream stream) {
  const int tiles_n = static_cast<int>(CeilDiv(p.N, BN));
  const unsigned tiles = CeilDiv(p.M, BM) * static_cast<unsigned>(tiles_n);
  const dim3 grid(tiles, 1, static_cast<unsigned>(p.batch));
  const bool vec_store = Aligned16(p.C) && p.ldc % 4 == 0 && (p.batch == 1 || p.stride_c % 4 == 0) &&
                         (!p.ep.residual || (Aligned16(p.ep.residual) && p.ep.ldr % 4 == 0));
  Launch(TiledSgemmKernel<BM, BN, BK, TM, TN, TA, TB>, grid, dim3(TileConfig<BM, BN, BK, TM, TN>::kThreads), 0, stream,
         p.M, p.N, p.K, p.alpha, p.A, p.lda, p.stride_a, p.B, p.ldb, p.stride_b, p.beta, p.C, p.ldc, p.stride_c,
         tiles_n, p.ep, vec_store);
}

template <int BM, int BN, int BK, int TM, int TN>
void LaunchTiled(const Problem& p, Stream stream) {
  if (p.ta) {
    p.tb ? LaunchTiledAs<BM, BN, BK, TM, TN, true, true>(p, stream)
         : LaunchTiledAs<BM, BN, BK, TM, TN, true, false>(p, stream);
  } else {
    p.tb ? LaunchTiledAs<BM, BN, BK, TM, TN, false, true>(p, stream)
         : LaunchTiledAs<BM, BN, BK, TM, TN, false, false>(p, stream);
  }
}

template <bool TA, bool TB>
void LaunchWarpDotAs(const Problem& p, Stream stream) {
  const dim3 grid(CeilDiv(static_cast<int64_t>(p.M) * p.N, kDotWarps), 1, static_cast<unsigned>(p.batch));
  Launch(WarpDotSgemmKernel<TA, TB>, grid, dim3(kDotWarps * kWarpSize), 0, stream, p.M, p.N, p.K, p.alpha, p.A, p.lda,
         p.stride_a, p.B, p.ldb, p.stride_b, p.beta, p.C, p.ldc, p.stride_c, p.ep);
}

int MultiprocessorCount() {
#if defined(__CUDACC__)
  static std::atomic<int> cached[16];
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= 16) return 132;
  int n = cached[device].load(std::memory_order_relaxed);
  if (n == 0) {
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || n <= 0) n = 132;
    cached[device].store(n, std::memory_order_relaxed);
  }
  return n;
#else
  return 8;  // the emulator: small, so modest test shapes reach the large-tile kernels
#endif
}

// The largest tile that still keeps about 8 warps on every multiprocessor (a 128 x 128 block has 8,
// the others 4); skinny problems (the seed model's M = 384, N = 32) get the 32 x 32 tile, N <= 2 one
// warp per output. p.batch <= kMaxGridZ.
void LaunchTiledChunk(const Problem& p, Stream stream) {
  if (p.N <= 2) {
    if (p.ta) {
      p.tb ? LaunchWarpDotAs<true, true>(p, stream) : LaunchWarpDotAs<true, false>(p, stream);
    } else {
      p.tb ? LaunchWarpDotAs<false, true>(p, stream) : LaunchWarpDotAs<false, false>(p, stream);
    }
    return;
  }
  const int64_t sms = MultiprocessorCount();
  auto blocks = [&](int bm, int bn) { return int64_t{CeilDiv(p.M, bm)} * CeilDiv(p.N, bn) * p.batch; };
  if (p.M >= 128 && p.N >= 128 && blocks(128, 128) >= 2 * sms) return LaunchTiled<128, 128, 8, 8, 8>(p, stream);
  if (p.M >= 128 && p.N >= 64 && 2 * blocks(128, 64) >= 3 * sms) return LaunchTiled<128, 64, 8, 8, 8>(p, stream);
  if (p.M > 32 && p.N > 32) return LaunchTiled<64, 64, 8, 8, 4>(p, stream);
  LaunchTiled<32, 32, 16, 4, 4>(p, stream);
}

void LaunchTiledSgemm(const Problem& p, Stream stream) {
  for (int64_t z0 = 0; z0 < p.batch; z0 += kMaxGridZ) {
    Problem chunk = p;
    chunk.A += z0 * p.stride_a, chunk.B += z0 * p.stride_b, chunk.C += z0 * p.stride_c;
    chunk.batch = std::min<int64_t>(p.batch - z0, kMaxGridZ);
    LaunchTiledChunk(chunk, stream);
  }
}

// ---- cuBLAS -------------------------------------------------------------------------------------

std::atomic<int> g_precision{static_cast<int>(GemmPrecision::kFp32)};

#if defined(INFORMER_HAVE_CUBLAS) && defined(__CUDACC__)
// One handle per host thread (cuBLAS handles are not meant to be shared across threads), created
// on first use; null when creation failed, and then everything runs on the tiled kernel.
cublasHandle_t ThreadHandle() {
  struct Holder {
    cublasHandle_t handle = nullptr;
    bool tried = false;
    ~Holder() {
      if (handle) cublasDestroy(handle);
    }
  };
  thread_local Holder holder;
  if (!holder.tried) {
    holder.tried = true;
    if (cublasCreate(&holder.handle) != CUBLAS_STATUS_SUCCESS) holder.handle = nullptr;
  }
  return holder.handle;
}

cublasComputeType_t ComputeType() {
  switch (static_cast<GemmPrecision>(g_precision.load(std::memory_order_relaxed))) {
    case GemmPrecision::kTf32:
      return CUBLAS_COMPUTE_32F_FAST_TF32;
    case GemmPrecision::kBf16:
      return CUBLAS_COMPUTE_32F_FAST_16BF;
    default:
      return CUBLAS_COMPUTE_32F;
  }
}

bool FitsInt(int64_t v) { return v >= 0 && v <= INT_MAX; }

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: the same buffers with the
// operands swapped and the transposes kept. False when cuBLAS cannot take it (the caller falls back).
bool CublasProduct(const Problem& p, Stream stream) {
  if (!FitsInt(p.lda) || !FitsInt(p.ldb) || !FitsInt(p.ldc) || !FitsInt(p.batch)) return false;
  cublasHandle_t handle = ThreadHandle();
  if (!handle || cublasSetStream(handle, stream) != CUBLAS_STATUS_SUCCESS) return false;
  const cublasOperation_t op_b = p.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = p.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasStatus_t st;
  if (p.batch == 1) {
    st = cublasGemmEx(handle, op_b, op_a, p.N, p.M, p.K, &p.alpha, p.B, CUDA_R_32F, static_cast<int>(p.ldb), p.A,
                      CUDA_R_32F, static_cast<int>(p.lda), &p.beta, p.C, CUDA_R_32F, static_cast<int>(p.ldc),
                      ComputeType(), CUBLAS_GEMM_DEFAULT);
  } else {
    st = cublasGemmStridedBatchedEx(handle, op_b, op_a, p.N, p.M, p.K, &p.alpha, p.B, CUDA_R_32F,
                                    static_cast<int>(p.ldb), p.stride_b, p.A, CUDA_R_32F, static_cast<int>(p.lda),
                                    p.stride_a, &p.beta, p.C, CUDA_R_32F, static_cast<int>(p.ldc), p.stride_c,
                                    static_cast<int>(p.batch), ComputeType(), CUBLAS_GEMM_DEFAULT);
  }
  return st == CUBLAS_STATUS_SUCCESS;
}

// C = act(C + bias) + residual in place, after cuBLAS wrote alpha op(A) op(B) + beta C into C.
__global__ void ApplyEpilogueKernel(int M, int N, float* C, int64_t ldc, Epilogue ep) {
  const int64_t total = static_cast<int64_t>(M) * N;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = idx / N, j = idx % N;
    StoreOne(C[i * ldc + j], 1.f, 0.f, C, i, j, ldc, ep);
  }
}

void LaunchApplyEpilogue(const Problem& p, Stream stream) {
  const int64_t total = static_cast<int64_t>(p.M) * p.N;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(CeilDiv(total, 256), 65536));
  Launch(ApplyEpilogueKernel, dim3(blocks), dim3(256), 0, stream, p.M, p.N, p.C, p.ldc, p.ep);
}

// Whether the residual's rows [M, ldr] and C's rows [M, ldc] share memory.
bool ResidualOverlapsC(const Problem& p) {
  if (!p.ep.residual) return false;
  const float* r_end = p.ep.residual + (p.M - 1) * p.ep.ldr + p.N;
  const float* c_end = p.C + (p.M - 1) * p.ldc + p.N;
  return p.ep.residual < c_end && p.C < r_end;
}
#endif

void Run(const Problem& p, Stream stream) {
#if defined(INFORMER_HAVE_CUBLAS) && defined(__CUDACC__)
  // K == 0 needs no product; a residual stored in C must be read before the product overwrites C,
  // which only the fused tiled kernel guarantees.
  if (p.K > 0 && !ResidualOverlapsC(p) && CublasProduct(p, stream)) {
    if (p.ep.bias || p.ep.residual || p.ep.act != static_cast<int>(Activation::kNone)) LaunchApplyEpilogue(p, stream);
    return;
  }
#endif
  LaunchTiledSgemm(p, stream);
}

// Rows / columns per launch (int indexing inside the kernels with room for a tile past the end).
// K is taken as it comes: a K beyond 2^31 would mean rows of A or B larger than 8 GiB.
constexpr int64_t kMaxDim = int64_t{1} << 30;

}  // namespace

void Sgemm(Stream stream, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const GemmEpilogue& epilogue) {
  if (M <= 0 || N <= 0) return;
  if (M > kMaxDim || N > kMaxDim) {  // the kernels index rows and columns with int: blocks of C
    for (int64_t m0 = 0; m0 < M; m0 += kMaxDim)
      for (int64_t n0 = 0; n0 < N; n0 += kMaxDim) {
        GemmEpilogue e = epilogue;
        if (e.bias) e.bias += n0;
        if (e.residual) e.residual += m0 * e.ldr + n0;
        Sgemm(stream, trans_a, trans_b, std::min(kMaxDim, M - m0), std::min(kMaxDim, N - n0), K, alpha,
              trans_a ? A + m0 : A + m0 * lda, lda, trans_b ? B + n0 * ldb : B + n0, ldb, beta, C + m0 * ldc + n0, ldc,
              e);
      }
    return;
  }
  // alpha == 0 or K == 0: C = act(beta C + bias) + residual without reading A or B (as on the CPU).
  if (alpha == 0.f) K = 0;
  const bool has_epilogue = epilogue.bias || epilogue.residual || epilogue.act != Activation::kNone;
  if (K <= 0 && beta == 1.f && !has_epilogue) return;  // C stays as it is (e.g. dW += dy^T x over 0 rows)
  const Problem p{trans_a,
                  trans_b,
                  static_cast<int>(M),
                  static_cast<int>(N),
                  static_cast<int>(std::max<int64_t>(K, 0)),
                  alpha,
                  A,
                  lda,
                  0,
                  B,
                  ldb,
                  0,
                  beta,
                  C,
                  ldc,
                  0,
                  1,
                  ToKernelEpilogue(epilogue)};
  Run(p, stream);
}

void SgemmStridedBatched(Stream stream, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b,
                         float beta, float* C, int64_t ldc, int64_t stride_c, int64_t batch) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  if (alpha == 0.f) K = 0;
  if (K <= 0 && beta == 1.f) return;
  const Problem p{trans_a,
                  trans_b,
                  static_cast<int>(M),
                  static_cast<int>(N),
                  static_cast<int>(std::max<int64_t>(K, 0)),
                  alpha,
                  A,
                  lda,
                  stride_a,
                  B,
                  ldb,
                  stride_b,
                  beta,
                  C,
                  ldc,
                  stride_c,
                  batch,
                  Epilogue{nullptr, nullptr, 0, static_cast<int>(Activation::kNone)}};
  Run(p, stream);
}

void SetGemmPrecision(GemmPrecision p) { g_precision.store(static_cast<int>(p), std::memory_order_relaxed); }

GemmPrecision GetGemmPrecision() { return static_cast<GemmPrecision>(g_precision.load(std::memory_order_relaxed)); }

const char* GemmBackendName() {
#if defined(INFORMER_HAVE_CUBLAS) && defined(__CUDACC__)
  return "cublas";
#else
  return "tiled";
#endif
}

}  // namespace informer::cuda
