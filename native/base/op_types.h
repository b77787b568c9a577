// Types in the kernel contracts that every backend shares (the Ops interface in base/ops.h uses
// them): activations and the GEMM epilogue, attention shapes and head layouts, Adam's settings.
#pragma once
#include <cstdint>

namespace informer {

enum class Activation : int { kNone = 0, kRelu = 1, kGelu = 2 };

//   C[M,N] = act(alpha * op(A) * op(B) + beta * C + bias[N]) + residual[M,N]
struct GemmEpilogue {
  const float* bias = nullptr;  // [N], added to every row
  Activation act = Activation::kNone;
  const float* residual = nullptr;  // [M, ldr], added after the activation
  int64_t ldr = 0;
};

// Where element (b, h, l, j) of a [B, H, L, d] tensor lives: b*batch + h*head + l*row + j.
struct HeadLayout {
  int64_t batch, head, row;
  // Projections [B, L, H*d]: heads side by side within a row.
  static HeadLayout RowMajor(int64_t L, int64_t H, int64_t d) { return {L * H * d, d, H * d}; }
  // Head-major [B, H, L, d]; read back as [B, L, H*d] this is the reference's `mix` layout.
  static HeadLayout HeadMajor(int64_t L, int64_t H, int64_t d) { return {L * H * d, L * d, d}; }
};

struct AttentionShape {
  int64_t B, H, Lq, Lk, d;
};

// eps of LayerNorm and BatchNorm1d (PyTorch's default), on every backend.
constexpr float kNormEps = 1e-5f;

// eps of RevIN: std = sqrt(population variance + eps); the de-normalisation divides by
// (affine weight + eps^2), as the paper's code does.
constexpr float kRevinEps = 1e-5f;

// Statistics of a forecasting window for instance normalisation (cpu/instance_norm.h).
enum class WindowStatsKind : int {
  kMeanStd = 0,  // center = mean over L, scale = sqrt(population variance + kRevinEps)  (RevIN)
  kLast = 1,     // center = the last step's value, scale = 1                          ('last')
};

struct AdamConfig {
  float lr = 1e-4f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.f;
};

}  // namespace informer
