#include "cpu/optim.h"

#include <cmath>

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

void AdamUpdate(int64_t n, const AdamConfig& c, int64_t t, const float* grad, float* param, float* m, float* v) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(c.beta1), static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(static_cast<double>(c.beta2), static_cast<double>(t));
  const float step_size = static_cast<float>(c.lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (c.weight_decay != 0.f) g += c.weight_decay * param[i];
    m[i] = c.beta1 * m[i] + (1.f - c.beta1) * g;
    v[i] = c.beta2 * v[i] + (1.f - c.beta2) * g * g;
    param[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + c.eps);
  }
}

}  // namespace informer
