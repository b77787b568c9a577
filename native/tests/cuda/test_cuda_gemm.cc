// CUDA Sgemm / SgemmStridedBatched against the CPU informer::sgemm: every transpose combination,
// alpha/beta (beta 0 over NaN-filled C, alpha 0 over NaN-filled A and B), each epilogue (bias,
// ReLU, GELU, residual, residual == C), odd and padded shapes, misaligned C, every tile
// configuration, the fixture models' shapes, and strided batches.
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "cpu/gemm.h"
#include "cuda/gemm.h"
#include "cuda_test_util.h"

namespace {

using informer::Activation;
using informer::GemmEpilogue;
namespace cu = informer::cuda;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

enum class Residual { kNone, kSeparate, kIntoC };

struct Case {
  bool ta = false, tb = false;
  int64_t M = 1, N = 1, K = 1;
  float alpha = 1.f, beta = 0.f;
  bool bias = false;
  Activation act = Activation::kNone;
  Residual residual = Residual::kNone;
  int64_t pad = 0;          // extra floats per row of A, B, C and the residual (leading dimensions)
  int64_t c_offset = 0;     // C starts this many floats into its buffer (1: not 16-byte aligned)
  bool nan_inputs = false;  // fill A and B with NaN (alpha == 0 must not read them)
  double atol_scale = 1.0;  // for reduced-precision (tf32 / bf16) products
  double rtol = 1e-4;
};

std::string Describe(const Case& c, const char* tag) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%s: %s%s M=%lld N=%lld K=%lld alpha=%g beta=%g bias=%d act=%d residual=%d pad=%lld off=%lld", tag,
                c.ta ? "T" : "N", c.tb ? "T" : "N", static_cast<long long>(c.M), static_cast<long long>(c.N),
                static_cast<long long>(c.K), c.alpha, c.beta, c.bias, static_cast<int>(c.act),
                static_cast<int>(c.residual), static_cast<long long>(c.pad), static_cast<long long>(c.c_offset));
  return buf;
}

double Atol(const Case& c) { return 2e-5 * (1.0 + std::sqrt(static_cast<double>(c.K))) * c.atol_scale; }

// One Sgemm on the GPU and the same sgemm on the CPU; the whole C buffer (padding included, which
// must stay untouched) is compared.
void RunCase(const Case& c, test::Rng& rng, const char* tag) {
  const int64_t lda = (c.ta ? c.M : c.K) + c.pad, a_rows = c.ta ? c.K : c.M;
  const int64_t ldb = (c.tb ? c.K : c.N) + c.pad, b_rows = c.tb ? c.N : c.K;
  const int64_t ldc = c.N + c.pad, ldr = ldc + (c.pad % 4 == 0 ? 4 : 1);  // 16-byte rows when ldc allows
  std::vector<float> a = rng.uniform_vector(std::max<int64_t>(1, a_rows * lda));
  std::vector<float> b = rng.uniform_vector(std::max<int64_t>(1, b_rows * ldb));
  if (c.nan_inputs) a.assign(a.size(), kNaN), b.assign(b.size(), kNaN);
  std::vector<float> cm = rng.uniform_vector(c.c_offset + c.M * ldc);
  // beta == 0 must not read C: NaN there would show up in the output (unless C is the residual).
  if (c.beta == 0.f && c.residual != Residual::kIntoC)
    for (int64_t i = 0; i < c.M; ++i)
      for (int64_t j = 0; j < c.N; ++j) cm[c.c_offset + i * ldc + j] = kNaN;
  const std::vector<float> bias = rng.uniform_vector(c.N);
  const std::vector<float> res = rng.uniform_vector(c.M * ldr);

  test::DeviceVec<float> da(a), db(b), dc(cm), dbias(bias), dres(res);
  GemmEpilogue cpu_ep, gpu_ep;
  cpu_ep.act = gpu_ep.act = c.act;
  if (c.bias) cpu_ep.bias = bias.data(), gpu_ep.bias = dbias.get();
  if (c.residual == Residual::kSeparate) {
    cpu_ep.residual = res.data(), gpu_ep.residual = dres.get();
    cpu_ep.ldr = gpu_ep.ldr = ldr;
  } else if (c.residual == Residual::kIntoC) {
    cpu_ep.residual = cm.data() + c.c_offset, gpu_ep.residual = dc.get() + c.c_offset;
    cpu_ep.ldr = gpu_ep.ldr = ldc;
  }
  std::vector<float> want = cm;
  if (c.residual == Residual::kIntoC) cpu_ep.residual = want.data() + c.c_offset;
  informer::sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, a.data(), lda, b.data(), ldb, c.beta, want.data() + c.c_offset,
                  ldc, cpu_ep);
  cu::Sgemm(nullptr, c.ta, c.tb, c.M, c.N, c.K, c.alpha, da.get(), lda, db.get(), ldb, c.beta, dc.get() + c.c_offset,
            ldc, gpu_ep);
  const std::string what = Describe(c, tag);
  test::sync_ok(what.c_str());
  const std::vector<float> got = dc.host();
  CHECK_ALLCLOSE_MSG(got.data(), want.data(), static_cast<int64_t>(got.size()), Atol(c), c.rtol, what.c_str());
}

// SgemmStridedBatched against one CPU sgemm per batch entry; strides leave gaps between entries.
void RunBatched(bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t batch, float alpha, float beta,
                test::Rng& rng, const char* tag) {
  const int64_t lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 3;
  const int64_t sa = (ta ? K : M) * lda + 5, sb = (tb ? N : K) * ldb + 7, sc = M * ldc + 2;
  std::vector<float> a = rng.uniform_vector(batch * sa), b = rng.uniform_vector(batch * sb);
  std::vector<float> cm = rng.uniform_vector(batch * sc);
  if (beta == 0.f)
    for (int64_t z = 0; z < batch; ++z)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) cm[z * sc + i * ldc + j] = kNaN;
  std::vector<float> want = cm;
  for (int64_t z = 0; z < batch; ++z)
    informer::sgemm(ta, tb, M, N, K, alpha, a.data() + z * sa, lda, b.data() + z * sb, ldb, beta, want.data() + z * sc,
                    ldc);
  test::DeviceVec<float> da(a), db(b), dc(cm);
  cu::SgemmStridedBatched(nullptr, ta, tb, M, N, K, alpha, da.get(), lda, sa, db.get(), ldb, sb, beta, dc.get(), ldc,
                          sc, batch);
  char what[160];
  std::snprintf(what, sizeof what, "%s: batched %s%s M=%lld N=%lld K=%lld batch=%lld alpha=%g beta=%g", tag,
                ta ? "T" : "N", tb ? "T" : "N", static_cast<long long>(M), static_cast<long long>(N),
                static_cast<long long>(K), static_cast<long long>(batch), alpha, beta);
  test::sync_ok(what);
  const std::vector<float> got = dc.host();
  CHECK_ALLCLOSE_MSG(got.data(), want.data(), static_cast<int64_t>(got.size()),
                     2e-5 * (1.0 + std::sqrt(static_cast<double>(K))), 1e-4, what);
}

Case Shape(bool ta, bool tb, int64_t M, int64_t N, int64_t K) {
  Case c;
  c.ta = ta, c.tb = tb, c.M = M, c.N = N, c.K = K;
  return c;
}

// A Linear layer's three products on rows x in -> out (forward with an epilogue, dW, dX).
void LinearShapes(int64_t rows, int64_t in, int64_t out, Activation act, bool residual, test::Rng& rng,
                  const char* tag) {
  Case fwd = Shape(false, true, rows, out, in);
  fwd.bias = true, fwd.act = act, fwd.residual = residual ? Residual::kSeparate : Residual::kNone;
  RunCase(fwd, rng, tag);
  Case dw = Shape(true, false, out, in, rows);
  dw.beta = 1.f;
  RunCase(dw, rng, tag);
  Case dx = Shape(false, false, rows, in, out);
  RunCase(dx, rng, tag);
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_gemm")) return 77;
  test::Rng rng(2024);
  cu::SetGemmPrecision(cu::GemmPrecision::kFp32);
  CHECK(cu::GetGemmPrecision() == cu::GemmPrecision::kFp32);
  const std::string backend = cu::GemmBackendName();
  CHECK(backend == "tiled" || backend == "cublas");
#ifdef INFORMER_CUDA_EMULATION
  CHECK(backend == "tiled");
#endif

  // Every transpose combination over odd shapes that reach each kernel: one warp per output
  // (N <= 2), the 32 x 32, 64 x 64, 128 x 64 and 128 x 128 tiles (the choice depends on the
  // block count, so the larger shapes are there for the large tiles), M = 1, K = 1, K < tile.
  const int64_t shapes[][3] = {{1, 1, 1},    {17, 33, 5},    {65, 129, 257}, {3, 5, 100},
                               {33, 1, 64},  {40, 2, 7},     {1, 70, 9},     {31, 32, 33},
                               {100, 67, 1}, {520, 530, 19}, {700, 130, 37}, {129, 257, 11}};
  for (int t = 0; t < 4; ++t)
    for (const auto& s : shapes) RunCase(Shape(t & 1, t & 2, s[0], s[1], s[2]), rng, "shape");

  // Leading dimensions larger than the rows, and C not 16-byte aligned (scalar stores).
  for (int t = 0; t < 4; ++t) {
    Case c = Shape(t & 1, t & 2, 67, 45, 29);
    c.pad = 3;
    RunCase(c, rng, "padded");
    c.pad = 4, c.c_offset = 1, c.beta = 0.5f, c.residual = Residual::kSeparate;
    RunCase(c, rng, "misaligned");
    c = Shape(t & 1, t & 2, 200, 160, 24);
    c.pad = 4, c.beta = 1.f, c.bias = true, c.residual = Residual::kSeparate;
    RunCase(c, rng, "aligned-padded");
  }

  // alpha / beta: beta 0 over NaN, accumulate, scaled, alpha 0 and K 0 (A and B never read).
  const float alpha_beta[][2] = {{0.5f, 0.f}, {1.f, 1.f}, {-2.f, 0.25f}, {1.f, -1.f}};
  for (const auto& ab : alpha_beta)
    for (int t = 0; t < 4; ++t) {
      Case c = Shape(t & 1, t & 2, 37, 70, 23);
      c.alpha = ab[0], c.beta = ab[1];
      RunCase(c, rng, "alpha-beta");
    }
  for (float beta : {0.f, 0.75f}) {
    Case c = Shape(false, true, 45, 38, 17);
    c.alpha = 0.f, c.beta = beta, c.nan_inputs = true, c.bias = true, c.act = Activation::kGelu;
    RunCase(c, rng, "alpha-zero");
    c = Shape(true, false, 45, 38, 0);
    c.beta = beta, c.bias = true, c.residual = Residual::kSeparate;
    RunCase(c, rng, "k-zero");
  }
  {
    Case c = Shape(false, false, 9, 14, 0);
    c.beta = 1.f;  // C unchanged
    RunCase(c, rng, "k-zero-beta-one");
    RunBatched(false, true, 5, 6, 0, 3, 1.f, 1.f, rng, "k-zero-batched");
    RunBatched(true, true, 5, 6, 0, 3, 1.f, 0.5f, rng, "k-zero-batched");
  }

  // Epilogues, on every kernel (32 x 32, 64 x 64, one warp, 128 x 64, 128 x 128 tiles).
  const int64_t epi_shapes[][3] = {{23, 19, 13}, {150, 90, 40},  {57, 1, 45},
                                   {70, 96, 24}, {600, 200, 20}, {650, 264, 9}};
  for (const auto& s : epi_shapes)
    for (int t = 0; t < 4; ++t) {
      for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kGelu}) {
        Case c = Shape(t & 1, t & 2, s[0], s[1], s[2]);
        c.act = act, c.bias = true;
        RunCase(c, rng, "bias-act");
        c.residual = Residual::kSeparate;
        RunCase(c, rng, "bias-act-residual");
        c.residual = Residual::kIntoC, c.beta = (t & 1) ? 1.f : 0.f;  // x = x + f(x), in place
        RunCase(c, rng, "residual-into-c");
      }
      Case c = Shape(t & 1, t & 2, s[0], s[1], s[2]);
      c.residual = Residual::kSeparate;
      RunCase(c, rng, "residual-only");
    }

  // Empty problems launch nothing and leave C alone.
  {
    std::vector<float> cm(4, 3.f);
    test::DeviceVec<float> dc(cm), dx(4, 1.f);
    cu::Sgemm(nullptr, false, false, 0, 2, 2, 1.f, dx.get(), 2, dx.get(), 2, 0.f, dc.get(), 2);
    cu::Sgemm(nullptr, false, false, 2, 0, 2, 1.f, dx.get(), 2, dx.get(), 2, 0.f, dc.get(), 2);
    cu::SgemmStridedBatched(nullptr, false, false, 2, 2, 2, 1.f, dx.get(), 2, 4, dx.get(), 2, 4, 0.f, dc.get(), 2, 4,
                            0);
    test::sync_ok("empty gemm");
    const std::vector<float> got = dc.host();
    CHECK_ALLCLOSE(got.data(), cm.data(), 4, 0.0, 0.0);
  }

  // The fixture models' Linear shapes: seed (rows 32*12 and 32*18, d_model 32, d_ff 128, the
  // c_out = 1 projection) and paper_small (rows 2*96, d_model 64, d_ff 128, c_out 7).
  LinearShapes(32 * 12, 32, 32, Activation::kNone, false, rng, "seed");
  LinearShapes(32 * 12, 32, 128, Activation::kGelu, false, rng, "seed-ffn1");
  LinearShapes(32 * 12, 128, 32, Activation::kNone, true, rng, "seed-ffn2");
  LinearShapes(32 * 18, 32, 1, Activation::kNone, false, rng, "seed-projection");
  LinearShapes(2 * 96, 64, 64, Activation::kNone, true, rng, "paper_small");
  LinearShapes(2 * 96, 64, 128, Activation::kGelu, false, rng, "paper_small-ffn1");
  LinearShapes(2 * 72, 64, 7, Activation::kNone, false, rng, "paper_small-projection");

  // Attention-shaped strided batches: seed (batch 32 x 4 heads, width 8, L 12 / 18) and
  // paper_small (2 x 4 heads, width 16, L 96 x 48), then odd shapes with every transpose.
  RunBatched(false, true, 12, 12, 8, 32 * 4, 1.f / std::sqrt(8.f), 0.f, rng, "seed QK");
  RunBatched(false, false, 18, 8, 18, 32 * 4, 1.f, 0.f, rng, "seed PV");
  RunBatched(true, false, 12, 8, 12, 32 * 4, 1.f, 1.f, rng, "seed dV");
  RunBatched(false, true, 96, 48, 16, 2 * 4, 0.25f, 0.f, rng, "paper_small QK");
  RunBatched(false, false, 96, 16, 48, 2 * 4, 1.f, 0.f, rng, "paper_small PV");
  for (int t = 0; t < 4; ++t) {
    RunBatched(t & 1, t & 2, 13, 21, 9, 3, 1.5f, 0.5f, rng, "odd");
    RunBatched(t & 1, t & 2, 70, 2, 33, 2, 1.f, 0.f, rng, "odd-skinny");
  }

#ifndef INFORMER_CUDA_EMULATION
  // Full-size shapes on the real GPU: the paper config (rows 32*96, d_model 512, d_ff 2048, 8 heads
  // of 64), a 4096 x 2048 x 512 product for the large tiles, and a batch beyond the grid's z limit.
  LinearShapes(32 * 96, 512, 512, Activation::kNone, false, rng, "paper");
  LinearShapes(32 * 96, 512, 2048, Activation::kGelu, false, rng, "paper-ffn1");
  LinearShapes(32 * 96, 2048, 512, Activation::kNone, true, rng, "paper-ffn2");
  LinearShapes(32 * 72, 512, 1, Activation::kNone, false, rng, "paper-projection");
  for (int t = 0; t < 4; ++t) {
    Case c = Shape(t & 1, t & 2, 4096, 2048, 512);
    c.bias = true, c.act = Activation::kRelu, c.residual = Residual::kIntoC, c.beta = 1.f;
    RunCase(c, rng, "large");
  }
  RunBatched(false, true, 96, 96, 64, 32 * 8, 0.125f, 0.f, rng, "paper QK");
  RunBatched(false, false, 96, 64, 96, 32 * 8, 1.f, 0.f, rng, "paper PV");
  RunBatched(false, true, 3, 4, 5, 65535 + 70, 1.f, 0.f, rng, "beyond grid z");

  // Reduced precision: only cuBLAS honours it (the tiled kernel stays fp32), within tf32 / bf16 rounding.
  for (auto precision : {cu::GemmPrecision::kTf32, cu::GemmPrecision::kBf16}) {
    cu::SetGemmPrecision(precision);
    CHECK(cu::GetGemmPrecision() == precision);
    Case c = Shape(false, true, 512, 384, 256);
    c.bias = true, c.act = Activation::kGelu;
    c.atol_scale = precision == cu::GemmPrecision::kTf32 ? 100.0 : 800.0;
    c.rtol = 1e-2;
    RunCase(c, rng, precision == cu::GemmPrecision::kTf32 ? "tf32" : "bf16");
  }
  cu::SetGemmPrecision(cu::GemmPrecision::kFp32);
#endif
  return test::finish("test_cuda_gemm");
}
