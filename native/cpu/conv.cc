#include "cpu/conv.h"

#include <cstring>

#include "cpu/gemm.h"
#include "cpu/linear.h"
#include "cpu/thread_pool.h"

namespace informer {

void CircularIm2Col3(int64_t B, int64_t L, int64_t C, const float* x, float* cols) {
  for (int64_t b = 0; b < B; ++b) {
    const float* xb = x + b * L * C;
    for (int64_t t = 0; t < L; ++t) {
      float* row = cols + (b * L + t) * 3 * C;
      const float* taps[3] = {xb + ((t + L - 1) % L) * C, xb + t * C, xb + ((t + 1) % L) * C};
      for (int64_t c = 0; c < C; ++c) {
        row[c * 3 + 0] = taps[0][c];
        row[c * 3 + 1] = taps[1][c];
        row[c * 3 + 2] = taps[2][c];
      }
    }
  }
}

void CircularConv3Forward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* x, const float* weight,
                          const float* bias, float* cols, float* out) {
  CircularIm2Col3(B, L, C_in, x, cols);
  GemmEpilogue ep;
  ep.bias = bias;
  sgemm(false, true, B * L, C_out, 3 * C_in, 1.f, cols, 3 * C_in, weight, 3 * C_in, 0.f, out, C_out, ep,
        &ThreadPool::global());
}

void TapMajorConv3Weight(const float* weight, int64_t C_out, int64_t C_in, float* out) {
  for (int64_t o = 0; o < C_out; ++o)
    for (int64_t c = 0; c < C_in; ++c)
      for (int64_t k = 0; k < 3; ++k) out[o * 3 * C_in + k * C_in + c] = weight[(o * C_in + c) * 3 + k];
}

void CircularConv3ForwardTapMajor(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* x,
                                  const float* tap_major_weight, const PackedB* packed, const float* bias, float* cols,
                                  float* out) {
  const size_t row_bytes = static_cast<size_t>(C_in) * sizeof(float);
  auto copy_rows = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / L, t = r % L;
      const float* xb = x + b * L * C_in;
      float* row = cols + r * 3 * C_in;
      std::memcpy(row, xb + ((t + L - 1) % L) * C_in, row_bytes);
      std::memcpy(row + C_in, xb + t * C_in, row_bytes);
      std::memcpy(row + 2 * C_in, xb + ((t + 1) % L) * C_in, row_bytes);
    }
  };
  // Split from 64K floats: at batch 1 the pool's worker is awake between the GEMMs.
  if (B * L * 3 * C_in >= (1 << 16)) {
    ThreadPool::global().parallel_for(B * L, 8, copy_rows);
  } else {
    copy_rows(0, B * L);
  }
  GemmEpilogue ep;
  ep.bias = bias;
  if (packed)
    return sgemm_packed_b(B * L, C_out, 3 * C_in, cols, 3 * C_in, tap_major_weight, *packed, 0.f, out, C_out, ep,
                          &ThreadPool::global());
  sgemm(false, true, B * L, C_out, 3 * C_in, 1.f, cols, 3 * C_in, tap_major_weight, 3 * C_in, 0.f, out, C_out, ep,
        &ThreadPool::global());
}

void CircularConv3Backward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* cols, const float* weight,
                           const float* dy, float* d_cols, float* dx, float* dweight, float* dbias) {
  LinearBackward(B * L, 3 * C_in, C_out, cols, weight, dy, dx ? d_cols : nullptr, false, dweight, dbias);
  if (!dx) return;
  // col2im: column c*3+k of row t came from x[(t-1+k) mod L, c].
  for (int64_t b = 0; b < B; ++b) {
    float* xb = dx + b * L * C_in;
    for (int64_t t = 0; t < L; ++t) {
      const float* row = d_cols + (b * L + t) * 3 * C_in;
      float* taps[3] = {xb + ((t + L - 1) % L) * C_in, xb + t * C_in, xb + ((t + 1) % L) * C_in};
      for (int64_t c = 0; c < C_in; ++c) {
        taps[0][c] += row[c * 3 + 0];
        taps[1][c] += row[c * 3 + 1];
        taps[2][c] += row[c * 3 + 2];
      }
    }
  }
}

}  // namespace informer
