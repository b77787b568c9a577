// Instance normalisation kernels (kernels/cpu/instance_norm.h): statistics against double-precision
// formulas, the placeholder steps passed through, the de-normalisation as the exact inverse of the
// normalisation, the MS channel mapping, and every backward against central finite differences of
// a random linear functional of the output (in double, so the check is of the formulas, not of
// float rounding).
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "cpu/instance_norm.h"
#include "test_util.h"

namespace {

using informer::WindowStatsKind;

void CheckStats(int64_t B, int64_t L, int64_t C) {
  test::Rng r(static_cast<uint32_t>(B * 131 + L * 7 + C));
  std::vector<float> x = r.normal_vector(B * L * C, 3.f, 2.f);
  std::vector<float> center(B * C), scale(B * C);
  informer::WindowStatsForward(WindowStatsKind::kMeanStd, B, L, C, x.data(), center.data(), scale.data());
  std::vector<float> want_c(B * C), want_s(B * C);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      double s = 0, sq = 0;
      for (int64_t t = 0; t < L; ++t) s += x[(b * L + t) * C + c];
      const double mean = s / L;
      for (int64_t t = 0; t < L; ++t) sq += (x[(b * L + t) * C + c] - mean) * (x[(b * L + t) * C + c] - mean);
      want_c[b * C + c] = static_cast<float>(mean);
      want_s[b * C + c] = static_cast<float>(std::sqrt(sq / L + 1e-5));
    }
  const std::string label = "stats [" + std::to_string(B) + "," + std::to_string(L) + "," + std::to_string(C) + "]";
  CHECK_ALLCLOSE_MSG(center.data(), want_c.data(), B * C, 1e-6, 1e-6, (label + " mean").c_str());
  CHECK_ALLCLOSE_MSG(scale.data(), want_s.data(), B * C, 1e-6, 1e-6, (label + " std").c_str());

  informer::WindowStatsForward(WindowStatsKind::kLast, B, L, C, x.data(), center.data(), scale.data());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      CHECK_EQ(center[b * C + c], x[(b * L + L - 1) * C + c]);
      CHECK_EQ(scale[b * C + c], 1.f);
    }
}

// A constant window has std sqrt(eps), not 0: the normalised window is all zeros, not NaN.
void CheckConstantWindow() {
  const int64_t L = 5;
  std::vector<float> x(L, 4.25f), center(1), scale(1), out(L);
  informer::WindowStatsForward(WindowStatsKind::kMeanStd, 1, L, 1, x.data(), center.data(), scale.data());
  CHECK_NEAR(center[0], 4.25, 1e-6);
  CHECK_NEAR(scale[0], std::sqrt(1e-5), 1e-9);
  informer::InstanceNormForward(1, L, L, 1, x.data(), center.data(), scale.data(), nullptr, nullptr, out.data());
  for (float v : out) CHECK_EQ(v, 0.f);
}

struct Case {
  int64_t B, L, L_norm, C_in, C_out;
  bool affine;
};

std::string Name(const Case& k, const char* what) {
  return std::string(what) + " B" + std::to_string(k.B) + " L" + std::to_string(k.L) + "/" + std::to_string(k.L_norm) +
         " C" + std::to_string(k.C_in) + "->" + std::to_string(k.C_out) + (k.affine ? " affine" : "");
}

// Central difference of f at each coordinate of p (in place, restored), in double.
std::vector<double> NumericGrad(std::vector<float>& p, const std::function<double()>& f, float eps) {
  std::vector<double> g(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const float keep = p[i];
    p[i] = keep + eps;
    const double up = f();
    p[i] = keep - eps;
    const double down = f();
    p[i] = keep;
    g[i] = (up - down) / (2.0 * static_cast<double>(eps));
  }
  return g;
}

void CheckClose(const std::vector<float>& got, const std::vector<double>& want, double rtol, const std::string& what) {
  std::vector<float> w(want.begin(), want.end());
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  CHECK_ALLCLOSE_MSG(got.data(), w.data(), static_cast<int64_t>(w.size()), rtol * scale + 1e-5, rtol, what.c_str());
}

void CheckCase(const Case& k) {
  test::Rng r(static_cast<uint32_t>(k.B * 1000 + k.L * 10 + k.C_in + k.C_out));
  const int64_t n_in = k.B * k.L * k.C_in, n_out = k.B * k.L * k.C_out;
  std::vector<float> x = r.normal_vector(n_in, 2.f, 3.f);
  std::vector<float> center(k.B * k.C_in), scale(k.B * k.C_in);
  informer::WindowStatsForward(WindowStatsKind::kMeanStd, k.B, k.L, k.C_in, x.data(), center.data(), scale.data());
  std::vector<float> w = r.uniform_vector(k.C_in, 0.5f, 1.5f), b = r.uniform_vector(k.C_in, -0.5f, 0.5f);
  const float* wp = k.affine ? w.data() : nullptr;
  const float* bp = k.affine ? b.data() : nullptr;

  // Forward: the formula on the first L_norm steps, a copy after them.
  std::vector<float> z(n_in);
  informer::InstanceNormForward(k.B, k.L, k.L_norm, k.C_in, x.data(), center.data(), scale.data(), wp, bp, z.data());
  bool formula = true, copied = true;
  for (int64_t bb = 0; bb < k.B; ++bb)
    for (int64_t t = 0; t < k.L; ++t)
      for (int64_t c = 0; c < k.C_in; ++c) {
        const int64_t i = (bb * k.L + t) * k.C_in + c;
        if (t >= k.L_norm) {
          copied = copied && z[i] == x[i];
          continue;
        }
        double want = (x[i] - center[bb * k.C_in + c]) / scale[bb * k.C_in + c];
        if (k.affine) want = want * w[c] + b[c];
        formula = formula && std::fabs(z[i] - want) <= 1e-5 * (1 + std::fabs(want));
      }
  CHECK_MSG(formula, Name(k, "normalised steps").c_str());
  CHECK_MSG(copied, Name(k, "placeholder steps passed through").c_str());

  // The inverse: with C_out = C_in the de-normalisation gives the window back.
  if (k.C_out == k.C_in && k.L_norm == k.L) {
    std::vector<float> back(n_in);
    informer::InstanceDenormForward(k.B, k.L, k.C_in, k.C_in, z.data(), center.data(), scale.data(), wp, bp,
                                    back.data());
    CHECK_ALLCLOSE_MSG(back.data(), x.data(), n_in, 1e-4, 1e-5, Name(k, "denorm(norm(x)) = x").c_str());
  }

  // Normalisation backward: the affine's gradients of sum(r * out).
  if (k.affine) {
    const std::vector<float> rz = r.normal_vector(n_in);
    auto f = [&]() {
      std::vector<float> o(n_in);
      informer::InstanceNormForward(k.B, k.L, k.L_norm, k.C_in, x.data(), center.data(), scale.data(), w.data(),
                                    b.data(), o.data());
      double s = 0;
      for (int64_t i = 0; i < n_in; ++i) s += static_cast<double>(rz[i]) * o[i];
      return s;
    };
    std::vector<float> dw(k.C_in, 0.25f), db(k.C_in, -0.5f);  // accumulated into
    informer::InstanceNormBackward(k.B, k.L, k.L_norm, k.C_in, x.data(), center.data(), scale.data(), rz.data(),
                                   dw.data(), db.data());
    std::vector<double> ndw = NumericGrad(w, f, 1e-2f), ndb = NumericGrad(b, f, 1e-2f);
    for (int64_t c = 0; c < k.C_in; ++c) ndw[c] += 0.25, ndb[c] -= 0.5;
    CheckClose(dw, ndw, 2e-3, Name(k, "norm d_weight"));
    CheckClose(db, ndb, 2e-3, Name(k, "norm d_bias"));
  }

  // De-normalisation of y [B, L, C_out] (channel j <- input channel C_in - C_out + j), its backward.
  std::vector<float> y = r.normal_vector(n_out);
  const std::vector<float> ro = r.normal_vector(n_out);
  std::vector<float> out(n_out);
  informer::InstanceDenormForward(k.B, k.L, k.C_out, k.C_in, y.data(), center.data(), scale.data(), wp, bp, out.data());
  bool mapped = true;
  for (int64_t bb = 0; bb < k.B; ++bb)
    for (int64_t t = 0; t < k.L; ++t)
      for (int64_t j = 0; j < k.C_out; ++j) {
        const int64_t m = k.C_in - k.C_out + j, i = (bb * k.L + t) * k.C_out + j;
        double v = y[i];
        if (k.affine) v = (v - b[m]) / (w[m] + 1e-10);
        const double want = v * scale[bb * k.C_in + m] + center[bb * k.C_in + m];
        mapped = mapped && std::fabs(out[i] - want) <= 1e-5 * (1 + std::fabs(want));
      }
  CHECK_MSG(mapped, Name(k, "denorm channel mapping").c_str());

  auto g = [&]() {
    std::vector<float> o(n_out);
    informer::InstanceDenormForward(k.B, k.L, k.C_out, k.C_in, y.data(), center.data(), scale.data(),
                                    k.affine ? w.data() : nullptr, k.affine ? b.data() : nullptr, o.data());
    double s = 0;
    for (int64_t i = 0; i < n_out; ++i) s += static_cast<double>(ro[i]) * o[i];
    return s;
  };
  std::vector<float> dy(n_out), dw(k.C_in, 0.f), db(k.C_in, 0.f);
  informer::InstanceDenormBackward(k.B, k.L, k.C_out, k.C_in, y.data(), center.data(), scale.data(), wp, bp, ro.data(),
                                   dy.data(), dw.data(), db.data());
  CheckClose(dy, NumericGrad(y, g, 1e-2f), 2e-3, Name(k, "denorm dy"));
  if (k.affine) {
    CheckClose(dw, NumericGrad(w, g, 1e-3f), 5e-3, Name(k, "denorm d_weight"));
    CheckClose(db, NumericGrad(b, g, 1e-2f), 2e-3, Name(k, "denorm d_bias"));
  }
  // dy may alias d_out.
  std::vector<float> io = ro, dw2(k.C_in, 0.f), db2(k.C_in, 0.f);
  informer::InstanceDenormBackward(k.B, k.L, k.C_out, k.C_in, y.data(), center.data(), scale.data(), wp, bp, io.data(),
                                   io.data(), dw2.data(), db2.data());
  CHECK_ALLCLOSE_MSG(io.data(), dy.data(), n_out, 0.0, 0.0, Name(k, "denorm dy in place").c_str());
}

}  // namespace

int main() {
  for (int64_t L : {1, 2, 12, 97}) CheckStats(3, L, 4);
  CheckStats(1, 336, 7);
  CheckConstantWindow();
  const Case cases[] = {
      {2, 12, 12, 3, 3, true}, {2, 12, 12, 3, 3, false}, {3, 18, 6, 3, 3, true},  // decoder input: label 6 of 18
      {2, 10, 10, 3, 1, true}, {4, 7, 7, 1, 1, true},    {2, 9, 9, 5, 2, false},  // MS and partial mappings
  };
  for (const Case& k : cases) CheckCase(k);
  return test::finish("test_instance_norm");
}
