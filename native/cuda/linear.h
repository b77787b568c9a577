// Linear layers y = x W^T + b on the GPU, forward and backward (contract of kernels/cpu/linear.h).
#pragma once
#include <cstdint>

#include "base/op_types.h"
#include "cuda/runtime.h"

namespace informer::cuda {

// y = act(x W^T + b) + residual. w [out, in], b [out] (may be null), residual [rows, out] (may be null).
void LinearForward(Stream stream, int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* b,
                   float* y, Activation act = Activation::kNone, const float* residual = nullptr);

// dw [out, in] += dy^T x, db [out] += column sums of dy (db may be null), dx [rows, in] = dy W
// (+= when accumulate_dx). dx may be null, and may be x itself (dw is computed first).
void LinearBackward(Stream stream, int64_t rows, int64_t in, int64_t out, const float* x, const float* w,
                    const float* dy, float* dx, bool accumulate_dx, float* dw, float* db);

// db [n] += column sums of dy [rows, n] (deterministic: no atomics).
void AddColumnSums(Stream stream, int64_t rows, int64_t n, const float* dy, float* db);

}  // namespace informer::cuda
