// LayerNorm and BatchNorm1d on the GPU (contract of kernels/cpu/norm.h, eps 1e-5). Reductions are
// deterministic (fixed-order trees, no atomics), so two runs give the same bits.
#pragma once
#include <cstdint>

#include "cuda/runtime.h"

namespace informer::cuda {

// LayerNorm over the last dimension of [rows, D]; mean/rstd [rows] optional. out may alias x.
void LayerNormForward(Stream stream, int64_t rows, int64_t D, const float* x, const float* gamma, const float* beta,
                      float* out, float* mean, float* rstd);
// dx [rows, D] += ..., dgamma/dbeta [D] += ...
void LayerNormBackward(Stream stream, int64_t rows, int64_t D, const float* x, const float* gamma, const float* mean,
                       const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta);

// BatchNorm1d over the channels of [N, C]. train: batch statistics (biased variance), running
// stats updated with momentum 0.1 and the unbiased variance (the caller counts
// num_batches_tracked); eval: running stats. mean/rstd [C] receive the statistics used. out may alias x.
void BatchNormForward(Stream stream, int64_t N, int64_t C, const float* x, const float* gamma, const float* beta,
                      float* running_mean, float* running_var, bool train, float* out, float* mean, float* rstd);
// dx [N, C] += ..., dgamma/dbeta [C] += ... (full batch-statistics backward in train mode).
void BatchNormBackward(Stream stream, int64_t N, int64_t C, const float* x, const float* gamma, const float* mean,
                       const float* rstd, bool train, const float* dy, float* dx, float* dgamma, float* dbeta);

}  // namespace informer::cuda
