// GELU backward (kernels/cpu/pointwise.h ActivationBackward, the exact erf form) against
// Phi(x) + x phi(x) in double: over the range the feed-forward layers see, with lengths that leave
// vector tails, and with dx aliasing dy.
#include <cmath>
#include <string>
#include <vector>

#include "cpu/pointwise.h"
#include "test_util.h"

namespace {

double GeluGrad(double x) {
  const double cdf = 0.5 * std::erfc(-x / std::sqrt(2.0));
  const double pdf = std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
  return cdf + x * pdf;
}

void Check(int64_t n, float lo, float hi, bool alias) {
  test::Rng r(static_cast<uint32_t>(n));
  const std::vector<float> pre = r.uniform_vector(n, lo, hi), dy = r.uniform_vector(n);
  std::vector<float> dx(n, 0.f), want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = static_cast<float>(dy[i] * GeluGrad(pre[i]));
  std::vector<float> buf = dy;
  float* out = alias ? buf.data() : dx.data();
  informer::ActivationBackward(2, n, pre.data(), buf.data(), out);
  const std::string label = "gelu' n=" + std::to_string(n) + (alias ? " aliased" : "");
  // A&S 7.1.26 erf: absolute error below 1e-6 in the derivative (|dy| <= 1).
  CHECK_ALLCLOSE_MSG(out, want.data(), n, 2e-6, 0.0, label.c_str());
}

}  // namespace

int main() {
  for (int64_t n : {1, 7, 8, 9, 100, 4099}) {
    Check(n, -6.f, 6.f, false);
    Check(n, -6.f, 6.f, true);
  }
  Check(1000, -40.f, 40.f, false);  // far tails: gelu' -> 0 and 1
  // Exact points: gelu'(0) = 0.5.
  const float zero = 0.f, one = 1.f;
  float g = 0.f;
  informer::ActivationBackward(2, 1, &zero, &one, &g);
  CHECK_NEAR(g, 0.5, 1e-7);
  return test::finish("test_gelu_backward");
}
