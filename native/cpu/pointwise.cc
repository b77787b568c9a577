#include "cpu/pointwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/rng.h"
#include "cpu/dropout_mask.h"
#include "cpu/thread_pool.h"
#include "cpu/vecmath.h"

namespace informer {

// Element-wise, so split over the pool when large (the paper config's distilling layers in training).
void EluForward(int64_t n, const float* x, float* out) {
  constexpr int64_t kGrain = 1 << 14;  // from 32K elements: the distilling layer at batch 1 (48K) splits
  if (n < 2 * kGrain) return EluForwardRange(n, x, out);
  ThreadPool::global().parallel_for(n, kGrain, [&](int64_t b, int64_t e) { EluForwardRange(e - b, x + b, out + b); });
}

void EluBackward(int64_t n, const float* x, const float* dy, float* dx) {
  constexpr int64_t kGrain = 1 << 16;
  if (n < 2 * kGrain) return EluBackwardRange(n, x, dy, dx);
  ThreadPool::global().parallel_for(n, kGrain,
                                    [&](int64_t b, int64_t e) { EluBackwardRange(e - b, x + b, dy + b, dx + b); });
}

// One key per call from rng; the mask itself comes from DropoutMask's vectorised lanes.
void BernoulliMask(int64_t n, float keep_prob, Rng* rng, uint8_t* keep, int64_t first) {
  DropoutMask(n, KeepThreshold16(keep_prob), rng->Next(), 1.f, nullptr, keep, first);
}

void DropoutForward(int64_t n, float p, Rng* rng, float* x, uint8_t* keep, int64_t first) {
  // Mask and scaling in one pass.
  DropoutMask(n, KeepThreshold16(1.f - p), rng->Next(), 1.f / (1.f - p), x, keep, first);
}

void DropoutBackward(int64_t n, float p, const uint8_t* keep, float* dy) {
  const float scale = 1.f / (1.f - p);
  if (DropoutBackwardVec(n, scale, keep, dy)) return;
  for (int64_t i = 0; i < n; ++i) dy[i] *= static_cast<float>(keep[i]) * scale;
}

void ActivationBackward(int act, int64_t n, const float* pre, const float* dy, float* dx) {
  if (act == 0) {  // identity (it used to fall through to GELU: the backend-ops test caught it)
    if (dx != dy) std::memcpy(dx, dy, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  if (act == 1) {
    for (int64_t i = 0; i < n; ++i) {
      const float g = dy[i];  // unconditional load, so the select vectorises
      dx[i] = pre[i] > 0.f ? g : 0.f;
    }
    return;
  }
  GeluBackward(n, pre, dy, dx);
}

void MaxPool3s2Forward(int64_t B, int64_t L, int64_t C, const float* x, float* out, int32_t* argmax) {
  const int64_t Lo = (L - 1) / 2 + 1;
  auto pool_rows = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / Lo, t = r % Lo;
      const float* xb = x + b * L * C;
      // The window [2t-1, 2t+1] clipped to [0, L-1] (the -inf padding never wins), scanned upwards
      // with a strict > so ties go to the earliest index.
      const int64_t lo = 2 * t - 1 < 0 ? 0 : 2 * t - 1;
      const int64_t hi = 2 * t + 1 < L - 1 ? 2 * t + 1 : L - 1;
      float* o = out + r * C;
      int32_t* a = argmax ? argmax + r * C : nullptr;
      if (!a) {  // inference: selects over whole rows, which vectorise
        std::copy(xb + lo * C, xb + (lo + 1) * C, o);
        for (int64_t s = lo + 1; s <= hi; ++s) {
          const float* xs = xb + s * C;
          for (int64_t c = 0; c < C; ++c) o[c] = xs[c] > o[c] ? xs[c] : o[c];
        }
        continue;
      }
      for (int64_t c = 0; c < C; ++c) {
        float best = xb[lo * C + c];
        int64_t where = lo;
        for (int64_t s = lo + 1; s <= hi; ++s)
          if (xb[s * C + c] > best) {
            best = xb[s * C + c];
            where = s;
          }
        o[c] = best;
        a[c] = static_cast<int32_t>(where);
      }
    }
  };
  if (B * Lo * C >= (1 << 15)) {
    ThreadPool::global().parallel_for(B * Lo, 8, pool_rows);
  } else {
    pool_rows(0, B * Lo);
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
