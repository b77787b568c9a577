// Linear layers y = x W^T + b on [rows, in] -> [rows, out] (also the kernel-1 Conv1d layers, whose
// weight [out, in, 1] has the same memory layout), forward and backward.
#pragma once
#include <cstdint>

#include "cpu/gemm.h"

namespace informer {

// y = act(x W^T + b) + residual. w [out, in], b [out] (may be null), residual [rows, out] (may be null).
// packed (optional): w already packed (WeightCache). x's rows are ldx floats apart and y's ldy (0:
// contiguous, in and out).
void LinearForward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* b, float* y,
                   Activation act = Activation::kNone, const float* residual = nullptr, const PackedB* packed = nullptr,
                   int64_t ldx = 0, int64_t ldy = 0);

// Given dy [rows, out]: dw [out, in] += dy^T x, db [out] += column sums of dy (db may be null), and
// dx [rows, in] = dy W (accumulate: dx += dy W). dx may be null when the input needs no gradient,
// and may be x itself (dw is computed before dx is written).
void LinearBackward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* dy, float* dx,
                    bool accumulate_dx, float* dw, float* db);

// db [n] += column sums of dy [rows, n].
void AddColumnSums(int64_t rows, int64_t n, const float* dy, float* db);

}  // namespace informer
