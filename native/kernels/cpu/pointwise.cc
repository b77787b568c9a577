#include "kernels/cpu/pointwise.h"

#include <cmath>

#include "core/rng.h"

namespace informer {

void EluForward(int64_t n, const float* x, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] > 0.f ? x[i] : std::expm1(x[i]);
}

void EluBackward(int64_t n, const float* x, const float* y, const float* dy, float* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * (x[i] > 0.f ? 1.f : y[i] + 1.f);
}

void DropoutForward(int64_t n, float p, Rng* rng, float* x, uint8_t* keep) {
  const float keep_prob = 1.f - p, scale = 1.f / keep_prob;
  for (int64_t i = 0; i < n; ++i) {
    const bool k = rng->UniformFloat() < keep_prob;
    x[i] = k ? x[i] * scale : 0.f;
    if (keep) keep[i] = k ? 1 : 0;
  }
}

void DropoutBackward(int64_t n, float p, const uint8_t* keep, float* dy) {
  const float scale = 1.f / (1.f - p);
  for (int64_t i = 0; i < n; ++i) dy[i] = keep[i] ? dy[i] * scale : 0.f;
}

void ActivationBackward(int act, int64_t n, const float* pre, const float* dy, float* dx) {
  if (act == 1) {
    for (int64_t i = 0; i < n; ++i) dx[i] = pre[i] > 0.f ? dy[i] : 0.f;
    return;
  }
  // d/dx [x Phi(x)] = Phi(x) + x phi(x), exact erf form.
  constexpr float kInvSqrt2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;
  for (int64_t i = 0; i < n; ++i) {
    const float x = pre[i];
    const float cdf = 0.5f * (1.f + std::erf(x * kInvSqrt2));
    const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x * x);
    dx[i] = dy[i] * (cdf + x * pdf);
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

void MaxPool3s2Backward(int64_t B, int64_t L, int64_t C, const int32_t* argmax, const float* dy, float* dx) {
  const int64_t Lo = (L - 1) / 2 + 1;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Lo; ++t)
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = (b * Lo + t) * C + c;
        dx[(b * L + argmax[i]) * C + c] += dy[i];
      }
}

}  // namespace informer
