// Linear layers y = x W^T + b on the GPU (contract of cuda/linear.h): the products go through
// Sgemm (bias, activation and residual fused into its epilogue); the bias gradient is a
// deterministic column reduction.
#include <algorithm>
#include <cstdint>

#include "cuda/compat.h"
#include "cuda/gemm.h"
#include "cuda/linear.h"

namespace informer::cuda {
namespace {

// A block sums kSumCols adjacent columns: each warp walks every kSumRowThreads-th row (a warp reads
// one contiguous 128-byte row segment per step), then the per-warp partials are added in a fixed
// order through shared memory, so the result does not depend on scheduling (no atomics).
constexpr int kSumCols = 32;
constexpr int kSumRowThreads = 16;

__global__ void __launch_bounds__(kSumCols* kSumRowThreads)
    AddColumnSumsKernel(int64_t rows, int64_t n, const float* __restrict__ dy, float* __restrict__ db) {
  __shared__ float partial[kSumRowThreads][kSumCols + 1];
  const int tx = threadIdx.x % kSumCols, ty = threadIdx.x / kSumCols;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kSumCols + tx;
  float sum = 0.f;
  if (j < n) {
    // Two independent chains keep two loads in flight per thread.
    float s0 = 0.f, s1 = 0.f;
    int64_t r = ty;
    for (; r + kSumRowThreads < rows; r += 2 * kSumRowThreads) {
      s0 += dy[r * n + j];
      s1 += dy[(r + kSumRowThreads) * n + j];
    }
    if (r < rows) s0 += dy[r * n + j];
    sum = s0 + s1;
  }
  partial[ty][tx] = sum;
  __syncthreads();
  if (ty == 0 && j < n) {
    float total = 0.f;
#pragma unroll
    for (int q = 0; q < kSumRowThreads; ++q) total += partial[q][tx];
    db[j] += total;
  }
}

}  // namespace

void LinearForward(Stream stream, int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* b,
                   float* y, Activation act, const float* residual) {
  GemmEpilogue ep;
  ep.bias = b;
  ep.act = act;
  ep.residual = residual;
  ep.ldr = out;
  Sgemm(stream, false, true, rows, out, in, 1.f, x, in, w, in, 0.f, y, out, ep);
}

void AddColumnSums(Stream stream, int64_t rows, int64_t n, const float* dy, float* db) {
  if (rows <= 0 || n <= 0) return;
  Launch(AddColumnSumsKernel, dim3(CeilDiv(n, kSumCols)), dim3(kSumCols * kSumRowThreads), 0, stream, rows, n, dy, db);
}

void LinearBackward(Stream stream, int64_t rows, int64_t in, int64_t out, const float* x, const float* w,
                    const float* dy, float* dx, bool accumulate_dx, float* dw, float* db) {
  // Stream order puts dw before dx, so dx may overwrite x.
  if (dw) Sgemm(stream, true, false, out, in, rows, 1.f, dy, out, x, in, 1.f, dw, in);
  if (db) AddColumnSums(stream, rows, out, dy, db);
  if (dx) Sgemm(stream, false, false, rows, in, out, 1.f, dy, out, w, in, accumulate_dx ? 1.f : 0.f, dx, in);
}

}  // namespace informer::cuda
