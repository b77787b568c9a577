// Element-wise layers: ELU, dropout, and MaxPool1d over time.
#pragma once
#include <cstdint>

namespace informer {

class Rng;

// ELU with alpha 1: x > 0 ? x : exp(x) - 1. out may alias x.
void EluForward(int64_t n, const float* x, float* out);

// dx += dy * elu'(x): 1 for x > 0, else exp(x).
void EluBackward(int64_t n, const float* x, const float* dy, float* dx);

// keep[i] = 1 with probability keep_prob (resolved to 1/65536; else 0). Takes one draw of rng, the
// key of DropoutMask's generator (dropout_mask.h); `first` as there.
void BernoulliMask(int64_t n, float keep_prob, Rng* rng, uint8_t* keep, int64_t first = 0);

// Inverted dropout in place: each element kept with probability 1 - p and scaled by 1/(1 - p), mask
// and scaling in one pass; one draw of rng, as BernoulliMask. keep [n] (optional) receives 1 for
// kept elements, 0 for dropped ones, for the backward pass. `first`: see DropoutMask.
void DropoutForward(int64_t n, float p, Rng* rng, float* x, uint8_t* keep, int64_t first = 0);
// dy *= keep / (1 - p), in place.
void DropoutBackward(int64_t n, float p, const uint8_t* keep, float* dy);

// Activation backward from the pre-activation: dx = dy * act'(pre) (overwrites dx; dx may alias dy).
void ActivationBackward(int act /* 0 none, 1 relu, 2 gelu */, int64_t n, const float* pre, const float* dy, float* dx);

// MaxPool1d(kernel 3, stride 2, padding 1) over L of [B, L, C] with -inf padding:
// out [B, L', C], L' = (L - 1) / 2 + 1; argmax [B, L', C] (optional) keeps the winning time index.
void MaxPool3s2Forward(int64_t B, int64_t L, int64_t C, const float* x, float* out, int32_t* argmax);

// dx [B, L, C] += dy [B, L', C] routed to the saved argmax positions.
void MaxPool3s2Backward(int64_t B, int64_t L, int64_t C, const int32_t* argmax, const float* dy, float* dx);

}  // namespace informer
