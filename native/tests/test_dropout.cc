// Dropout masks (kernels/cpu/dropout_mask.h, pointwise.h): the AVX2 lanes reproduce the portable
// generator bit for bit; masks are Bernoulli(1 - p) (kept fraction within a few sigma, no correlation
// between neighbouring elements or between the 16-bit draws of one 64-bit output); kept elements are
// scaled by 1 / (1 - p); the same seed gives the same mask and each call takes one draw of the model's
// generator.
#include <cmath>
#include <string>
#include <vector>

#include "base/rng.h"
#include "cpu/dropout_mask.h"
#include "cpu/pointwise.h"
#include "cpu/vecmath.h"
#include "test_util.h"

using namespace informer;

namespace {

std::string Label(const char* what, int64_t n, float p) {
  return std::string(what) + " n=" + std::to_string(n) + " p=" + std::to_string(p);
}

#if defined(__x86_64__) || defined(_M_X64)  // the AVX2 path exists only on x86-64
void PortableMatchesAvx2() {
  if (!vecmath_internal::Avx2Available()) return;
  for (int64_t n : {1, 5, 15, 16, 17, 31, 32, 100, 1000, 4099})
    for (float p : {0.05f, 0.3f, 0.5f, 0.9f}) {
      const uint32_t thr = KeepThreshold16(1.f - p);
      const uint64_t key = 0x1234567ull * n + 77;
      test::Rng r(static_cast<uint32_t>(n));
      const std::vector<float> x = r.uniform_vector(n);
      std::vector<float> xa = x, xb = x;
      std::vector<uint8_t> ka(n + 1, 9), kb(n + 1, 9);  // one guard byte past the end
      dropout_internal::DropoutMaskPortable(n, thr, key, 1.f / (1.f - p), xa.data(), ka.data());
      dropout_internal::DropoutMaskAvx2(n, thr, key, 1.f / (1.f - p), xb.data(), kb.data());
      CHECK_MSG(ka == kb, Label("same mask", n, p).c_str());
      CHECK_MSG(xa == xb, Label("same values", n, p).c_str());
      CHECK_MSG(kb[n] == 9, Label("no write past the end", n, p).c_str());
      std::vector<uint8_t> kc(n);
      dropout_internal::DropoutMaskAvx2(n, thr, key, 1.f, nullptr, kc.data());  // mask only
      CHECK_MSG(std::vector<uint8_t>(ka.begin(), ka.begin() + n) == kc, Label("mask without values", n, p).c_str());
    }
}
#endif

// A window [first, first + m) of a key's stream (what each half of a split batch draws) equals those
// elements of the whole mask, on the dispatching path and on the portable one, for windows starting
// on and inside a generator step, with and without values.
void WindowsMatchWholeMask() {
  const int64_t n = 1000;
  const float p = 0.3f;
  const uint32_t thr = KeepThreshold16(1.f - p);
  const uint64_t key = 0xC0FFEEull;
  std::vector<uint8_t> whole(n);
  DropoutMask(n, thr, key, 1.f, nullptr, whole.data());
  test::Rng r(3);
  const std::vector<float> x = r.uniform_vector(n);
  std::vector<float> xw = x;
  DropoutMask(n, thr, key, 2.f, xw.data(), nullptr);
  for (int64_t first : {0, 16, 7, 15, 333, 984, 999})
    for (int64_t m : {1, 5, 9, 16, 40, 1000}) {
      if (first + m > n) continue;
      const std::string what = "window first=" + std::to_string(first) + " m=" + std::to_string(m);
      std::vector<uint8_t> keep(m + 1, 9);
      std::vector<float> xs(x.begin() + first, x.begin() + first + m);
      DropoutMask(m, thr, key, 2.f, xs.data(), keep.data(), first);
      CHECK_MSG(std::vector<uint8_t>(whole.begin() + first, whole.begin() + first + m) ==
                    std::vector<uint8_t>(keep.begin(), keep.begin() + m),
                (what + ": mask").c_str());
      CHECK_MSG(std::vector<float>(xw.begin() + first, xw.begin() + first + m) == xs, (what + ": values").c_str());
      CHECK_MSG(keep[m] == 9, (what + ": no write past the end").c_str());
      if (first % 16 == 0) {
        std::vector<uint8_t> portable(m);
        dropout_internal::DropoutMaskPortable(m, thr, key, 1.f, nullptr, portable.data(), first / 16);
        CHECK_MSG(std::vector<uint8_t>(whole.begin() + first, whole.begin() + first + m) == portable,
                  (what + ": portable skip").c_str());
      }
    }
}

void BernoulliStatistics() {
  const int64_t n = 1 << 20;
  for (float p : {0.05f, 0.1f, 0.5f, 0.8f}) {
    std::vector<uint8_t> keep(n);
    Rng rng(2024);
    BernoulliMask(n, 1.f - p, &rng, keep.data());
    const double q = 1.0 - p;  // keep probability
    double kept = 0, pairs = 0, same_word = 0;
    for (int64_t i = 0; i < n; ++i) kept += keep[i];
    // Neighbours (i, i + 1), and draws 4 apart, which come from different lanes of the same step.
    for (int64_t i = 0; i + 1 < n; ++i) pairs += keep[i] * keep[i + 1];
    for (int64_t i = 0; i + 4 < n; ++i) same_word += keep[i] * keep[i + 4];
    const double sigma = std::sqrt(q * (1 - q) / n);
    CHECK_MSG(std::fabs(kept / n - q) < 5 * sigma, Label("kept fraction", n, p).c_str());
    // Independent draws: P(both kept) = q^2, within 5 sigma of a Bernoulli(q^2) mean.
    const double sigma2 = std::sqrt(q * q * (1 - q * q) / (n - 1));
    CHECK_MSG(std::fabs(pairs / (n - 1) - q * q) < 5 * sigma2, Label("adjacent pairs independent", n, p).c_str());
    CHECK_MSG(std::fabs(same_word / (n - 4) - q * q) < 5 * sigma2, Label("draws 4 apart independent", n, p).c_str());
    // Run of equal decisions over 16 consecutive elements (one generator step) for p = 0.5: the
    // fraction of all-kept blocks must be near 2^-16 * blocks, i.e. tiny, not a stuck generator.
    if (p == 0.5f) {
      int64_t stuck = 0;
      for (int64_t b = 0; b + 16 <= n; b += 16) {
        int s = 0;
        for (int j = 0; j < 16; ++j) s += keep[b + j];
        stuck += s == 0 || s == 16;
      }
      CHECK_MSG(stuck < 10, "no stuck 16-element blocks");
    }
  }
}

void ScalingAndReproducibility() {
  const int64_t n = 1003;
  const float p = 0.25f;
  test::Rng r(5);
  const std::vector<float> x = r.uniform_vector(n);
  std::vector<float> y = x, z = x;
  std::vector<uint8_t> ky(n), kz(n);
  Rng a(7), b(7);
  DropoutForward(n, p, &a, y.data(), ky.data());
  DropoutForward(n, p, &b, z.data(), kz.data());
  CHECK_MSG(ky == kz && y == z, "same seed, same mask and values");
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) ok = ok && y[i] == (ky[i] ? x[i] * (1.f / (1.f - p)) : 0.f);
  CHECK_MSG(ok, "kept elements scaled by 1 / (1 - p), dropped ones zero");
  // One draw of the generator per call: the next draws agree, and a second call gives a new mask.
  CHECK_EQ(a.Next(), b.Next());
  std::vector<float> w = x;
  std::vector<uint8_t> kw(n);
  DropoutForward(n, p, &a, w.data(), kw.data());
  CHECK_MSG(kw != ky, "the next call draws a different mask");
  // Without a mask buffer the values are the same as with one.
  Rng c(7);
  std::vector<float> u = x;
  DropoutForward(n, p, &c, u.data(), nullptr);
  CHECK_MSG(u == y, "values without a mask buffer");
  // DropoutBackward applies the same mask and scale.
  std::vector<float> g(n, 1.f);
  DropoutBackward(n, p, ky.data(), g.data());
  ok = true;
  for (int64_t i = 0; i < n; ++i) ok = ok && g[i] == (ky[i] ? 1.f / (1.f - p) : 0.f);
  CHECK_MSG(ok, "backward masks and scales");
  // Edge probabilities: keep everything, or nothing.
  std::vector<uint8_t> all(n);
  Rng d(1);
  BernoulliMask(n, 1.f, &d, all.data());
  int64_t s = 0;
  for (uint8_t k : all) s += k;
  CHECK_EQ(s, n);
  BernoulliMask(n, 0.f, &d, all.data());
  s = 0;
  for (uint8_t k : all) s += k;
  CHECK_EQ(s, 0);
}

}  // namespace

int main() {
#if defined(__x86_64__) || defined(_M_X64)
  PortableMatchesAvx2();
#endif
  BernoulliStatistics();
  WindowsMatchWholeMask();
  ScalingAndReproducibility();
  return test::finish("test_dropout");
}
