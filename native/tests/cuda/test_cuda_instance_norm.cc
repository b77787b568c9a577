// CUDA instance normalisation (cuda/instance_norm.h) against the CPU kernels
// (kernels/cpu/instance_norm.h): statistics of both kinds, the normalisation with and without the
// affine and with placeholder steps, the de-normalisation with the MS channel mapping, both
// backwards with accumulation into non-zero gradients, dy aliasing d_out, and run-to-run
// determinism of the parameter gradients.
#include <string>
#include <vector>

#include "cuda/instance_norm.h"
#include "cuda_test_util.h"
#include "cpu/instance_norm.h"

namespace {

using informer::WindowStatsKind;
using test::DeviceVec;

struct Case {
  int64_t B, L, L_norm, C_in, C_out;
  bool affine;
  WindowStatsKind kind;
};

std::string Name(const Case& k, const char* what) {
  return std::string(what) + " B" + std::to_string(k.B) + " L" + std::to_string(k.L) + "/" + std::to_string(k.L_norm) +
         " C" + std::to_string(k.C_in) + "->" + std::to_string(k.C_out) + (k.affine ? " affine" : "") +
         (k.kind == WindowStatsKind::kLast ? " last" : " revin");
}

void Close(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol,
           const std::string& what) {
  CHECK_MSG(got.size() == want.size(), what.c_str());
  CHECK_ALLCLOSE_MSG(got.data(), want.data(), static_cast<int64_t>(want.size()), atol, rtol, what.c_str());
}

void CheckCase(const Case& k) {
  test::Rng r(static_cast<uint32_t>(k.B * 977 + k.L * 31 + k.C_in * 7 + k.C_out));
  const int64_t n_in = k.B * k.L * k.C_in, n_out = k.B * k.L * k.C_out, n_stat = k.B * k.C_in;
  const std::vector<float> x = r.normal_vector(n_in, 1.5f, 2.f);
  const std::vector<float> w = r.uniform_vector(k.C_in, 0.5f, 1.5f), b = r.uniform_vector(k.C_in, -0.5f, 0.5f);
  const float* wp = k.affine ? w.data() : nullptr;
  const float* bp = k.affine ? b.data() : nullptr;
  DeviceVec<float> d_x(x), d_w(w), d_b(b);
  float* dwp = k.affine ? d_w.get() : nullptr;
  float* dbp = k.affine ? d_b.get() : nullptr;

  std::vector<float> center(n_stat), scale(n_stat);
  informer::WindowStatsForward(k.kind, k.B, k.L, k.C_in, x.data(), center.data(), scale.data());
  DeviceVec<float> d_center(n_stat), d_scale(n_stat);
  informer::cuda::WindowStatsForward(nullptr, k.kind, k.B, k.L, k.C_in, d_x.get(), d_center.get(), d_scale.get());
  test::sync_ok("WindowStatsForward");
  Close(d_center.host(), center, 1e-6, 1e-6, Name(k, "center"));
  Close(d_scale.host(), scale, 1e-6, 1e-6, Name(k, "scale"));

  // From here on both devices use the CPU's statistics, so each kernel is compared on its own.
  DeviceVec<float> s_center(center), s_scale(scale);
  std::vector<float> z(n_in);
  informer::InstanceNormForward(k.B, k.L, k.L_norm, k.C_in, x.data(), center.data(), scale.data(), wp, bp, z.data());
  DeviceVec<float> d_z(n_in);
  informer::cuda::InstanceNormForward(nullptr, k.B, k.L, k.L_norm, k.C_in, d_x.get(), s_center.get(), s_scale.get(),
                                      dwp, dbp, d_z.get());
  test::sync_ok("InstanceNormForward");
  Close(d_z.host(), z, 1e-6, 1e-6, Name(k, "normalised"));

  const std::vector<float> y = r.normal_vector(n_out);
  DeviceVec<float> d_y(y);
  std::vector<float> out(n_out);
  informer::InstanceDenormForward(k.B, k.L, k.C_out, k.C_in, y.data(), center.data(), scale.data(), wp, bp, out.data());
  DeviceVec<float> d_out(n_out);
  informer::cuda::InstanceDenormForward(nullptr, k.B, k.L, k.C_out, k.C_in, d_y.get(), s_center.get(), s_scale.get(),
                                        dwp, dbp, d_out.get());
  test::sync_ok("InstanceDenormForward");
  Close(d_out.host(), out, 1e-5, 1e-6, Name(k, "de-normalised"));

  // Backward passes accumulate into gradients that start non-zero.
  const std::vector<float> g_in = r.normal_vector(n_in), g_out = r.normal_vector(n_out);
  std::vector<float> gw = r.uniform_vector(k.C_in), gb = r.uniform_vector(k.C_in);
  DeviceVec<float> d_gin(g_in), d_gout(g_out), d_gw(gw), d_gb(gb);
  if (k.affine) {
    informer::InstanceNormBackward(k.B, k.L, k.L_norm, k.C_in, x.data(), center.data(), scale.data(), g_in.data(),
                                   gw.data(), gb.data());
    informer::cuda::InstanceNormBackward(nullptr, k.B, k.L, k.L_norm, k.C_in, d_x.get(), s_center.get(), s_scale.get(),
                                         d_gin.get(), d_gw.get(), d_gb.get());
    test::sync_ok("InstanceNormBackward");
  }
  std::vector<float> dy(n_out);
  informer::InstanceDenormBackward(k.B, k.L, k.C_out, k.C_in, y.data(), center.data(), scale.data(), wp, bp,
                                   g_out.data(), dy.data(), gw.data(), gb.data());
  DeviceVec<float> d_dy(n_out);
  informer::cuda::InstanceDenormBackward(nullptr, k.B, k.L, k.C_out, k.C_in, d_y.get(), s_center.get(), s_scale.get(),
                                         dwp, dbp, d_gout.get(), d_dy.get(), d_gw.get(), d_gb.get());
  test::sync_ok("InstanceDenormBackward");
  Close(d_dy.host(), dy, 1e-6, 1e-6, Name(k, "dy"));
  const double tol = 1e-5 + 2e-7 * static_cast<double>(k.B * k.L);
  Close(d_gw.host(), gw, tol, 1e-5, Name(k, "d_weight"));
  Close(d_gb.host(), gb, tol, 1e-5, Name(k, "d_bias"));

  // dy in place over d_out, and the same bits on a second run.
  DeviceVec<float> d_io(g_out), d_gw2(k.C_in, 0.f), d_gb2(k.C_in, 0.f), d_gw3(k.C_in, 0.f), d_gb3(k.C_in, 0.f);
  informer::cuda::InstanceDenormBackward(nullptr, k.B, k.L, k.C_out, k.C_in, d_y.get(), s_center.get(), s_scale.get(),
                                         dwp, dbp, d_io.get(), d_io.get(), d_gw2.get(), d_gb2.get());
  informer::cuda::InstanceDenormBackward(nullptr, k.B, k.L, k.C_out, k.C_in, d_y.get(), s_center.get(), s_scale.get(),
                                         dwp, dbp, d_gout.get(), d_dy.get(), d_gw3.get(), d_gb3.get());
  test::sync_ok("InstanceDenormBackward in place");
  Close(d_io.host(), d_dy.host(), 0.0, 0.0, Name(k, "dy in place"));
  CHECK_MSG(d_gw2.host() == d_gw3.host() && d_gb2.host() == d_gb3.host(), Name(k, "deterministic d_weight").c_str());
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_instance_norm")) return 77;
  const Case cases[] = {
      {2, 12, 12, 3, 3, true, WindowStatsKind::kMeanStd},  {3, 18, 6, 3, 3, true, WindowStatsKind::kMeanStd},
      {4, 10, 10, 3, 1, true, WindowStatsKind::kMeanStd},  {2, 9, 9, 5, 2, false, WindowStatsKind::kLast},
      {2, 18, 6, 2, 2, false, WindowStatsKind::kLast},     {1, 300, 300, 1, 1, true, WindowStatsKind::kMeanStd},
      {33, 96, 48, 7, 7, true, WindowStatsKind::kMeanStd},  // more terms per channel than threads in a block
  };
  for (const Case& k : cases) CheckCase(k);
  return test::finish("test_cuda_instance_norm");
}
