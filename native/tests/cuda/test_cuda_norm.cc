// CUDA LayerNorm and BatchNorm1d (cuda/norm.h) against the CPU kernels (kernels/cpu/norm.h): forward
// outputs and statistics, running-stat updates, backward with accumulation into non-zero gradients,
// in-place use, misaligned rows (scalar paths), both LayerNorm kernels (warp and block per row), and
// run-to-run determinism of the parameter gradients.
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
  explicit Misaligned(const std::vector<float>& host) : buf([&] {
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

void CheckLayerNorm(test::Rng& rng, int64_t rows, int64_t D) {
  const int64_t n = rows * D;
  const std::vector<float> x = rng.normal_vector(n, 0.5f, 2.f);
  const std::vector<float> gamma = rng.uniform_vector(D, 0.5f, 1.5f), beta = rng.uniform_vector(D, -0.5f, 0.5f);
  std::vector<float> out(n), mean(rows), rstd(rows);
  informer::LayerNormForward(rows, D, x.data(), gamma.data(), beta.data(), out.data(), mean.data(), rstd.data());

  DeviceVec<float> d_x(x), d_gamma(gamma), d_beta(beta), d_out(n), d_mean(rows), d_rstd(rows);
  informer::cuda::LayerNormForward(nullptr, rows, D, d_x.get(), d_gamma.get(), d_beta.get(), d_out.get(),
                                   d_mean.get(), d_rstd.get());
  test::sync_ok("LayerNormForward");
  Close(d_out.host(), out, 1e-5, 1e-4, Label("LayerNorm out", rows, D));
  Close(d_mean.host(), mean, 1e-6, 1e-5, Label("LayerNorm mean", rows, D));
  Close(d_rstd.host(), rstd, 1e-6, 1e-5, Label("LayerNorm rstd", rows, D));

  // In place, without the optional statistics.
  DeviceVec<float> d_io(x);
  informer::cuda::LayerNormForward(nullptr, rows, D, d_io.get(), d_gamma.get(), d_beta.get(), d_io.get(), nullptr,
                                   nullptr);
  test::sync_ok("LayerNormForward in place");
  Close(d_io.host(), out, 1e-5, 1e-4, Label("LayerNorm in place", rows, D));

  // Backward from the CPU's statistics; dx, dgamma and dbeta start non-zero (they accumulate).
  const std::vector<float> dy = rng.normal_vector(n);
  std::vector<float> dx = rng.uniform_vector(n), dgamma = rng.uniform_vector(D), dbeta = rng.uniform_vector(D);
  DeviceVec<float> d_dy(dy), d_dx(dx), d_dgamma(dgamma), d_dbeta(dbeta), d_cmean(mean), d_crstd(rstd);
  informer::LayerNormBackward(rows, D, x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(), dx.data(),
                              dgamma.data(), dbeta.data());
  informer::cuda::LayerNormBackward(nullptr, rows, D, d_x.get(), d_gamma.get(), d_cmean.get(), d_crstd.get(),
                                    d_dy.get(), d_dx.get(), d_dgamma.get(), d_dbeta.get());
  test::sync_ok("LayerNormBackward");
  Close(d_dx.host(), dx, 1e-5, 1e-4, Label("LayerNorm dx", rows, D));
  Close(d_dgamma.host(), dgamma, SumTolerance(rows), 1e-4, Label("LayerNorm dgamma", rows, D));
  Close(d_dbeta.host(), dbeta, SumTolerance(rows), 1e-4, Label("LayerNorm dbeta", rows, D));
}

// No row start is 16-byte aligned: the scalar paths must give the same results.
void CheckLayerNormMisaligned(test::Rng& rng, int64_t rows, int64_t D) {
  const int64_t n = rows * D;
  const std::vector<float> x = rng.normal_vector(n), gamma = rng.uniform_vector(D, 0.5f, 1.5f),
                           beta = rng.uniform_vector(D), dy = rng.normal_vector(n);
  std::vector<float> out(n), mean(rows), rstd(rows), dx(n, 0.f), dgamma(D, 0.f), dbeta(D, 0.f);
  informer::LayerNormForward(rows, D, x.data(), gamma.data(), beta.data(), out.data(), mean.data(), rstd.data());
  informer::LayerNormBackward(rows, D, x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(), dx.data(),
                              dgamma.data(), dbeta.data());
  const std::vector<float> zeros(n, 0.f);
  Misaligned d_x(x), d_gamma(gamma), d_beta(beta), d_out(zeros), d_dy(dy), d_dx(zeros);
  DeviceVec<float> d_mean(rows), d_rstd(rows), d_dgamma(D, 0.f), d_dbeta(D, 0.f);
  informer::cuda::LayerNormForward(nullptr, rows, D, d_x.get(), d_gamma.get(), d_beta.get(), d_out.get(),
                                   d_mean.get(), d_rstd.get());
  informer::cuda::LayerNormBackward(nullptr, rows, D, d_x.get(), d_gamma.get(), d_mean.get(), d_rstd.get(),
                                    d_dy.get(), d_dx.get(), d_dgamma.get(), d_dbeta.get());
  test::sync_ok("LayerNorm misaligned");
  Close(d_out.host(), out, 1e-5, 1e-4, Label("LayerNorm misaligned out", rows, D));
  Close(d_dx.host(), dx, 1e-5, 1e-4, Label("LayerNorm misaligned dx", rows, D));
  Close(d_dgamma.host(), dgamma, SumTolerance(rows), 1e-4, Label("LayerNorm misaligned dgamma", rows, D));
}

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

void CheckBatchNorm(test::Rng& rng, int64_t N, int64_t C) {
  const int64_t n = N * C;
  const std::vector<float> x = rng.normal_vector(n, 1.5f, 2.f);
  const std::vector<float> gamma = rng.uniform_vector(C, 0.5f, 1.5f), beta = rng.uniform_vector(C, -0.5f, 0.5f);
  const std::vector<float> rm0 = rng.uniform_vector(C, -0.5f, 0.5f), rv0 = rng.uniform_vector(C, 0.5f, 1.5f);

  // Train: batch statistics and the running-stat update.
  std::vector<float> rm = rm0, rv = rv0, out(n), mean(C), rstd(C);
  int64_t tracked = 0;
  informer::BatchNormForward(N, C, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), &tracked, true,
                             out.data(), mean.data(), rstd.data());
  DeviceVec<float> d_x(x), d_gamma(gamma), d_beta(beta), d_rm(rm0), d_rv(rv0), d_out(n), d_mean(C), d_rstd(C);
  informer::cuda::BatchNormForward(nullptr, N, C, d_x.get(), d_gamma.get(), d_beta.get(), d_rm.get(), d_rv.get(),
                                   true, d_out.get(), d_mean.get(), d_rstd.get());
  test::sync_ok("BatchNormForward train");
  Close(d_out.host(), out, 1e-5, 1e-4, Label("BatchNorm train out", N, C));
  Close(d_mean.host(), mean, 1e-6, 1e-5, Label("BatchNorm train mean", N, C));
  Close(d_rstd.host(), rstd, 1e-6, 1e-5, Label("BatchNorm train rstd", N, C));
  Close(d_rm.host(), rm, 1e-6, 1e-5, Label("BatchNorm running_mean", N, C));
  Close(d_rv.host(), rv, 1e-6, 1e-5, Label("BatchNorm running_var", N, C));

  // Train in place (no optional outputs): the same normalised values.
  DeviceVec<float> d_io(x), d_rm2(rm0), d_rv2(rv0);
  informer::cuda::BatchNormForward(nullptr, N, C, d_io.get(), d_gamma.get(), d_beta.get(), d_rm2.get(), d_rv2.get(),
                                   true, d_io.get(), nullptr, nullptr);
  test::sync_ok("BatchNormForward train in place");
  Close(d_io.host(), out, 1e-5, 1e-4, Label("BatchNorm train in place", N, C));

  // Train backward from the batch statistics.
  const std::vector<float> dy = rng.normal_vector(n);
  std::vector<float> dx = rng.uniform_vector(n), dgamma = rng.uniform_vector(C), dbeta = rng.uniform_vector(C);
  DeviceVec<float> d_dy(dy), d_dx(dx), d_dgamma(dgamma), d_dbeta(dbeta), d_cmean(mean), d_crstd(rstd);
  informer::BatchNormBackward(N, C, x.data(), gamma.data(), mean.data(), rstd.data(), true, dy.data(), dx.data(),
                              dgamma.data(), dbeta.data());
  informer::cuda::BatchNormBackward(nullptr, N, C, d_x.get(), d_gamma.get(), d_cmean.get(), d_crstd.get(), true,
                                    d_dy.get(), d_dx.get(), d_dgamma.get(), d_dbeta.get());
  test::sync_ok("BatchNormBackward train");
  Close(d_dx.host(), dx, 1e-5, 1e-4, Label("BatchNorm train dx", N, C));
  Close(d_dgamma.host(), dgamma, 1e-5, 1e-4, Label("BatchNorm train dgamma", N, C));
  Close(d_dbeta.host(), dbeta, 1e-5, 1e-4, Label("BatchNorm train dbeta", N, C));

  // Eval with the updated running stats, then the affine backward.
  std::vector<float> eout(n), emean(C), erstd(C);
  informer::BatchNormForward(N, C, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), &tracked, false,
                             eout.data(), emean.data(), erstd.data());
  DeviceVec<float> d_eout(n), d_emean(C), d_erstd(C);
  informer::cuda::BatchNormForward(nullptr, N, C, d_x.get(), d_gamma.get(), d_beta.get(), d_rm.get(), d_rv.get(),
                                   false, d_eout.get(), d_emean.get(), d_erstd.get());
  test::sync_ok("BatchNormForward eval");
  Close(d_eout.host(), eout, 1e-5, 1e-4, Label("BatchNorm eval out", N, C));
  Close(d_emean.host(), emean, 0.0, 1e-5, Label("BatchNorm eval mean", N, C));
  Close(d_erstd.host(), erstd, 1e-6, 1e-5, Label("BatchNorm eval rstd", N, C));
  CHECK_MSG(d_rm.host() == rm, Label("BatchNorm eval leaves running_mean", N, C).c_str());

  DeviceVec<float> d_eio(x);
  informer::cuda::BatchNormForward(nullptr, N, C, d_eio.get(), d_gamma.get(), d_beta.get(), d_rm.get(), d_rv.get(),
                                   false, d_eio.get(), nullptr, nullptr);
  test::sync_ok("BatchNormForward eval in place");
  Close(d_eio.host(), eout, 1e-5, 1e-4, Label("BatchNorm eval in place", N, C));

  std::vector<float> edx = rng.uniform_vector(n), edgamma = rng.uniform_vector(C), edbeta = rng.uniform_vector(C);
  DeviceVec<float> d_edx(edx), d_edgamma(edgamma), d_edbeta(edbeta), d_cemean(emean), d_cerstd(erstd);
  informer::BatchNormBackward(N, C, x.data(), gamma.data(), emean.data(), erstd.data(), false, dy.data(), edx.data(),
                              edgamma.data(), edbeta.data());
  informer::cuda::BatchNormBackward(nullptr, N, C, d_x.get(), d_gamma.get(), d_cemean.get(), d_cerstd.get(), false,
                                    d_dy.get(), d_edx.get(), d_edgamma.get(), d_edbeta.get());
  test::sync_ok("BatchNormBackward eval");
  Close(d_edx.host(), edx, 1e-5, 1e-4, Label("BatchNorm eval dx", N, C));
  Close(d_edgamma.host(), edgamma, 1e-5, 1e-4, Label("BatchNorm eval dgamma", N, C));
  Close(d_edbeta.host(), edbeta, 1e-5, 1e-4, Label("BatchNorm eval dbeta", N, C));

  // The train forward and backward again on fresh buffers: the same bits.
  DeviceVec<float> d_rm3(rm0), d_rv3(rv0), d_out3(n), d_dx3(dx.size(), 0.f), d_dx4(dx.size(), 0.f);
  informer::cuda::BatchNormForward(nullptr, N, C, d_x.get(), d_gamma.get(), d_beta.get(), d_rm3.get(), d_rv3.get(),
                                   true, d_out3.get(), nullptr, nullptr);
  DeviceVec<float> d_g3(C, 0.f), d_b3(C, 0.f), d_g4(C, 0.f), d_b4(C, 0.f);
  informer::cuda::BatchNormBackward(nullptr, N, C, d_x.get(), d_gamma.get(), d_cmean.get(), d_crstd.get(), true,
                                    d_dy.get(), d_dx3.get(), d_g3.get(), d_b3.get());
  informer::cuda::BatchNormBackward(nullptr, N, C, d_x.get(), d_gamma.get(), d_cmean.get(), d_crstd.get(), true,
                                    d_dy.get(), d_dx4.get(), d_g4.get(), d_b4.get());
  test::sync_ok("BatchNorm determinism");
  CHECK_MSG(d_rv3.host() == d_rv.host(), Label("BatchNorm running_var reproducible", N, C).c_str());
  CHECK_MSG(d_dx3.host() == d_dx4.host() && d_g3.host() == d_g4.host() && d_b3.host() == d_b4.host(),
            Label("BatchNorm backward reproducible", N, C).c_str());
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_norm")) return 77;
  test::Rng rng(2024);

  // Fixture widths (d_model 32, 64, 512) and odd ones; D > 1024 takes the block-per-row kernels
  // (1500: 4 registers per thread, 3000: 8, 5000: re-read from cache).
  const int64_t ln_shapes[][2] = {{12, 32}, {18, 64}, {9, 512}, {5, 7},    {7, 33},   {3, 1000},
                                  {1, 1},   {6, 128}, {3, 96},  {2, 1500}, {2, 3000}, {2, 5000}};
  for (const auto& s : ln_shapes) CheckLayerNorm(rng, s[0], s[1]);
  CheckLayerNormMisaligned(rng, 5, 512);
  CheckLayerNormMisaligned(rng, 2, 2048);
  CheckLayerNormDeterministic(rng, 70, 64);

  // BatchNorm1d over [B*L, C]: fixture-like and odd shapes, a single row (unbiased var == biased).
  const int64_t bn_shapes[][2] = {{96, 32}, {48, 64}, {24, 512}, {37, 7}, {50, 33}, {1, 5}, {2, 3}, {130, 40}};
  for (const auto& s : bn_shapes) CheckBatchNorm(rng, s[0], s[1]);

#ifndef INFORMER_CUDA_EMULATION
  // The fixtures' full sizes: seed (batch 32, L 12, d_model 32), paper_small (2 x 96, 64), paper
  // (32 x 96, 512; d_ff 2048 rows for the wide-row kernels).
  const int64_t big_ln[][2] = {{32 * 12, 32}, {2 * 96, 64}, {32 * 96, 512}, {32 * 72, 512}, {32 * 96, 2048},
                               {1000, 1000},  {257, 4099}};
  for (const auto& s : big_ln) CheckLayerNorm(rng, s[0], s[1]);
  CheckLayerNormDeterministic(rng, 32 * 96, 512);
  const int64_t big_bn[][2] = {{32 * 12, 32}, {2 * 96, 64}, {32 * 96, 512}, {32 * 48, 512}, {1000, 999}};
  for (const auto& s : big_bn) CheckBatchNorm(rng, s[0], s[1]);
#endif

  // Empty inputs launch nothing and raise no error.
  informer::cuda::LayerNormForward(nullptr, 0, 32, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  informer::cuda::LayerNormBackward(nullptr, 0, 32, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                    nullptr);
  informer::cuda::BatchNormForward(nullptr, 0, 0, nullptr, nullptr, nullptr, nullptr, nullptr, true, nullptr, nullptr,
                                   nullptr);
  informer::cuda::BatchNormBackward(nullptr, 0, 16, nullptr, nullptr, nullptr, nullptr, true, nullptr, nullptr,
                                    nullptr, nullptr);
  test::sync_ok("empty inputs");
  return test::finish("test_cuda_norm");
}
