// Instance normalisation of forecasting windows, reversed on the forecast: RevIN (Kim et al., ICLR
// 2022) and the last-value shift. Each window's channels are centred and scaled with statistics of
// its own encoder input; the forecast is mapped back with the same statistics. Tensors are
// channels-last [B, L, C]; statistics are [B, C].
//
// The statistics are constants of the data (RevIN detaches them) and the inputs are data, so the
// backward passes produce only the affine parameters' gradients and the forecast's gradient.
#pragma once
#include <cstdint>

#include "base/op_types.h"  // WindowStatsKind, kRevinEps

namespace informer {

// center/scale [B, C] of x [B, L, C].
void WindowStatsForward(WindowStatsKind kind, int64_t B, int64_t L, int64_t C, const float* x, float* center,
                        float* scale);

// out [B, L, C]: (x - center) / scale * weight + bias for the first L_norm steps of each window,
// x unchanged for the remaining L - L_norm steps (the decoder input's placeholder). weight and bias
// [C] are optional (null: no affine). out must not alias x.
void InstanceNormForward(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                         const float* scale, const float* weight, const float* bias, float* out);
// d_weight/d_bias [C] += the gradients of InstanceNormForward's affine, given dy [B, L, C].
void InstanceNormBackward(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                          const float* scale, const float* dy, float* d_weight, float* d_bias);

// The inverse on y [B, L, C_out]; output channel j uses the statistics and affine of input channel
// m = C_in - C_out + j (the target is the last input column, so 'MS' maps its one output to it):
// out = (y - bias[m]) / (weight[m] + eps^2) * scale[b, m] + center[b, m]. weight/bias optional.
void InstanceDenormForward(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y, const float* center,
                           const float* scale, const float* weight, const float* bias, float* out);
// dy [B, L, C_out] = d_out * scale / (weight + eps^2) (overwrites; may alias d_out), and
// d_weight/d_bias [C_in] += the affine's gradients (at channels m).
void InstanceDenormBackward(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y, const float* center,
                            const float* scale, const float* weight, const float* bias, const float* d_out, float* dy,
                            float* d_weight, float* d_bias);

}  // namespace informer
