#include "cpu/embedding.h"

#include <cmath>

namespace informer {

void FillSinusoidTable(int64_t rows, int64_t D, float* table) {
  const float neg_log_base_over_d = -(std::log(10000.0f) / static_cast<float>(D));
  for (int64_t i = 0; i < D / 2; ++i) {
    const float w = std::exp(static_cast<float>(2 * i) * neg_log_base_over_d);
    for (int64_t p = 0; p < rows; ++p) {
      const float angle = static_cast<float>(p) * w;
      table[p * D + 2 * i] = std::sin(angle);
      table[p * D + 2 * i + 1] = std::cos(angle);
    }
  }
}

int64_t FirstMarkOutOfRange(int64_t N, int64_t n_mark, const float* marks, int column, int64_t rows) {
  for (int64_t n = 0; n < N; ++n) {
    const float m = marks[n * n_mark + column];
    if (!(m > -1.f && m < static_cast<float>(rows))) return n;  // also rejects NaN
  }
  return -1;
}

int64_t TemporalLookupAdd(int64_t N, int64_t n_mark, const float* marks, int column, const float* table, int64_t rows,
                          int64_t D, float* out) {
  const int64_t bad = FirstMarkOutOfRange(N, n_mark, marks, column, rows);
  if (bad >= 0) return bad;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t idx = static_cast<int64_t>(marks[n * n_mark + column]);
    const float* row = table + idx * D;
    float* o = out + n * D;
    for (int64_t j = 0; j < D; ++j) o[j] += row[j];
  }
  return -1;
}

void TemporalLookupBackward(int64_t N, int64_t n_mark, const float* marks, int column, const float* dy, int64_t D,
                            float* dtable) {
  for (int64_t n = 0; n < N; ++n) {
    float* row = dtable + static_cast<int64_t>(marks[n * n_mark + column]) * D;
    const float* g = dy + n * D;
    for (int64_t j = 0; j < D; ++j) row[j] += g[j];
  }
}

}  // namespace informer
