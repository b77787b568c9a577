// Loss and optimiser: MSE (mean over all elements, as nn.MSELoss) and Adam with PyTorch semantics.
#pragma once
#include <cstdint>

#include "base/op_types.h"

namespace informer {

// Returns mean((pred - target)^2) (accumulated in double); d_pred [n] = 2 (pred - target) / n.
double MseForwardBackward(int64_t n, const float* pred, const float* target, float* d_pred);

// One Adam step on n parameters at step t (1-based), as torch.optim.Adam (L2 weight decay added to
// the gradient; bias corrections; p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)).
void AdamUpdate(int64_t n, const AdamConfig& c, int64_t t, const float* grad, float* param, float* m, float* v);

}  // namespace informer
