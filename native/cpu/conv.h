// Convolutions over time on [B, L, C] (channels-last) tensors.
#pragma once
#include <cstdint>

#include "cpu/gemm.h"

namespace informer {

// Conv1d(C_in -> C_out, kernel 3, padding 1, padding_mode 'circular') as in the reference's
// TokenEmbedding and distilling ConvLayer: out[b,t,o] = bias[o] + sum_{c,k} W[o,c,k] x[b,(t-1+k) mod L,c].
// x [B, L, C_in], weight [C_out, C_in, 3], bias [C_out], out [B, L, C_out] (overwritten).
// cols [B*L, 3*C_in] is caller-provided scratch: it holds the im2col, column order c*3+k to match the
// weight layout, which is what the backward pass needs.
void CircularConv3Forward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* x, const float* weight,
                          const float* bias, float* cols, float* out);

// The weight [C_out, C_in, 3] with its columns in tap-major order: out [C_out, 3*C_in], column k*C_in + c.
void TapMajorConv3Weight(const float* weight, int64_t C_out, int64_t C_in, float* out);

// The same convolution with the weight in tap-major order (TapMajorConv3Weight; packed: its packing,
// or null): the im2col is then three contiguous row copies per step rather than a stride-3
// interleave (the paper config's distilling conv at batch 1: ~90 us of one thread). The sums run in
// another order than CircularConv3Forward's, so a model uses one or the other for all its passes.
// cols is scratch of the same size, in tap-major order.
void CircularConv3ForwardTapMajor(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* x,
                                  const float* tap_major_weight, const PackedB* packed, const float* bias, float* cols,
                                  float* out);

// Backward from the saved cols: dweight [C_out, C_in, 3] += dy^T cols, dbias += column sums of dy,
// dx [B, L, C_in] += col2im(dy W) (dx may be null: the token conv's input is data).
// d_cols [B*L, 3*C_in] is caller-provided scratch.
void CircularConv3Backward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* cols, const float* weight,
                           const float* dy, float* d_cols, float* dx, float* dweight, float* dbias);

// im2col for the circular kernel-3 convolution (exposed for the backward pass and tests).
void CircularIm2Col3(int64_t B, int64_t L, int64_t C, const float* x, float* cols);

}  // namespace informer
