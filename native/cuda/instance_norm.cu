// Instance normalisation of forecasting windows (contract: cuda/instance_norm.h). The tensors are
// small ([B, L, C] windows with a handful of channels), so the kernels are simple: statistics one
// thread per (window, channel), element-wise maps over a grid-stride loop, and parameter gradients
// one block per channel reducing its B * L terms through shared memory in a fixed tree.
#include "cuda/instance_norm.h"

#include <cstdint>

#include "cuda/compat.h"

namespace informer::cuda {
namespace {

constexpr int kThreads = 256;
constexpr unsigned kMaxBlocks = 4096;  // grid-stride loops cover the rest
constexpr float kEps2 = kRevinEps * kRevinEps;

unsigned Blocks(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < kMaxBlocks ? b : kMaxBlocks);
}

// Fixed-tree block sum of two doubles per thread (blockDim.x == kThreads); thread 0 gets the totals.
__device__ __forceinline__ void BlockSum2(double& a, double& b, double (*red)[kThreads]) {
  red[0][threadIdx.x] = a;
  red[1][threadIdx.x] = b;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (static_cast<int>(threadIdx.x) < s) {
      red[0][threadIdx.x] += red[0][threadIdx.x + s];
      red[1][threadIdx.x] += red[1][threadIdx.x + s];
    }
    __syncthreads();
  }
  a = red[0][0];
  b = red[1][0];
}

__global__ void __launch_bounds__(kThreads)
    WindowStatsKernel(int kind, int64_t B, int64_t L, int64_t C, const float* x, float* center, float* scale) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < B * C; i += stride) {
    const int64_t b = i / C, c = i % C;
    const float* xb = x + b * L * C + c;
    if (kind == static_cast<int>(WindowStatsKind::kLast)) {
      center[i] = xb[(L - 1) * C];
      scale[i] = 1.f;
      continue;
    }
    double sum = 0.0;
    for (int64_t t = 0; t < L; ++t) sum += xb[t * C];
    const double mean = sum / static_cast<double>(L);
    double sq = 0.0;
    for (int64_t t = 0; t < L; ++t) {
      const double d = xb[t * C] - mean;
      sq += d * d;
    }
    center[i] = static_cast<float>(mean);
    scale[i] = static_cast<float>(sqrt(sq / static_cast<double>(L) + kRevinEps));
  }
}

__global__ void __launch_bounds__(kThreads)
    NormForwardKernel(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                      const float* scale, const float* weight, const float* bias, float* out) {
  const int64_t n = B * L * C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t c = i % C, t = (i / C) % L, b = i / (L * C);
    if (t >= L_norm) {
      out[i] = x[i];
      continue;
    }
    const float z = (x[i] - center[b * C + c]) / scale[b * C + c];
    out[i] = weight ? z * weight[c] + bias[c] : z;
  }
}

// One block per channel c: the affine's gradients over the normalised steps of every window.
__global__ void __launch_bounds__(kThreads)
    NormBackwardKernel(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                       const float* scale, const float* dy, float* d_weight, float* d_bias) {
  __shared__ double red[2][kThreads];
  const int64_t c = blockIdx.x;
  double dw = 0.0, db = 0.0;
  for (int64_t k = threadIdx.x; k < B * L_norm; k += kThreads) {
    const int64_t b = k / L_norm, t = k % L_norm, i = (b * L + t) * C + c;
    dw += static_cast<double>(dy[i]) * ((x[i] - center[b * C + c]) / scale[b * C + c]);
    db += dy[i];
  }
  BlockSum2(dw, db, red);
  if (threadIdx.x == 0) {
    d_weight[c] += static_cast<float>(dw);
    d_bias[c] += static_cast<float>(db);
  }
}

__global__ void __launch_bounds__(kThreads)
    DenormForwardKernel(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y, const float* center,
                        const float* scale, const float* weight, const float* bias, float* out) {
  const int64_t n = B * L * C_out, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t j = i % C_out, b = i / (L * C_out), m = C_in - C_out + j;
    const float z = weight ? (y[i] - bias[m]) / (weight[m] + kEps2) : y[i];
    out[i] = z * scale[b * C_in + m] + center[b * C_in + m];
  }
}

// One block per output channel j: dy for its elements, and the affine's gradients at channel m.
__global__ void __launch_bounds__(kThreads)
    DenormBackwardKernel(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y, const float* scale,
                         const float* weight, const float* bias, const float* d_out, float* dy, float* d_weight,
                         float* d_bias) {
  __shared__ double red[2][kThreads];
  const int64_t j = blockIdx.x, m = C_in - C_out + j;
  const float inv_w = weight ? 1.f / (weight[m] + kEps2) : 1.f;
  double dw = 0.0, db = 0.0;
  for (int64_t k = threadIdx.x; k < B * L; k += kThreads) {
    const int64_t b = k / L, i = k * C_out + j;
    const float g = d_out[i] * scale[b * C_in + m];
    if (weight) {
      dw -= static_cast<double>(g) * (y[i] - bias[m]) * inv_w * inv_w;
      db -= static_cast<double>(g) * inv_w;
    }
    dy[i] = g * inv_w;
  }
  if (!weight) return;  // uniform across the block: no thread is left waiting at a barrier
  BlockSum2(dw, db, red);
  if (threadIdx.x == 0) {
    d_weight[m] += static_cast<float>(dw);
    d_bias[m] += static_cast<float>(db);
  }
}

}  // namespace

void WindowStatsForward(Stream stream, WindowStatsKind kind, int64_t B, int64_t L, int64_t C, const float* x,
                        float* center, float* scale) {
  if (B <= 0 || L <= 0 || C <= 0) return;
  Launch(WindowStatsKernel, dim3(Blocks(B * C)), dim3(kThreads), 0, stream, static_cast<int>(kind), B, L, C, x, center,
         scale);
}

void InstanceNormForward(Stream stream, int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x,
                         const float* center, const float* scale, const float* weight, const float* bias, float* out) {
  if (B <= 0 || L <= 0 || C <= 0) return;
  Launch(NormForwardKernel, dim3(Blocks(B * L * C)), dim3(kThreads), 0, stream, B, L, L_norm, C, x, center, scale,
         weight, bias, out);
}

void InstanceNormBackward(Stream stream, int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x,
                          const float* center, const float* scale, const float* dy, float* d_weight, float* d_bias) {
  if (B <= 0 || L_norm <= 0 || C <= 0) return;
  Launch(NormBackwardKernel, dim3(static_cast<unsigned>(C)), dim3(kThreads), 0, stream, B, L, L_norm, C, x, center,
         scale, dy, d_weight, d_bias);
}

void InstanceDenormForward(Stream stream, int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y,
                           const float* center, const float* scale, const float* weight, const float* bias,
                           float* out) {
  if (B <= 0 || L <= 0 || C_out <= 0) return;
  Launch(DenormForwardKernel, dim3(Blocks(B * L * C_out)), dim3(kThreads), 0, stream, B, L, C_out, C_in, y, center,
         scale, weight, bias, out);
}

void InstanceDenormBackward(Stream stream, int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y,
                            const float* center, const float* scale, const float* weight, const float* bias,
                            const float* d_out, float* dy, float* d_weight, float* d_bias) {
  if (B <= 0 || L <= 0 || C_out <= 0) return;
  Launch(DenormBackwardKernel, dim3(static_cast<unsigned>(C_out)), dim3(kThreads), 0, stream, B, L, C_out, C_in, y,
         scale, weight, bias, d_out, dy, d_weight, d_bias);
}

}  // namespace informer::cuda
