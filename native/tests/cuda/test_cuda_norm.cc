// What test_backend_ops (every shape, against the CPU) does not check of the CUDA norms: run-to-run
// determinism of the parameter gradients, and that empty inputs launch nothing.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cuda/norm.h"
#include "cuda_test_util.h"
#include "cpu/norm.h"

namespace {

using test::DeviceVec;

std::string Label(const char* what, int64_t a, int64_t b) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s [%lld, %lld]", what, static_cast<long long>(a), static_cast<long long>(b));
  return buf;
}

void Close(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol,
           const std::string& what) {
  CHECK_MSG(got.size() == want.size(), what.c_str());
  CHECK_ALLCLOSE_MSG(got.data(), want.data(), static_cast<int64_t>(want.size()), atol, rtol, what.c_str());
}

// A float sum over `count` terms of order 1 drifts by about count * 2^-24 between summation orders.
double SumTolerance(int64_t count) { return 1e-5 + 2e-7 * static_cast<double>(count); }

// Copies of `host` placed at an offset of one float, so no row start is 16-byte aligned.
struct Misaligned {
  explicit Misaligned(const std::vector<float>& host)
      : buf([&] {
          std::vector<float> padded(host.size() + 1, 0.f);
          std::copy(host.begin(), host.end(), padded.begin() + 1);
          return padded;
        }()) {}
  float* get() const { return buf.get() + 1; }
  std::vector<float> host() const {
    std::vector<float> all = buf.host();
    return std::vector<float>(all.begin() + 1, all.end());
  }
  DeviceVec<float> buf;
};

// Two backward runs from zeroed gradients give the same bits.
void CheckLayerNormDeterministic(test::Rng& rng, int64_t rows, int64_t D) {
  const int64_t n = rows * D;
  DeviceVec<float> d_x(rng.normal_vector(n)), d_gamma(rng.uniform_vector(D)), d_dy(rng.normal_vector(n));
  DeviceVec<float> d_mean(rng.uniform_vector(rows)), d_rstd(rng.uniform_vector(rows, 0.5f, 2.f));
  std::vector<float> first_g, first_b;
  for (int run = 0; run < 2; ++run) {
    DeviceVec<float> d_dx(n, 0.f), d_dgamma(D, 0.f), d_dbeta(D, 0.f);
    informer::cuda::LayerNormBackward(nullptr, rows, D, d_x.get(), d_gamma.get(), d_mean.get(), d_rstd.get(),
                                      d_dy.get(), d_dx.get(), d_dgamma.get(), d_dbeta.get());
    test::sync_ok("LayerNormBackward determinism");
    if (run == 0) {
      first_g = d_dgamma.host(), first_b = d_dbeta.host();
    } else {
      CHECK_MSG(d_dgamma.host() == first_g && d_dbeta.host() == first_b,
                Label("LayerNorm dgamma/dbeta bitwise reproducible", rows, D).c_str());
    }
  }
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_norm")) return 77;
  test::Rng rng(2024);

  // Against the CPU at every shape: test_backend_ops. Here: the same input gives the same bits
  // every time (the reductions are fixed trees, no atomics), and empty inputs launch nothing.
  CheckLayerNormDeterministic(rng, 70, 64);
#ifndef INFORMER_CUDA_EMULATION
  CheckLayerNormDeterministic(rng, 32 * 96, 512);
#endif

  // Empty inputs launch nothing and raise no error.
  informer::cuda::LayerNormForward(nullptr, 0, 32, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  informer::cuda::LayerNormBackward(nullptr, 0, 32, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                    nullptr);
  informer::cuda::BatchNormForward(nullptr, 0, 0, nullptr, nullptr, nullptr, nullptr, nullptr, true, nullptr, nullptr,
                                   nullptr);
  informer::cuda::BatchNormBackward(nullptr, 0, 16, nullptr, nullptr, nullptr, nullptr, true, nullptr, nullptr, nullptr,
                                    nullptr);
  test::sync_ok("empty inputs");
  return test::finish("test_cuda_norm");
}
