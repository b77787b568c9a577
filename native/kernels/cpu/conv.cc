#include "kernels/cpu/conv.h"

#include "core/gemm.h"
#include "core/thread_pool.h"

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

}  // namespace informer
