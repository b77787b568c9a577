// MSE loss and Adam on the GPU (contract of kernels/cpu/optim.h).
#pragma once
#include <cstdint>

#include "cuda/runtime.h"
#include "base/op_types.h"

namespace informer::cuda {

// loss (device, one double) = mean((pred - target)^2), reduced in double in a fixed order;
// d_pred [n] = 2 (pred - target) / n. workspace: MseWorkspaceDoubles(n) doubles.
int64_t MseWorkspaceDoubles(int64_t n);
void MseForwardBackward(Stream stream, int64_t n, const float* pred, const float* target, float* d_pred, double* loss,
                        double* workspace);

// One Adam step at step t (1-based) with torch.optim.Adam semantics.
void AdamUpdate(Stream stream, int64_t n, const AdamConfig& c, int64_t t, const float* grad, float* param, float* m,
                float* v);

}  // namespace informer::cuda
