// Element-wise kernels on the GPU (contract: cuda/pointwise.h; numerics of kernels/cpu/pointwise.cc
// and the exact GELU of core/gemm.cc).
//
// Flat element-wise ops share one grid-stride kernel over a small functor: float4 quads while every
// pointer is 16-byte aligned (byte masks 4-byte aligned), then the tail one element at a time.
// MaxPool and Add2D walk (rows x 32 columns) tiles so each warp reads a contiguous channel segment.
#include "cuda/pointwise.h"

#include <cstdint>
#include <initializer_list>

#include "cuda/compat.h"
#include "cuda/device_random.h"

namespace informer::cuda {
namespace {

constexpr int kThreads = 256;
constexpr unsigned kMaxBlocks = 4096;  // grid-stride loops cover the rest
constexpr int kTileCols = 32;          // (columns x rows) tiles of the row-structured kernels
constexpr int kTileRows = 8;
constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

bool Aligned(std::initializer_list<const void*> ptrs, uintptr_t bytes) {
  for (const void* p : ptrs)
    if (reinterpret_cast<uintptr_t>(p) % bytes != 0) return false;
  return true;
}

__device__ __forceinline__ float4 Load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ void Store4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }

// ---- the flat element-wise launcher ----------------------------------------------------------

// Op provides One(i) for element i and Quad(i) for elements i..i+3 (i a multiple of 4).
template <class Op>
__global__ void __launch_bounds__(kThreads) ElementwiseKernel(int64_t n, Op op, bool quads) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t done = 0;
  if (quads) {
    const int64_t n4 = n / 4;
    for (int64_t q = first; q < n4; q += stride) op.Quad(4 * q);
    done = 4 * n4;
  }
  for (int64_t i = done + first; i < n; i += stride) op.One(i);
}

template <class Op>
void LaunchElementwise(Stream stream, int64_t n, const Op& op, bool quads) {
  if (n <= 0) return;
  const int64_t work = quads ? (n + 3) / 4 : n;
  const int64_t blocks = (work + kThreads - 1) / kThreads;
  const unsigned grid = static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
  Launch(ElementwiseKernel<Op>, dim3(grid), dim3(kThreads), 0, stream, n, op, quads);
}

// ---- ELU -------------------------------------------------------------------------------------

__device__ __forceinline__ float Elu(float v) { return v > 0.f ? v : expm1f(v); }
__device__ __forceinline__ float EluSlope(float v) { return v > 0.f ? 1.f : expf(v); }

struct EluForwardOp {
  const float* x;
  float* out;
  __device__ void One(int64_t i) const { out[i] = Elu(x[i]); }
  __device__ void Quad(int64_t i) const {
    const float4 v = Load4(x + i);
    Store4(out + i, make_float4(Elu(v.x), Elu(v.y), Elu(v.z), Elu(v.w)));
  }
};

struct EluBackwardOp {
  const float* x;
  const float* dy;
  float* dx;
  __device__ void One(int64_t i) const { dx[i] += dy[i] * EluSlope(x[i]); }
  __device__ void Quad(int64_t i) const {
    const float4 v = Load4(x + i), g = Load4(dy + i);
    float4 d = Load4(dx + i);
    d.x += g.x * EluSlope(v.x), d.y += g.y * EluSlope(v.y), d.z += g.z * EluSlope(v.z), d.w += g.w * EluSlope(v.w);
    Store4(dx + i, d);
  }
};

// ---- dropout ---------------------------------------------------------------------------------

// x *= keep * scale as the CPU writes it (a dropped infinity becomes NaN there too).
struct DropoutForwardOp {
  float* x;
  uint8_t* keep;
  float p, scale;
  uint64_t seed, offset;
  __device__ bool Keep(int64_t i) const { return DropoutKeep(seed, offset + static_cast<uint64_t>(i), p); }
  __device__ void One(int64_t i) const {
    const bool k = Keep(i);
    x[i] *= static_cast<float>(k) * scale;
    if (keep) keep[i] = k ? 1 : 0;
  }
  __device__ void Quad(int64_t i) const {
    const bool k0 = Keep(i), k1 = Keep(i + 1), k2 = Keep(i + 2), k3 = Keep(i + 3);
    float4 v = Load4(x + i);
    v.x *= static_cast<float>(k0) * scale, v.y *= static_cast<float>(k1) * scale;
    v.z *= static_cast<float>(k2) * scale, v.w *= static_cast<float>(k3) * scale;
    Store4(x + i, v);
    // Four mask bytes in one 32-bit store (little-endian: byte e is element i + e).
    if (keep)
      *reinterpret_cast<uint32_t*>(keep + i) = static_cast<uint32_t>(k0) | static_cast<uint32_t>(k1) << 8 |
                                               static_cast<uint32_t>(k2) << 16 | static_cast<uint32_t>(k3) << 24;
  }
};

struct DropoutBackwardOp {
  const uint8_t* keep;
  float* dy;
  float scale;
  __device__ void One(int64_t i) const { dy[i] *= static_cast<float>(keep[i]) * scale; }
  __device__ void Quad(int64_t i) const {
    const uint32_t k = *reinterpret_cast<const uint32_t*>(keep + i);
    float4 g = Load4(dy + i);
    g.x *= static_cast<float>(k & 0xFFu) * scale, g.y *= static_cast<float>((k >> 8) & 0xFFu) * scale;
    g.z *= static_cast<float>((k >> 16) & 0xFFu) * scale, g.w *= static_cast<float>(k >> 24) * scale;
    Store4(dy + i, g);
  }
};

// ---- activations -----------------------------------------------------------------------------

// ReLU keeps NaN (x < 0 is false for it), as the CPU's.
__device__ __forceinline__ float Relu(float v) { return v < 0.f ? 0.f : v; }
// 0.5 x (1 + erf(x / sqrt 2)) written with erfc, which stays accurate where erf is close to -1.
__device__ __forceinline__ float Gelu(float v) { return 0.5f * v * erfcf(-v * kInvSqrt2); }
// d/dx [x Phi(x)] = Phi(x) + x phi(x).
__device__ __forceinline__ float GeluSlope(float v) {
  return 0.5f * erfcf(-v * kInvSqrt2) + v * (kInvSqrt2Pi * expf(-0.5f * v * v));
}

template <Activation A>
__device__ __forceinline__ float Activate(float v) {
  return A == Activation::kRelu ? Relu(v) : Gelu(v);
}
template <Activation A>
__device__ __forceinline__ float ActivationGrad(float pre, float g) {
  if constexpr (A == Activation::kRelu) {
    return pre > 0.f ? g : 0.f;
  } else if constexpr (A == Activation::kGelu) {
    return g * GeluSlope(pre);
  } else {
    return g;  // identity
  }
}

template <Activation A>
struct ActivationForwardOp {
  float* x;
  __device__ void One(int64_t i) const { x[i] = Activate<A>(x[i]); }
  __device__ void Quad(int64_t i) const {
    const float4 v = Load4(x + i);
    Store4(x + i, make_float4(Activate<A>(v.x), Activate<A>(v.y), Activate<A>(v.z), Activate<A>(v.w)));
  }
};

// dx may alias dy: each element is read before the same thread overwrites it.
template <Activation A>
struct ActivationBackwardOp {
  const float* pre;
  const float* dy;
  float* dx;
  __device__ void One(int64_t i) const { dx[i] = ActivationGrad<A>(pre[i], dy[i]); }
  __device__ void Quad(int64_t i) const {
    const float4 v = Load4(pre + i), g = Load4(dy + i);
    Store4(dx + i, make_float4(ActivationGrad<A>(v.x, g.x), ActivationGrad<A>(v.y, g.y), ActivationGrad<A>(v.z, g.z),
                               ActivationGrad<A>(v.w, g.w)));
  }
};

// ---- additions -------------------------------------------------------------------------------

struct AddOp {
  const float* x;
  float* y;
  __device__ void One(int64_t i) const { y[i] += x[i]; }
  __device__ void Quad(int64_t i) const {
    const float4 a = Load4(x + i);
    float4 b = Load4(y + i);
    b.x += a.x, b.y += a.y, b.z += a.z, b.w += a.w;
    Store4(y + i, b);
  }
};

// VEC 4: cols, both leading dimensions and both pointers are multiples of 4 floats, and the column
// index counts quads. Rows stride through gridDim.y (at most 65535 blocks).
template <int VEC>
__global__ void __launch_bounds__(kTileCols* kTileRows)
    Add2DKernel(int64_t rows, int64_t cols, const float* src, int64_t src_ld, float* dst, int64_t dst_ld) {
  const int64_t c = (static_cast<int64_t>(blockIdx.x) * kTileCols + threadIdx.x) * VEC;
  if (c >= cols) return;
  const int64_t stride = static_cast<int64_t>(gridDim.y) * kTileRows;
  for (int64_t r = static_cast<int64_t>(blockIdx.y) * kTileRows + threadIdx.y; r < rows; r += stride) {
    const float* s = src + r * src_ld + c;
    float* d = dst + r * dst_ld + c;
    if constexpr (VEC == 4) {
      const float4 a = Load4(s);
      float4 b = Load4(d);
      b.x += a.x, b.y += a.y, b.z += a.z, b.w += a.w;
      Store4(d, b);
    } else {
      *d += *s;
    }
  }
}

dim3 TileGrid(int64_t rows, int64_t col_items) {
  const int64_t row_blocks = (rows + kTileRows - 1) / kTileRows;
  return dim3(CeilDiv(col_items, kTileCols), static_cast<unsigned>(row_blocks < 65535 ? row_blocks : 65535));
}

// ---- MaxPool1d(3, 2, 1) ----------------------------------------------------------------------

// One thread per output (row, channel). The window [2t-1, 2t+1] is clipped to [0, L-1] (the -inf
// padding can never win) and scanned upwards with a strict >, so ties go to the earliest index.
__global__ void __launch_bounds__(kTileCols* kTileRows)
    MaxPool3s2ForwardKernel(int64_t B, int64_t L, int64_t C, const float* x, float* out, int32_t* argmax) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kTileCols + threadIdx.x;
  if (c >= C) return;
  const int64_t Lo = (L - 1) / 2 + 1;
  const int64_t stride = static_cast<int64_t>(gridDim.y) * kTileRows;
  for (int64_t r = static_cast<int64_t>(blockIdx.y) * kTileRows + threadIdx.y; r < B * Lo; r += stride) {
    const int64_t b = r / Lo, t = r - b * Lo;
    const int64_t lo = 2 * t - 1 < 0 ? 0 : 2 * t - 1;
    const int64_t hi = 2 * t + 1 < L - 1 ? 2 * t + 1 : L - 1;
    const float* xb = x + b * L * C + c;
    float best = xb[lo * C];
    int64_t where = lo;
    for (int64_t s = lo + 1; s <= hi; ++s) {
      const float v = xb[s * C];
      if (v > best) best = v, where = s;
    }
    out[r * C + c] = best;
    if (argmax) argmax[r * C + c] = static_cast<int32_t>(where);
  }
}

// One thread per input (row, channel): input s lies in window s/2 and, when s is odd, also in
// window s/2 + 1. It gathers the gradient of each that chose it, in window order (the CPU's order),
// so there are no atomics and the sum is bitwise reproducible.
__global__ void __launch_bounds__(kTileCols* kTileRows)
    MaxPool3s2BackwardKernel(int64_t B, int64_t L, int64_t C, const int32_t* argmax, const float* dy, float* dx) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kTileCols + threadIdx.x;
  if (c >= C) return;
  const int64_t Lo = (L - 1) / 2 + 1;
  const int64_t stride = static_cast<int64_t>(gridDim.y) * kTileRows;
  for (int64_t r = static_cast<int64_t>(blockIdx.y) * kTileRows + threadIdx.y; r < B * L; r += stride) {
    const int64_t b = r / L, s = r - b * L;
    const int64_t t = s / 2;
    const int64_t first = (b * Lo + t) * C + c;
    float acc = dx[r * C + c];
    if (argmax[first] == s) acc += dy[first];
    if ((s & 1) && t + 1 < Lo && argmax[first + C] == s) acc += dy[first + C];
    dx[r * C + c] = acc;
  }
}

}  // namespace

void EluForward(Stream stream, int64_t n, const float* x, float* out) {
  LaunchElementwise(stream, n, EluForwardOp{x, out}, Aligned({x, out}, 16));
}

void EluBackward(Stream stream, int64_t n, const float* x, const float* dy, float* dx) {
  LaunchElementwise(stream, n, EluBackwardOp{x, dy, dx}, Aligned({x, dy, dx}, 16));
}

void DropoutForward(Stream stream, int64_t n, float p, DropoutRng rng, float* x, uint8_t* keep) {
  if (n <= 0) return;
  if (p == 0.f) {  // identity; every element kept
    if (keep) cudaMemsetAsync(keep, 1, static_cast<size_t>(n), stream);
    return;
  }
  const DropoutForwardOp op{x, keep, p, 1.f / (1.f - p), rng.seed, rng.offset};
  LaunchElementwise(stream, n, op, Aligned({x}, 16) && Aligned({keep}, 4));
}

void DropoutBackward(Stream stream, int64_t n, float p, const uint8_t* keep, float* dy) {
  const DropoutBackwardOp op{keep, dy, 1.f / (1.f - p)};
  LaunchElementwise(stream, n, op, Aligned({dy}, 16) && Aligned({keep}, 4));
}

void ActivationForward(Stream stream, Activation act, int64_t n, float* x) {
  const bool quads = Aligned({x}, 16);
  if (act == Activation::kRelu) LaunchElementwise(stream, n, ActivationForwardOp<Activation::kRelu>{x}, quads);
  if (act == Activation::kGelu) LaunchElementwise(stream, n, ActivationForwardOp<Activation::kGelu>{x}, quads);
}

void ActivationBackward(Stream stream, Activation act, int64_t n, const float* pre, const float* dy, float* dx) {
  const bool quads = Aligned({pre, dy, dx}, 16);
  switch (act) {
    case Activation::kRelu:
      return LaunchElementwise(stream, n, ActivationBackwardOp<Activation::kRelu>{pre, dy, dx}, quads);
    case Activation::kGelu:
      return LaunchElementwise(stream, n, ActivationBackwardOp<Activation::kGelu>{pre, dy, dx}, quads);
    default:  // identity: dx = dy
      if (dx != dy) LaunchElementwise(stream, n, ActivationBackwardOp<Activation::kNone>{pre, dy, dx}, quads);
  }
}

void MaxPool3s2Forward(Stream stream, int64_t B, int64_t L, int64_t C, const float* x, float* out, int32_t* argmax) {
  if (B <= 0 || L <= 0 || C <= 0) return;
  const int64_t Lo = (L - 1) / 2 + 1;
  Launch(MaxPool3s2ForwardKernel, TileGrid(B * Lo, C), dim3(kTileCols, kTileRows), 0, stream, B, L, C, x, out, argmax);
}

void MaxPool3s2Backward(Stream stream, int64_t B, int64_t L, int64_t C, const int32_t* argmax, const float* dy,
                        float* dx) {
  if (B <= 0 || L <= 0 || C <= 0) return;
  Launch(MaxPool3s2BackwardKernel, TileGrid(B * L, C), dim3(kTileCols, kTileRows), 0, stream, B, L, C, argmax, dy, dx);
}

void Add2D(Stream stream, int64_t rows, int64_t cols, const float* src, int64_t src_ld, float* dst, int64_t dst_ld) {
  if (rows <= 0 || cols <= 0) return;
  if (src_ld == cols && dst_ld == cols) return Add(stream, rows * cols, src, dst);  // contiguous
  const dim3 block(kTileCols, kTileRows);
  if (cols % 4 == 0 && src_ld % 4 == 0 && dst_ld % 4 == 0 && Aligned({src, dst}, 16))
    return Launch(Add2DKernel<4>, TileGrid(rows, cols / 4), block, 0, stream, rows, cols, src, src_ld, dst, dst_ld);
  Launch(Add2DKernel<1>, TileGrid(rows, cols), block, 0, stream, rows, cols, src, src_ld, dst, dst_ld);
}

void Add(Stream stream, int64_t n, const float* x, float* y) {
  LaunchElementwise(stream, n, AddOp{x, y}, Aligned({x, y}, 16));
}

}  // namespace informer::cuda
