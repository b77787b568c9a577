// The circular kernel-3 Conv1d on the GPU (contract of cuda/conv.h): im2col into [B*L, 3*C_in]
// (column c*3+k holds x[b, (t-1+k) mod L, c], matching weight [C_out, C_in, 3]) and a GEMM; the
// backward runs the Linear backward on the columns and gathers them back (col2im).
#include <algorithm>
#include <cstdint>

#include "cuda/compat.h"
#include "cuda/conv.h"
#include "cuda/gemm.h"
#include "cuda/linear.h"

namespace informer::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;  // grid-stride beyond this

dim3 GridFor(int64_t total) {
  return dim3(static_cast<unsigned>(std::min<int64_t>(CeilDiv(total, kThreads), kMaxBlocks)));
}

// One thread per column entry: writes are coalesced, the three reads of x per (t, c) hit cache.
__global__ void CircularIm2Col3Kernel(int64_t B, int64_t L, int64_t C, const float* __restrict__ x,
                                      float* __restrict__ cols) {
  const int64_t width = 3 * C, total = B * L * width;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = idx / width, rem = idx - row * width;
    const int64_t c = rem / 3, k = rem - c * 3;
    const int64_t t = row % L, first = row - t;  // first row of this sequence
    int64_t src = t + k - 1;
    src = src < 0 ? src + L : (src >= L ? src - L : src);
    cols[idx] = x[(first + src) * C + c];
  }
}

// col2im as a gather: dx[b, s, c] += the three column entries that read x[b, s, c], i.e. tap 0 of
// row s+1, tap 1 of row s and tap 2 of row s-1 (mod L). Each output is owned by one thread, so the
// sum is deterministic without atomics.
__global__ void CircularCol2Im3Kernel(int64_t B, int64_t L, int64_t C, const float* __restrict__ d_cols,
                                      float* __restrict__ dx) {
  const int64_t width = 3 * C, total = B * L * C;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = idx / C, c = idx - row * C;
    const int64_t s = row % L, first = row - s;
    const int64_t next = first + (s + 1 == L ? 0 : s + 1), prev = first + (s == 0 ? L - 1 : s - 1);
    dx[idx] += d_cols[next * width + c * 3] + d_cols[row * width + c * 3 + 1] + d_cols[prev * width + c * 3 + 2];
  }
}

}  // namespace

void CircularIm2Col3(Stream stream, int64_t B, int64_t L, int64_t C, const float* x, float* cols) {
  const int64_t total = B * L * 3 * C;
  if (total <= 0) return;
  Launch(CircularIm2Col3Kernel, GridFor(total), dim3(kThreads), 0, stream, B, L, C, x, cols);
}

void CircularConv3Forward(Stream stream, int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* x,
                          const float* weight, const float* bias, float* cols, float* out) {
  CircularIm2Col3(stream, B, L, C_in, x, cols);
  GemmEpilogue ep;
  ep.bias = bias;
  Sgemm(stream, false, true, B * L, C_out, 3 * C_in, 1.f, cols, 3 * C_in, weight, 3 * C_in, 0.f, out, C_out, ep);
}

void CircularConv3Backward(Stream stream, int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* cols,
                           const float* weight, const float* dy, float* d_cols, float* dx, float* dweight,
                           float* dbias) {
  LinearBackward(stream, B * L, 3 * C_in, C_out, cols, weight, dy, dx ? d_cols : nullptr, false, dweight, dbias);
  const int64_t total = B * L * C_in;
  if (!dx || total <= 0) return;
  Launch(CircularCol2Im3Kernel, GridFor(total), dim3(kThreads), 0, stream, B, L, C_in, d_cols, dx);
}

}  // namespace informer::cuda
