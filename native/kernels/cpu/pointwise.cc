#include "kernels/cpu/pointwise.h"

#include <cmath>

#include "core/rng.h"

namespace informer {

void EluForward(int64_t n, const float* x, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] > 0.f ? x[i] : std::expm1(x[i]);
}

void DropoutForward(int64_t n, float p, Rng* rng, float* x, float* mask) {
  const float keep = 1.f - p, scale = 1.f / keep;
  for (int64_t i = 0; i < n; ++i) {
    const float m = rng->UniformFloat() < keep ? scale : 0.f;
    x[i] *= m;
    if (mask) mask[i] = m;
  }
}

void MaxPool3s2Forward(int64_t B, int64_t L, int64_t C, const float* x, float* out, int32_t* argmax) {
  const int64_t Lo = (L - 1) / 2 + 1;
  for (int64_t b = 0; b < B; ++b) {
    const float* xb = x + b * L * C;
    for (int64_t t = 0; t < Lo; ++t) {
      const int64_t lo = 2 * t - 1 < 0 ? 0 : 2 * t - 1;
      const int64_t hi = 2 * t + 1 < L - 1 ? 2 * t + 1 : L - 1;
      float* o = out + (b * Lo + t) * C;
      int32_t* a = argmax ? argmax + (b * Lo + t) * C : nullptr;
      for (int64_t c = 0; c < C; ++c) {
        float best = xb[lo * C + c];
        int64_t where = lo;
        for (int64_t s = lo + 1; s <= hi; ++s)
          if (xb[s * C + c] > best) {
            best = xb[s * C + c];
            where = s;
          }
        o[c] = best;
        if (a) a[c] = static_cast<int32_t>(where);
      }
    }
  }
}

}  // namespace informer
