// The integer-mark temporal embedding lookup on the GPU (contract of kernels/cpu/embedding.h).
// Indices are validated on the host before upload; the kernels clamp defensively all the same.
#pragma once
#include <cstdint>

#include "cuda/runtime.h"

namespace informer::cuda {

// out[n, :] += table[int(marks[n, column]), :] for N rows (marks [N, n_mark], truncated toward zero).
void TemporalLookupAdd(Stream stream, int64_t N, int64_t n_mark, const float* marks, int column, const float* table,
                       int64_t rows, int64_t D, float* out);
// dtable[int(marks[n, column])] += dy[n] (a learned table's gradient).
void TemporalLookupBackward(Stream stream, int64_t N, int64_t n_mark, const float* marks, int column, const float* dy,
                            int64_t rows, int64_t D, float* dtable);

}  // namespace informer::cuda
