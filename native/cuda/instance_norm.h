// Instance normalisation of forecasting windows on the GPU (contract and numerics of
// kernels/cpu/instance_norm.h: RevIN statistics and affine, the last-value shift, the inverse on the
// forecast). Statistics and parameter gradients are summed in double in a fixed order (one thread per
// window and channel, one block per channel with a fixed tree), so two runs give the same bits.
#pragma once
#include <cstdint>

#include "cuda/runtime.h"
#include "base/op_types.h"

namespace informer::cuda {

void WindowStatsForward(Stream stream, WindowStatsKind kind, int64_t B, int64_t L, int64_t C, const float* x,
                        float* center, float* scale);
void InstanceNormForward(Stream stream, int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x,
                         const float* center, const float* scale, const float* weight, const float* bias, float* out);
void InstanceNormBackward(Stream stream, int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x,
                          const float* center, const float* scale, const float* dy, float* d_weight, float* d_bias);
void InstanceDenormForward(Stream stream, int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y,
                           const float* center, const float* scale, const float* weight, const float* bias, float* out);
void InstanceDenormBackward(Stream stream, int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y,
                            const float* center, const float* scale, const float* weight, const float* bias,
                            const float* d_out, float* dy, float* d_weight, float* d_bias);

}  // namespace informer::cuda
