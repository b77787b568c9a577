// sgemm against a double-precision triple loop: all transpose combinations, odd shapes, padded
// leading dimensions, alpha/beta, the fused epilogue, every kernel set this CPU can run (forced through
// gemm_force_kernel), with and without the pool.
#include <cmath>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/gemm_internal.h"
#include "cpu/thread_pool.h"
#include "test_util.h"

using informer::Activation;
using informer::GemmEpilogue;
using informer::PackedB;
using informer::sgemm;
using informer::sgemm_packed_b;
using informer::ThreadPool;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

// The kernel sets this machine can run; each test runs under every one of them.
std::vector<std::string> available_kernels() {
  std::vector<std::string> out;
  for (const char* name : {"avx512", "avx2", "portable"}) {
    if (informer::gemm_internal::gemm_force_kernel(name)) out.push_back(name);
  }
  informer::gemm_internal::gemm_force_kernel(nullptr);
  return out;
}

double gelu_ref(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }

struct Case {
  bool ta = false, tb = false;
  int64_t M = 1, N = 1, K = 1;
  int64_t pad = 0;  // extra elements per row of A, B, C and residual
  float alpha = 1.0f, beta = 0.0f;
  bool bias = false, residual = false;
  Activation act = Activation::kNone;

  std::string name() const {
    char buf[200];
    std::snprintf(buf, sizeof(buf), "%s%s M=%lld N=%lld K=%lld pad=%lld alpha=%g beta=%g%s%s act=%d", ta ? "T" : "N",
                  tb ? "T" : "N", static_cast<long long>(M), static_cast<long long>(N), static_cast<long long>(K),
                  static_cast<long long>(pad), alpha, beta, bias ? " bias" : "", residual ? " residual" : "",
                  static_cast<int>(act));
    return buf;
  }
};

// Inputs of one case plus its double-precision reference result.
struct Data {
  int64_t lda, ldb, ldc, ldr;
  std::vector<float> A, B, C0, bias, residual, want;
};

Data make_data(const Case& c, uint32_t seed) {
  test::Rng rng(seed);
  Data d;
  const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  d.lda = a_cols + c.pad;
  d.ldb = b_cols + c.pad;
  d.ldc = c.N + c.pad;
  d.ldr = c.N + 2 * c.pad;
  d.A = rng.uniform_vector(std::max<int64_t>(a_rows * d.lda, 1));
  d.B = rng.uniform_vector(std::max<int64_t>(b_rows * d.ldb, 1));
  if (c.beta == 0.0f) {
    d.C0.assign(static_cast<size_t>(std::max<int64_t>(c.M * d.ldc, 1)), kNaN);  // must not be read
  } else {
    d.C0 = rng.uniform_vector(std::max<int64_t>(c.M * d.ldc, 1));
  }
  if (c.bias) d.bias = rng.uniform_vector(std::max<int64_t>(c.N, 1));
  if (c.residual) d.residual = rng.uniform_vector(std::max<int64_t>(c.M * d.ldr, 1));

  d.want = d.C0;
  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < c.N; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double a = c.ta ? d.A[k * d.lda + i] : d.A[i * d.lda + k];
        const double b = c.tb ? d.B[j * d.ldb + k] : d.B[k * d.ldb + j];
        acc += a * b;
      }
      double v = c.alpha * acc;
      if (c.beta != 0.0f) v += static_cast<double>(c.beta) * d.C0[i * d.ldc + j];
      if (c.bias) v += d.bias[j];
      if (c.act == Activation::kRelu) v = v < 0.0 ? 0.0 : v;
      if (c.act == Activation::kGelu) v = gelu_ref(v);
      if (c.residual) v += d.residual[i * d.ldr + j];
      d.want[i * d.ldc + j] = static_cast<float>(v);
    }
  }
  return d;
}

void run_case(const Case& c, const Data& d, ThreadPool* pool, const char* kernel) {
  std::vector<float> C = d.C0;
  GemmEpilogue ep;
  ep.bias = c.bias ? d.bias.data() : nullptr;
  ep.act = c.act;
  ep.residual = c.residual ? d.residual.data() : nullptr;
  ep.ldr = d.ldr;
  informer::sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, d.A.data(), d.lda, d.B.data(), d.ldb, c.beta, C.data(), d.ldc, ep,
                  pool);
  // Rows of C (valid columns only) against the reference; padding must be untouched.
  const double atol = 2e-5 * std::sqrt(static_cast<double>(c.K) + 1.0);
  const std::string label = c.name() + " kernel=" + kernel + (pool ? " pool" : " serial");
  bool ok = true;
  for (int64_t i = 0; i < c.M && ok; ++i) {
    const test::Compare r = test::compare(C.data() + i * d.ldc, d.want.data() + i * d.ldc, c.N, atol, 1e-4);
    if (!r.ok) {
      ok = CHECK_ALLCLOSE_MSG(C.data() + i * d.ldc, d.want.data() + i * d.ldc, c.N, atol, 1e-4,
                              (label + " row " + std::to_string(i)).c_str());
    }
    for (int64_t j = c.N; j < d.ldc && ok; ++j) {
      const float got = C[i * d.ldc + j], was = d.C0[i * d.ldc + j];
      if (!(got == was || (std::isnan(got) && std::isnan(was)))) {
        ok = CHECK_MSG(false, (label + ": padding of C was written").c_str());
      }
    }
  }
  if (ok) CHECK_MSG(true, label.c_str());
}

// Runs the case with every kernel this machine has, serially and on the given pools.
void run_all(const Case& c, uint32_t seed, const std::vector<ThreadPool*>& pools) {
  const Data d = make_data(c, seed);
  for (const std::string& name : available_kernels()) {
    informer::gemm_internal::gemm_force_kernel(name.c_str());
    const char* kernel = informer::gemm_kernel_name();
    run_case(c, d, nullptr, kernel);
    for (ThreadPool* pool : pools) run_case(c, d, pool, kernel);
  }
  informer::gemm_internal::gemm_force_kernel(nullptr);
}

// Kernel choice: the automatic pick is the widest ISA the CPU (and OS) has, forcing a kernel is
// reflected by gemm_kernel_name(), and unknown or unavailable kernels are refused.
void test_kernel_choice() {
  namespace gi = informer::gemm_internal;
  const std::string automatic = informer::gemm_kernel_name();
  const std::vector<std::string> avail = available_kernels();
  std::string names;
  for (const std::string& n : avail) names += " " + n;
  std::printf("kernels available:%s (automatic: %s)\n", names.c_str(), automatic.c_str());
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  // The compiler's own CPU detection (which also checks the OS state) must agree with the driver's.
  __builtin_cpu_init();
  const bool has512 = __builtin_cpu_supports("avx512f");
  const bool has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  CHECK_MSG(gi::gemm_force_kernel("avx512") == has512, "avx512 available iff the CPU has AVX-512F");
  CHECK_MSG(gi::gemm_force_kernel("avx2") == has2, "avx2 available iff the CPU has AVX2 and FMA");
  gi::gemm_force_kernel(nullptr);
  if (!std::getenv("INFORMER_GEMM_KERNEL")) {
    const char* want = has512 ? "avx512" : has2 ? "avx2-fma" : "portable";
    CHECK_MSG(automatic == want, ("automatic kernel " + automatic + ", expected " + want).c_str());
  }
#endif
  for (const std::string& n : avail) {
    CHECK_MSG(gi::gemm_force_kernel(n.c_str()), ("force " + n).c_str());
    const std::string got = informer::gemm_kernel_name();
    CHECK_MSG(got.rfind(n, 0) == 0, ("forced " + n + " reports " + got).c_str());
  }
  CHECK_MSG(!gi::gemm_force_kernel("sse9"), "unknown kernel refused");
  CHECK_MSG(gi::gemm_force_kernel(nullptr), "automatic choice restored");
  CHECK_MSG(automatic == informer::gemm_kernel_name(), "automatic kernel after forcing");
}

void test_shapes() {
  struct Shape {
    int64_t M, N, K;
  };
  const Shape shapes[] = {
      {1, 1, 1},
      {7, 13, 5},
      {17, 33, 65},
      {100, 1, 37},
      {1, 100, 3},
      {12, 32, 32},
      {18, 128, 32},
      {6, 16, 256},
      {6, 16, 257},
      {64, 48, 700},
      {129, 257, 63},
      {384, 32, 32},
      {13, 4111, 20},
      {300, 200, 300},
      {3072, 512, 64},
      {2, 3, 5000},
      {1, 1, 3000},
      // Tile edges of the 12x32 AVX-512 kernel and its 216-row / 256-deep blocks.
      {12, 32, 256},
      {13, 31, 257},
      {24, 96, 40},
      {11, 64, 33},
      {450, 97, 300},
      // op(A) packed (over 1024 rows) with the SIMD panel packer: a partial last panel, k tails after
      // the 8-wide blocks, and a second 256-deep slice.
      {1100, 40, 77},
      {1030, 33, 300},
  };
  ThreadPool* global = &ThreadPool::global();
  uint32_t seed = 1;
  for (const Shape& s : shapes) {
    for (int combo = 0; combo < 4; ++combo) {
      Case c;
      c.ta = (combo & 1) != 0;
      c.tb = (combo & 2) != 0;
      c.M = s.M;
      c.N = s.N;
      c.K = s.K;
      run_all(c, seed++, {global});  // plain product, C full of NaN

      const bool big = s.M * s.N * s.K > 20000000;
      if (big && combo != 2) continue;  // the full epilogue matrix on the largest shape: NT only
      Case e = c;
      e.pad = 3;
      e.alpha = 0.75f;
      e.beta = 1.0f;
      e.bias = true;
      e.residual = true;
      e.act = Activation::kGelu;
      run_all(e, seed++, {global});
      e.beta = 0.0f;
      e.act = Activation::kRelu;
      e.alpha = -1.5f;
      run_all(e, seed++, {global});
      e.beta = 0.5f;
      e.act = Activation::kNone;
      e.residual = false;
      e.pad = 17;
      run_all(e, seed++, {global});
    }
  }
}

// Every epilogue option alone on a shape with partial tiles, K-blocking and a pool of 3 (uneven grid).
void test_epilogue_options() {
  ThreadPool three(3);
  uint32_t seed = 1000;
  for (int combo = 0; combo < 4; ++combo) {
    for (int act = 0; act < 3; ++act) {
      for (int opt = 0; opt < 4; ++opt) {
        Case c;
        c.ta = (combo & 1) != 0;
        c.tb = (combo & 2) != 0;
        c.M = 67;
        c.N = 45;
        c.K = 300;
        c.pad = 5;
        c.act = static_cast<Activation>(act);
        c.bias = (opt & 1) != 0;
        c.residual = (opt & 2) != 0;
        c.alpha = opt == 3 ? 2.0f : 1.0f;
        c.beta = opt == 2 ? 1.0f : 0.0f;
        run_all(c, seed++, {&ThreadPool::global(), &three});
      }
    }
  }
}

// M or N == 0 leaves C alone; K == 0 or alpha == 0 gives C = act(beta * C + bias) + residual.
void test_degenerate() {
  std::vector<float> A(64, 1.0f), B(64, 1.0f), C(64, 3.0f);
  informer::sgemm(false, false, 0, 4, 4, 1.0f, A.data(), 4, B.data(), 4, 0.0f, C.data(), 4);
  informer::sgemm(false, false, 4, 0, 4, 1.0f, A.data(), 4, B.data(), 4, 0.0f, C.data(), 4);
  bool untouched = true;
  for (float v : C) untouched = untouched && v == 3.0f;
  CHECK_MSG(untouched, "M == 0 / N == 0 leave C untouched");

  const float bias[3] = {1.0f, -2.0f, 0.5f};
  const float res[6] = {10, 20, 30, 40, 50, 60};
  GemmEpilogue ep;
  ep.bias = bias;
  ep.act = Activation::kRelu;
  ep.residual = res;
  ep.ldr = 3;
  std::vector<float> c2 = {1, 1, 1, 2, 2, 2};
  informer::sgemm(false, true, 2, 3, 0, 1.0f, nullptr, 0, nullptr, 0, 2.0f, c2.data(), 3, ep);
  const float want2[6] = {13, 20, 32.5f, 45, 52, 64.5f};
  CHECK_ALLCLOSE_MSG(c2.data(), want2, 6, 1e-6, 1e-6, "K == 0, beta 2, bias, relu, residual");

  std::vector<float> c3(6, kNaN);
  informer::sgemm(false, false, 2, 3, 0, 1.0f, nullptr, 0, nullptr, 0, 0.0f, c3.data(), 3, ep);
  const float want3[6] = {11, 20, 30.5f, 41, 50, 60.5f};
  CHECK_ALLCLOSE_MSG(c3.data(), want3, 6, 1e-6, 1e-6, "K == 0, beta 0 ignores NaN in C");

  std::vector<float> c4(6, kNaN);
  const float a4[6] = {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN};
  informer::sgemm(false, false, 2, 3, 1, 0.0f, a4, 1, a4, 3, 0.0f, c4.data(), 3, ep);
  CHECK_ALLCLOSE_MSG(c4.data(), want3, 6, 1e-6, 1e-6, "alpha == 0 reads neither A, B nor C");
}

void test_gelu() {
  CHECK_NEAR(informer::gelu(1.0f), 0.8413447f, 1e-6);
  CHECK_NEAR(informer::gelu(-1.0f), -0.1586553f, 1e-6);
  CHECK_NEAR(informer::gelu(0.0f), 0.0f, 0.0);
  CHECK_NEAR(informer::gelu(2.0f), 1.9544997f, 1e-6);
  CHECK_NEAR(informer::gelu(-3.0f), -0.0040496951f, 1e-8);
  CHECK_NEAR(informer::gelu(10.0f), 10.0f, 0.0);

  // Vectorised activations against the scalar definitions, every kernel, odd lengths for the tails.
  test::Rng rng(7);
  const int64_t n = 1003;
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = -20.0f + 40.0f * static_cast<float>(i) / (n - 1);
  x[5] = 0.0f;
  x[6] = -0.0f;
  x[7] = 1e-30f;
  x[8] = -1e-30f;
  x[9] = 1e30f;
  x[10] = -1e30f;
  for (const std::string& name : available_kernels()) {
    informer::gemm_internal::gemm_force_kernel(name.c_str());
    const std::string kernel = informer::gemm_kernel_name();
    std::vector<float> g = x, want(n);
    informer::apply_activation(Activation::kGelu, g.data(), n);
    for (int64_t i = 0; i < n; ++i) want[i] = static_cast<float>(gelu_ref(x[i]));
    CHECK_ALLCLOSE_MSG(g.data(), want.data(), n, 1e-30, 1e-6, ("gelu " + kernel).c_str());
    for (int64_t i = 0; i < n; ++i) {
      if (x[i] < -12.0f && std::fabs(g[i]) > 1e-30f) {
        CHECK_MSG(false, ("gelu of a large negative value is ~0: " + kernel).c_str());
        break;
      }
    }
    std::vector<float> r = x;
    r[11] = kNaN;
    informer::apply_activation(Activation::kRelu, r.data(), n);
    bool relu_ok = std::isnan(r[11]);
    for (int64_t i = 0; i < n; ++i) {
      if (i != 11) relu_ok = relu_ok && r[i] == (x[i] > 0.0f ? x[i] : 0.0f);
    }
    CHECK_MSG(relu_ok, ("relu " + kernel).c_str());
    std::vector<float> none = x;
    informer::apply_activation(Activation::kNone, none.data(), n);
    CHECK_MSG(none == x, ("identity " + kernel).c_str());
  }
  informer::gemm_internal::gemm_force_kernel(nullptr);
}

// residual == C (x = x + f(x) in place), including K deep enough for several K slices, where C holds
// partial sums before the residual is needed.
void test_residual_aliasing_c() {
  uint32_t seed = 700;
  for (int64_t K : {32, 300, 600}) {
    for (int64_t M : {12, 67, 200}) {
      for (float beta : {0.0f, 1.0f}) {
        for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &ThreadPool::global()}) {
          Case c;
          c.tb = true;
          c.M = M;
          c.N = 45;
          c.K = K;
          c.pad = 2;
          c.beta = beta;
          c.bias = true;
          c.act = Activation::kGelu;
          Data d = make_data(c, seed++);  // inputs only; the reference is computed here
          if (beta == 0.0f) d.C0 = test::Rng(seed).uniform_vector(static_cast<int64_t>(d.C0.size()));
          std::vector<float> want = d.C0;
          for (int64_t i = 0; i < M; ++i) {
            for (int64_t j = 0; j < c.N; ++j) {
              double acc = 0.0;
              for (int64_t k = 0; k < K; ++k) {
                acc += static_cast<double>(d.A[i * d.lda + k]) * d.B[j * d.ldb + k];
              }
              double v = c.alpha * acc + (beta != 0.0f ? beta * d.C0[i * d.ldc + j] : 0.0) + d.bias[j];
              want[i * d.ldc + j] = static_cast<float>(gelu_ref(v) + d.C0[i * d.ldc + j]);
            }
          }
          std::vector<float> C = d.C0;
          GemmEpilogue ep;
          ep.bias = d.bias.data();
          ep.act = c.act;
          ep.residual = C.data();
          ep.ldr = d.ldc;
          informer::sgemm(false, true, M, c.N, K, c.alpha, d.A.data(), d.lda, d.B.data(), d.ldb, beta, C.data(), d.ldc,
                          ep, pool);
          const std::string label = "residual aliases C: " + c.name() + " kernel=" + informer::gemm_kernel_name() +
                                    (pool ? " pool" : " serial");
          CHECK_ALLCLOSE_MSG(C.data(), want.data(), static_cast<int64_t>(C.size()),
                             2e-5 * std::sqrt(static_cast<double>(K)), 1e-4, label.c_str());
        }
      }
    }
  }
  // K == 0: C = act(beta * C + bias) + C.
  std::vector<float> c0 = {1, -2, 3, -4, 5, -6};
  std::vector<float> C = c0;
  GemmEpilogue ep;
  ep.act = Activation::kRelu;
  ep.residual = C.data();
  ep.ldr = 3;
  informer::sgemm(false, false, 2, 3, 0, 1.0f, nullptr, 0, nullptr, 0, 1.0f, C.data(), 3, ep);
  const float want[6] = {2, -2, 6, -4, 10, -6};
  CHECK_ALLCLOSE_MSG(C.data(), want, 6, 0.0, 0.0, "K == 0 with residual aliasing C");
}

// Two threads issuing large and small products at once through the global pool.
void test_concurrent_callers() {
  Case big;
  big.tb = true;
  big.M = 200;
  big.N = 150;
  big.K = 90;
  big.bias = true;
  big.act = Activation::kGelu;
  Case small = big;
  small.M = 12;
  small.N = 32;
  small.K = 32;
  const Data db = make_data(big, 501), ds = make_data(small, 502);
  bool ok[2] = {true, true};
  auto worker = [&](int id) {
    const Case& c = id == 0 ? big : small;
    const Data& d = id == 0 ? db : ds;
    GemmEpilogue ep;
    ep.bias = d.bias.data();
    ep.act = c.act;
    for (int it = 0; it < 60; ++it) {
      std::vector<float> C = d.C0;
      informer::sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, d.A.data(), d.lda, d.B.data(), d.ldb, c.beta, C.data(), d.ldc,
                      ep, &ThreadPool::global());
      const test::Compare r = test::compare(C.data(), d.want.data(), c.M * d.ldc, 1e-4, 1e-4);
      ok[id] = ok[id] && r.ok;
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  CHECK_MSG(ok[0] && ok[1], "concurrent sgemm callers");
}

}  // namespace

// A weight packed once (PackedB) gives bit for bit what sgemm gives packing it per call, with the
// full epilogue, on one thread and the pool; a packing made for another kernel set is not used.
void test_packed_b() {
  struct Shape {
    int64_t M, N, K;
  };
  // Up to the kernel's mc rows the packed panels are streamed in memory order (gemm_packed_rows),
  // split over the pool from 2^22 multiply-adds: partial row tiles and panels, several K slices.
  const Shape shapes[] = {{1, 7, 21},      {12, 32, 32},   {13, 31, 257},   {96, 512, 512},
                          {48, 130, 1536}, {30, 260, 700}, {24, 2048, 512}, {250, 64, 40}};
  uint32_t seed = 100;
  for (const Shape& s : shapes) {
    std::vector<float> a(s.M * s.K), w(s.N * s.K), bias(s.N), res(s.M * s.N), want(s.M * s.N), got(s.M * s.N);
    test::Rng(seed++).fill_uniform(a.data(), a.size());
    test::Rng(seed++).fill_uniform(w.data(), w.size());
    test::Rng(seed++).fill_uniform(bias.data(), bias.size());
    test::Rng(seed++).fill_uniform(res.data(), res.size());
    GemmEpilogue ep;
    ep.bias = bias.data();
    ep.act = Activation::kGelu;
    ep.residual = res.data();
    ep.ldr = s.N;
    for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &ThreadPool::global()}) {
      PackedB packed;
      packed.pack(w.data(), s.N, s.K, pool);
      CHECK(packed.usable(s.N, s.K));
      CHECK(!packed.usable(s.N + 1, s.K));
      sgemm(false, true, s.M, s.N, s.K, 1.f, a.data(), s.K, w.data(), s.K, 0.f, want.data(), s.N, ep, pool);
      sgemm_packed_b(s.M, s.N, s.K, a.data(), s.K, w.data(), packed, 0.f, got.data(), s.N, ep, pool);
      CHECK_MSG(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0, "packed B equals sgemm");
    }
  }
  // The residual is C itself (x = x + f(x)) with several K slices: each block reads its residual
  // before any slice writes C.
  for (const Shape& s : {Shape{24, 512, 512}, Shape{13, 96, 600}}) {
    std::vector<float> a(s.M * s.K), w(s.N * s.K), x0(s.M * s.N), want(s.M * s.N);
    test::Rng(seed++).fill_uniform(a.data(), a.size());
    test::Rng(seed++).fill_uniform(w.data(), w.size());
    test::Rng(seed++).fill_uniform(x0.data(), x0.size());
    for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &ThreadPool::global()}) {
      std::vector<float> res(x0);
      GemmEpilogue separate;
      separate.residual = res.data();
      separate.ldr = s.N;
      sgemm(false, true, s.M, s.N, s.K, 1.f, a.data(), s.K, w.data(), s.K, 0.f, want.data(), s.N, separate, pool);
      std::vector<float> x(x0);
      GemmEpilogue in_place;
      in_place.residual = x.data();
      in_place.ldr = s.N;
      PackedB packed;
      packed.pack(w.data(), s.N, s.K, pool);
      sgemm_packed_b(s.M, s.N, s.K, a.data(), s.K, w.data(), packed, 0.f, x.data(), s.N, in_place, pool);
      CHECK_MSG(std::memcmp(want.data(), x.data(), want.size() * sizeof(float)) == 0, "in-place residual, packed B");
    }
  }
  // Packed for the automatic kernel, used under another: falls back to packing per call.
  const std::vector<std::string> names = available_kernels();
  if (names.size() > 1) {
    const int64_t M = 5, N = 40, K = 33;
    std::vector<float> a(M * K), w(N * K), want(M * N), got(M * N);
    test::Rng(7).fill_uniform(a.data(), a.size());
    test::Rng(8).fill_uniform(w.data(), w.size());
    PackedB packed;
    packed.pack(w.data(), N, K, nullptr);
    for (const std::string& name : names) {
      informer::gemm_internal::gemm_force_kernel(name.c_str());
      sgemm(false, true, M, N, K, 1.f, a.data(), K, w.data(), K, 0.f, want.data(), N, GemmEpilogue(), nullptr);
      sgemm_packed_b(M, N, K, a.data(), K, w.data(), packed, 0.f, got.data(), N, GemmEpilogue(), nullptr);
      CHECK_MSG(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0, name.c_str());
    }
    informer::gemm_internal::gemm_force_kernel(nullptr);
  }
}

int main() {
  std::printf("gemm kernel: %s, global pool: %d threads\n", informer::gemm_kernel_name(), ThreadPool::global().size());
  test_kernel_choice();
  test_gelu();
  test_epilogue_options();
  test_shapes();
  test_packed_b();
  for (const std::string& name : available_kernels()) {
    informer::gemm_internal::gemm_force_kernel(name.c_str());
    test_degenerate();
    test_residual_aliasing_c();
  }
  informer::gemm_internal::gemm_force_kernel(nullptr);
  test_concurrent_callers();
  return test::finish("test_gemm");
}
