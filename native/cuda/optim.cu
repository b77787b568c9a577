// MSE loss (forward and gradient in one pass) and the Adam step on the GPU (see optim.h).
#include "cuda/optim.h"

#include <algorithm>
#include <cmath>

#include "cuda/compat.h"

namespace informer::cuda {
namespace {

constexpr int kThreads = 256;             // every kernel here; the block reductions assume it
constexpr int kMseItemsPerThread = 8;     // before a second block is worth it
constexpr int64_t kMseMaxBlocks = 1024;   // partial sums; ~ what fills an H100 with 256-thread blocks
constexpr int64_t kAdamMaxBlocks = 4096;  // grid-stride beyond

// Plain float arithmetic in the CPU kernel's order with no fused multiply-adds: nvcc contracts a*b + c
// into an FMA by default, which rounds differently from the CPU build (compiled without FMA), so the
// Adam update uses the explicitly rounded intrinsics to give the CPU's bits.
#if defined(__CUDACC__)
__device__ __forceinline__ float Mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float Add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float Sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float Div(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ float Sqrt(float a) { return __fsqrt_rn(a); }
#else
inline float Mul(float a, float b) { return a * b; }
inline float Add(float a, float b) { return a + b; }
inline float Sub(float a, float b) { return a - b; }
inline float Div(float a, float b) { return a / b; }
inline float Sqrt(float a) { return std::sqrt(a); }
#endif

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Sum over a kThreads block in a fixed tree (shuffles within warps, then warp 0 over the warp sums);
// the result is valid in thread 0.
__device__ __forceinline__ double BlockSum(double v) {
  __shared__ double warp_sums[kThreads / kWarpSize];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  for (int o = kWarpSize / 2; o > 0; o >>= 1) v += __shfl_down_sync(kFullMask, v, o);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kThreads / kWarpSize ? warp_sums[lane] : 0.0;
    for (int o = kWarpSize / 2; o > 0; o >>= 1) v += __shfl_down_sync(kFullMask, v, o);
  }
  return v;
}

__device__ __forceinline__ double SquaredError(float p, float t, float scale, float& d) {
  const float diff = p - t;
  d = scale * diff;                         // as the CPU: 2 / n rounded to float first, then one float product
  return static_cast<double>(diff) * diff;  // exact in double
}

// Stage 1: block b writes partials[b], the double sum of its threads' squared errors, and d_pred
// (optional, as on the CPU). The grid size depends on n only and each thread's elements and the
// tree are fixed, so the loss is deterministic run to run. kVec: pred, target, d_pred 16-byte aligned.
template <bool kVec>
__global__ void MsePartialKernel(int64_t n, const float* pred, const float* target, float scale, float* d_pred,
                                 double* partials) {
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  double sum = 0.0;
  int64_t scalar_from = 0;
  if (kVec) {
    const int64_t n4 = n / 4;
    const float4* p4 = reinterpret_cast<const float4*>(pred);
    const float4* t4 = reinterpret_cast<const float4*>(target);
    for (int64_t i = first; i < n4; i += stride) {
      const float4 p = p4[i], t = t4[i];
      float4 d;
      sum += SquaredError(p.x, t.x, scale, d.x);
      sum += SquaredError(p.y, t.y, scale, d.y);
      sum += SquaredError(p.z, t.z, scale, d.z);
      sum += SquaredError(p.w, t.w, scale, d.w);
      if (d_pred) reinterpret_cast<float4*>(d_pred)[i] = d;
    }
    scalar_from = n4 * 4;  // the < 4 tail elements
  }
  for (int64_t i = scalar_from + first; i < n; i += stride) {
    float d;
    sum += SquaredError(pred[i], target[i], scale, d);
    if (d_pred) d_pred[i] = d;
  }
  sum = BlockSum(sum);
  if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

// Stage 2 (one block): loss = (sum of the partials, fixed order) / n.
__global__ void MseFinalizeKernel(int64_t blocks, int64_t n, const double* partials, double* loss) {
  double sum = 0.0;
  for (int64_t b = threadIdx.x; b < blocks; b += blockDim.x) sum += partials[b];
  sum = BlockSum(sum);
  if (threadIdx.x == 0) *loss = sum / static_cast<double>(n);
}

int64_t MseBlocks(int64_t n) {
  return std::clamp<int64_t>(CeilDiv(n, static_cast<int64_t>(kThreads) * kMseItemsPerThread), 1, kMseMaxBlocks);
}

// The per-step constants, computed on the host exactly as the CPU kernel does (bias corrections in
// double, then rounded to float).
struct AdamStep {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay;
  float step_size;  // lr / bc1
  float bc2_sqrt;   // sqrt(bc2)
};

// One parameter, operation for operation as kernels/cpu/optim.cc.
__device__ __forceinline__ void AdamElement(const AdamStep& s, float g, float& p, float& m, float& v) {
  if (s.weight_decay != 0.f) g = Add(g, Mul(s.weight_decay, p));
  m = Add(Mul(s.beta1, m), Mul(s.one_minus_beta1, g));
  v = Add(Mul(s.beta2, v), Mul(Mul(s.one_minus_beta2, g), g));
  p = Sub(p, Div(Mul(s.step_size, m), Add(Div(Sqrt(v), s.bc2_sqrt), s.eps)));
}

// Memory-bound: 4 loads and 3 stores per parameter, as float4 when all four arrays are 16-byte
// aligned (kVec), grid-stride.
template <bool kVec>
__global__ void AdamKernel(int64_t n, AdamStep s, const float* grad, float* param, float* m, float* v) {
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t scalar_from = 0;
  if (kVec) {
    const int64_t n4 = n / 4;
    const float4* g4 = reinterpret_cast<const float4*>(grad);
    float4* p4 = reinterpret_cast<float4*>(param);
    float4* m4 = reinterpret_cast<float4*>(m);
    float4* v4 = reinterpret_cast<float4*>(v);
    for (int64_t i = first; i < n4; i += stride) {
      const float4 g = g4[i];
      float4 p = p4[i], mm = m4[i], vv = v4[i];
      AdamElement(s, g.x, p.x, mm.x, vv.x);
      AdamElement(s, g.y, p.y, mm.y, vv.y);
      AdamElement(s, g.z, p.z, mm.z, vv.z);
      AdamElement(s, g.w, p.w, mm.w, vv.w);
      p4[i] = p, m4[i] = mm, v4[i] = vv;
    }
    scalar_from = n4 * 4;
  }
  for (int64_t i = scalar_from + first; i < n; i += stride) AdamElement(s, grad[i], param[i], m[i], v[i]);
}

}  // namespace

int64_t MseWorkspaceDoubles(int64_t n) { return MseBlocks(n); }

// n == 0 launches nothing and leaves *loss as it was (the CPU kernel would return 0 / 0).
void MseForwardBackward(Stream stream, int64_t n, const float* pred, const float* target, float* d_pred, double* loss,
                        double* workspace) {
  if (n <= 0) return;
  const int64_t blocks = MseBlocks(n);
  const float scale = 2.f / static_cast<float>(n);
  const bool vec = Aligned16(pred) && Aligned16(target) && (d_pred == nullptr || Aligned16(d_pred));
  if (vec) {
    Launch(MsePartialKernel<true>, dim3(static_cast<unsigned>(blocks)), dim3(kThreads), 0, stream, n, pred, target,
           scale, d_pred, workspace);
  } else {
    Launch(MsePartialKernel<false>, dim3(static_cast<unsigned>(blocks)), dim3(kThreads), 0, stream, n, pred, target,
           scale, d_pred, workspace);
  }
  Launch(MseFinalizeKernel, dim3(1), dim3(kThreads), 0, stream, blocks, n, workspace, loss);
}

void AdamUpdate(Stream stream, int64_t n, const AdamConfig& c, int64_t t, const float* grad, float* param, float* m,
                float* v) {
  if (n <= 0) return;
  const double bc1 = 1.0 - std::pow(static_cast<double>(c.beta1), static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(static_cast<double>(c.beta2), static_cast<double>(t));
  AdamStep s;
  s.beta1 = c.beta1, s.one_minus_beta1 = 1.f - c.beta1;
  s.beta2 = c.beta2, s.one_minus_beta2 = 1.f - c.beta2;
  s.eps = c.eps, s.weight_decay = c.weight_decay;
  s.step_size = static_cast<float>(c.lr / bc1);
  s.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const bool vec = Aligned16(grad) && Aligned16(param) && Aligned16(m) && Aligned16(v);
  const int64_t units = vec ? CeilDiv(n, 4) : n;
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>(CeilDiv(units, kThreads), kAdamMaxBlocks)));
  if (vec) {
    Launch(AdamKernel<true>, grid, dim3(kThreads), 0, stream, n, s, grad, param, m, v);
  } else {
    Launch(AdamKernel<false>, grid, dim3(kThreads), 0, stream, n, s, grad, param, m, v);
  }
}

}  // namespace informer::cuda
