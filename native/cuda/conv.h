// The circular kernel-3 Conv1d of TokenEmbedding and the distilling ConvLayer on the GPU
// (contract of kernels/cpu/conv.h): im2col (column order c*3+k) and a GEMM.
#pragma once
#include <cstdint>

#include "cuda/runtime.h"

namespace informer::cuda {

void CircularIm2Col3(Stream stream, int64_t B, int64_t L, int64_t C, const float* x, float* cols);

// out [B, L, C_out] = conv(x) + bias; cols [B*L, 3*C_in] scratch (kept for the backward).
void CircularConv3Forward(Stream stream, int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* x,
                          const float* weight, const float* bias, float* cols, float* out);

// dweight += dy^T cols, dbias += column sums of dy, dx [B, L, C_in] += col2im(dy W) (dx may be null;
// then d_cols may be null too). d_cols [B*L, 3*C_in] scratch.
void CircularConv3Backward(Stream stream, int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* cols,
                           const float* weight, const float* dy, float* d_cols, float* dx, float* dweight,
                           float* dbias);

}  // namespace informer::cuda
