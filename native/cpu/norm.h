// Normalisation layers on [rows, D] (LayerNorm) and [B, L, C] channels-last (BatchNorm1d) tensors.
#pragma once
#include <cstdint>

#include "base/op_types.h"

namespace informer {

// LayerNorm over the last dimension (biased variance, eps 1e-5). mean/rstd [rows] (optional) keep
// the statistics for the backward pass. out may alias x.
void LayerNormForward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* beta, float* out,
                      float* mean, float* rstd);

// LayerNorm backward from the saved mean/rstd: dx [rows, D] += ..., dgamma/dbeta [D] += ...
void LayerNormBackward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* mean,
                       const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta);

// BatchNorm1d over the channel axis of [N = B*L, C]. Train mode normalises with the batch
// statistics (biased variance) and updates the running stats with momentum 0.1 and the unbiased
// variance, incrementing num_batches_tracked; eval mode uses the running stats.
// mean/rstd [C] (optional) receive the statistics used. out may alias x.
void BatchNormForward(int64_t N, int64_t C, const float* x, const float* gamma, const float* beta, float* running_mean,
                      float* running_var, int64_t* num_batches_tracked, bool train, float* out, float* mean,
                      float* rstd);

// BatchNorm backward from the statistics the forward used: in train mode they are functions of
// the batch (full backward); in eval mode the running stats are constants (an affine map).
// dx [N, C] += ..., dgamma/dbeta [C] += ...; the running stats get no gradient.
void BatchNormBackward(int64_t N, int64_t C, const float* x, const float* gamma, const float* mean, const float* rstd,
                       bool train, const float* dy, float* dx, float* dgamma, float* dbeta);

}  // namespace informer
