// Element-wise layers: ELU, dropout, and MaxPool1d over time.
#pragma once
#include <cstdint>

namespace informer {

class Rng;

// ELU with alpha 1: x > 0 ? x : exp(x) - 1. out may alias x.
void EluForward(int64_t n, const float* x, float* out);

// Inverted dropout in place: each element kept with probability 1 - p and scaled by 1/(1 - p).
// mask [n] (optional) receives the scale applied to each element (0 or 1/(1-p)) for backward.
void DropoutForward(int64_t n, float p, Rng* rng, float* x, float* mask);

// MaxPool1d(kernel 3, stride 2, padding 1) over L of [B, L, C] with -inf padding:
// out [B, L', C], L' = (L - 1) / 2 + 1; argmax [B, L', C] (optional) keeps the winning time index.
void MaxPool3s2Forward(int64_t B, int64_t L, int64_t C, const float* x, float* out, int32_t* argmax);

}  // namespace informer
