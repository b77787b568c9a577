// Element-wise kernels on the GPU: activations, ELU, dropout, MaxPool1d(3, 2, 1), additions.
#pragma once
#include <cstdint>

#include "base/op_types.h"
#include "cuda/runtime.h"

namespace informer::cuda {

// Counter-based randomness for dropout: element i of a call is kept when
// Uniform(seed, offset + i) < 1 - p, with Uniform a stateless 64-bit hash (splitmix64 finaliser) of
// the pair, so masks do not depend on the launch configuration. Callers advance offset by n.
struct DropoutRng {
  uint64_t seed = 0;
  uint64_t offset = 0;
};

void EluForward(Stream stream, int64_t n, const float* x, float* out);                   // out may alias x
void EluBackward(Stream stream, int64_t n, const float* x, const float* dy, float* dx);  // dx +=

// Inverted dropout in place; keep [n] (optional) receives 1 for kept elements.
void DropoutForward(Stream stream, int64_t n, float p, DropoutRng rng, float* x, uint8_t* keep);
// dy *= keep / (1 - p), in place.
void DropoutBackward(Stream stream, int64_t n, float p, const uint8_t* keep, float* dy);

// x = act(x) in place (ReLU or exact GELU).
void ActivationForward(Stream stream, Activation act, int64_t n, float* x);
// dx = dy * act'(pre) (overwrites; dx may alias dy).
void ActivationBackward(Stream stream, Activation act, int64_t n, const float* pre, const float* dy, float* dx);

// MaxPool1d(kernel 3, stride 2, padding 1) over L of [B, L, C]; argmax [B, L', C] optional.
void MaxPool3s2Forward(Stream stream, int64_t B, int64_t L, int64_t C, const float* x, float* out, int32_t* argmax);
// dx [B, L, C] += dy routed to argmax (deterministic: each input gathers from its <= 2 windows).
void MaxPool3s2Backward(Stream stream, int64_t B, int64_t L, int64_t C, const int32_t* argmax, const float* dy,
                        float* dx);

// dst[r * dst_ld + c] += src[r * src_ld + c] for r < rows, c < cols (src_ld 0 broadcasts one row).
void Add2D(Stream stream, int64_t rows, int64_t cols, const float* src, int64_t src_ld, float* dst, int64_t dst_ld);
// y += x over n elements.
void Add(Stream stream, int64_t n, const float* x, float* y);

}  // namespace informer::cuda
