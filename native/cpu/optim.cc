#include "cpu/optim.h"

#include <cmath>

#include "cpu/thread_pool.h"

namespace informer {

double MseForwardBackward(int64_t n, const float* pred, const float* target, float* d_pred) {
  double sum = 0.0;
  const float scale = 2.f / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i) {
    const float diff = pred[i] - target[i];
    sum += static_cast<double>(diff) * diff;
    if (d_pred) d_pred[i] = scale * diff;
  }
  return sum / static_cast<double>(n);
}

namespace {

// The update of elements [begin, end). Restrict-qualified and free of branches so the compiler
// vectorises it (sqrt and division stay IEEE, so results do not depend on the vector width).
template <bool kDecay>
void AdamRange(int64_t begin, int64_t end, float beta1, float beta2, float eps, float decay, float step_size,
               float bc2_sqrt, const float* __restrict grad, float* __restrict param, float* __restrict m,
               float* __restrict v) {
  for (int64_t i = begin; i < end; ++i) {
    float g = grad[i];
    if (kDecay) g += decay * param[i];
    m[i] = beta1 * m[i] + (1.f - beta1) * g;
    v[i] = beta2 * v[i] + (1.f - beta2) * g * g;
    param[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
  }
}

}  // namespace

void AdamUpdate(int64_t n, const AdamConfig& c, int64_t t, const float* grad, float* param, float* m, float* v) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(c.beta1), static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(static_cast<double>(c.beta2), static_cast<double>(t));
  const float step_size = static_cast<float>(c.lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  auto run = [&](int64_t begin, int64_t end) {
    if (c.weight_decay != 0.f)
      AdamRange<true>(begin, end, c.beta1, c.beta2, c.eps, c.weight_decay, step_size, bc2_sqrt, grad, param, m, v);
    else
      AdamRange<false>(begin, end, c.beta1, c.beta2, c.eps, 0.f, step_size, bc2_sqrt, grad, param, m, v);
  };
  // Large models stream four arrays (the paper config: 11M parameters, 180 MB): split over the pool;
  // the seed config's 30k parameters take microseconds and stay on the caller.
  constexpr int64_t kGrain = 1 << 16;
  if (n < 2 * kGrain) return run(0, n);
  ThreadPool::global().parallel_for(n, kGrain, run);
}

}  // namespace informer
