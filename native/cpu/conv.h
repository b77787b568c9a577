// Convolutions over time on [B, L, C] (channels-last) tensors.
#pragma once
#include <cstdint>

#include "cpu/gemm.h"

namespace informer {

// Conv1d(C_in -> C_out, kernel 3, padding 1, padding_mode 'circular') as in the reference's
// TokenEmbedding and distilling ConvLayer: out[b,t,o] = bias[o] + sum_{c,k} W[o,c,k] x[b,(t-1+k) mod L,c].
// x [B, L, C_in], weight [C_out, C_in, 3], bias [C_out], out [B, L, C_out] (overwritten, or
// accumulated into when accumulate is true). cols [B*L, 3*C_in] is caller-provided scratch (im2col,
// column order c*3+k to match the weight layout) and is what the backward pass needs. packed
// (optional): weight already packed as a [C_out, 3*C_in] matrix (WeightCache).
void CircularConv3Forward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* x, const float* weight,
                          const float* bias, float* cols, float* out, const PackedB* packed = nullptr);

// Backward from the saved cols: dweight [C_out, C_in, 3] += dy^T cols, dbias += column sums of dy,
// dx [B, L, C_in] += col2im(dy W) (dx may be null: the token conv's input is data).
// d_cols [B*L, 3*C_in] is caller-provided scratch.
void CircularConv3Backward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* cols, const float* weight,
                           const float* dy, float* d_cols, float* dx, float* dweight, float* dbias);

// im2col for the circular kernel-3 convolution (exposed for the backward pass and tests).
void CircularIm2Col3(int64_t B, int64_t L, int64_t C, const float* x, float* cols);

}  // namespace informer
