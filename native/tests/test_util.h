// Minimal header-only helpers for the standalone C++ tests (no framework): failure-counting checks,
// float array comparison with error reporting, seeded random fill, and a main() helper.
//
//   int main() {
//     CHECK(1 + 1 == 2);
//     CHECK_NEAR(got, 0.5, 1e-6);
//     CHECK_ALLCLOSE(out.data(), ref.data(), n, 1e-5, 1e-4);
//     return test::finish("test_name");
//   }
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace test {

struct Counters {
  int64_t passed = 0;
  int64_t failed = 0;
};

inline Counters& counters() {
  static Counters c;
  return c;
}

// Records one check; prints the location and message of a failure. Returns `ok`.
inline bool record(bool ok, const char* file, int line, const char* what) {
  if (ok) {
    ++counters().passed;
  } else {
    ++counters().failed;
    std::fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
  }
  return ok;
}

// Result of comparing two float arrays.
struct Compare {
  bool ok = true;
  int64_t n = 0;
  int64_t worst = -1;      // index of the element furthest outside tolerance (or largest error)
  double max_abs = 0.0;    // max |got - want|
  double max_rel = 0.0;    // max |got - want| / |want| over elements with want != 0
  int64_t mismatches = 0;  // elements outside tolerance (NaN/Inf mismatches included)
};

// Element i passes when |got - want| <= atol + rtol * |want|; NaN matches only NaN and an infinity
// only the same infinity.
inline Compare compare(const float* got, const float* want, int64_t n, double atol, double rtol) {
  Compare r;
  r.n = n;
  double worst_excess = -1.0;
  for (int64_t i = 0; i < n; ++i) {
    const double g = got[i], w = want[i];
    bool ok;
    double excess;
    if (std::isnan(w) || std::isnan(g) || std::isinf(w) || std::isinf(g)) {
      ok = (std::isnan(w) && std::isnan(g)) || (g == w);
      excess = ok ? 0.0 : HUGE_VAL;
    } else {
      const double err = std::fabs(g - w);
      if (err > r.max_abs) r.max_abs = err;
      if (w != 0.0 && err / std::fabs(w) > r.max_rel) r.max_rel = err / std::fabs(w);
      const double tol = atol + rtol * std::fabs(w);
      ok = err <= tol;
      excess = err - tol;
    }
    if (!ok) ++r.mismatches;
    if (excess > worst_excess) {
      worst_excess = excess;
      r.worst = i;
    }
  }
  r.ok = r.mismatches == 0;
  return r;
}

inline bool check_allclose(const float* got, const float* want, int64_t n, double atol, double rtol, const char* file,
                           int line, const char* what) {
  const Compare r = compare(got, want, n, atol, rtol);
  if (!r.ok) {
    std::fprintf(stderr,
                 "FAIL %s:%d: %s: %lld of %lld elements differ (atol %g, rtol %g); max abs %.3g, max "
                 "rel %.3g; worst [%lld] got %.9g want %.9g\n",
                 file, line, what, static_cast<long long>(r.mismatches), static_cast<long long>(n), atol, rtol,
                 r.max_abs, r.max_rel, static_cast<long long>(r.worst), static_cast<double>(got[r.worst]),
                 static_cast<double>(want[r.worst]));
    ++counters().failed;
    return false;
  }
  ++counters().passed;
  return true;
}

inline bool check_near(double got, double want, double tol, const char* file, int line, const char* what) {
  const bool ok = std::fabs(got - want) <= tol;  // false for NaN
  if (!ok) {
    std::fprintf(stderr, "FAIL %s:%d: %s: got %.9g want %.9g (tol %g)\n", file, line, what, got, want, tol);
  }
  ok ? ++counters().passed : ++counters().failed;
  return ok;
}

// Deterministic random numbers: every test seeds its own generator.
class Rng {
 public:
  explicit Rng(uint32_t seed = 42) : gen_(seed) {}
  float uniform(float lo = -1.0f, float hi = 1.0f) { return std::uniform_real_distribution<float>(lo, hi)(gen_); }
  float normal(float mean = 0.0f, float stddev = 1.0f) { return std::normal_distribution<float>(mean, stddev)(gen_); }
  int64_t integer(int64_t lo, int64_t hi) {  // inclusive bounds
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen_);
  }
  void fill_uniform(float* x, int64_t n, float lo = -1.0f, float hi = 1.0f) {
    for (int64_t i = 0; i < n; ++i) x[i] = uniform(lo, hi);
  }
  void fill_normal(float* x, int64_t n, float mean = 0.0f, float stddev = 1.0f) {
    for (int64_t i = 0; i < n; ++i) x[i] = normal(mean, stddev);
  }
  std::vector<float> uniform_vector(int64_t n, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> v(static_cast<size_t>(n));
    fill_uniform(v.data(), n, lo, hi);
    return v;
  }
  std::vector<float> normal_vector(int64_t n, float mean = 0.0f, float stddev = 1.0f) {
    std::vector<float> v(static_cast<size_t>(n));
    fill_normal(v.data(), n, mean, stddev);
    return v;
  }
  std::mt19937& engine() { return gen_; }

 private:
  std::mt19937 gen_;
};

// Prints "<name>: N passed, M failed" and returns the process exit code (nonzero on any failure).
inline int finish(const char* name = "tests") {
  const Counters& c = counters();
  std::printf("%s: %lld passed, %lld failed\n", name, static_cast<long long>(c.passed),
              static_cast<long long>(c.failed));
  return c.failed == 0 ? 0 : 1;
}

}  // namespace test

#define CHECK(cond) ::test::record(static_cast<bool>(cond), __FILE__, __LINE__, #cond)

#define CHECK_MSG(cond, msg) ::test::record(static_cast<bool>(cond), __FILE__, __LINE__, msg)

#define CHECK_EQ(a, b) ::test::record((a) == (b), __FILE__, __LINE__, #a " == " #b)

#define CHECK_NEAR(got, want, tol)                                                                            \
  ::test::check_near(static_cast<double>(got), static_cast<double>(want), static_cast<double>(tol), __FILE__, \
                     __LINE__, #got " ~= " #want)

// CHECK_ALLCLOSE(got, want, n, atol, rtol): float arrays, reports max abs / rel error on failure.
#define CHECK_ALLCLOSE(got, want, n, atol, rtol) \
  ::test::check_allclose((got), (want), (n), (atol), (rtol), __FILE__, __LINE__, #got " vs " #want)

// Same, labelled with a run-time message (const char*), e.g. the case's shape.
#define CHECK_ALLCLOSE_MSG(got, want, n, atol, rtol, msg) \
  ::test::check_allclose((got), (want), (n), (atol), (rtol), __FILE__, __LINE__, (msg))
