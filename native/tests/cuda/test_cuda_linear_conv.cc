// CUDA Linear (forward, backward, column sums) and circular kernel-3 Conv1d (im2col, forward,
// backward) against the CPU kernels of kernels/cpu/linear.h and conv.h, on the fixture models'
// shapes (seed, paper_small; the paper config on a real GPU) and odd ones.
#include <cmath>
#include <cstdio>
#include <vector>

#include "cuda/conv.h"
#include "cuda/linear.h"
#include "cuda_test_util.h"
#include "cpu/conv.h"
#include "cpu/linear.h"

namespace {

using informer::Activation;
namespace cu = informer::cuda;

double Atol(int64_t terms) { return 2e-5 * (1.0 + std::sqrt(static_cast<double>(terms))); }

void ExpectClose(const std::vector<float>& got, const std::vector<float>& want, double atol, const char* what) {
  CHECK_MSG(got.size() == want.size(), what);
  CHECK_ALLCLOSE_MSG(got.data(), want.data(), static_cast<int64_t>(want.size()), atol, 1e-4, what);
}

void TestLinearForward(int64_t rows, int64_t in, int64_t out, bool bias, Activation act, bool residual,
                       test::Rng& rng) {
  char what[160];
  std::snprintf(what, sizeof what, "LinearForward rows=%lld in=%lld out=%lld bias=%d act=%d residual=%d",
                static_cast<long long>(rows), static_cast<long long>(in), static_cast<long long>(out), bias,
                static_cast<int>(act), residual);
  const std::vector<float> x = rng.uniform_vector(rows * in), w = rng.uniform_vector(out * in);
  const std::vector<float> b = rng.uniform_vector(out), r = rng.uniform_vector(rows * out);
  std::vector<float> want(rows * out);
  informer::LinearForward(rows, in, out, x.data(), w.data(), bias ? b.data() : nullptr, want.data(), act,
                          residual ? r.data() : nullptr);
  test::DeviceVec<float> dx(x), dw(w), db(b), dr(r), dy(rows * out, std::nanf(""));
  cu::LinearForward(nullptr, rows, in, out, dx.get(), dw.get(), bias ? db.get() : nullptr, dy.get(), act,
                    residual ? dr.get() : nullptr);
  test::sync_ok(what);
  ExpectClose(dy.host(), want, Atol(in), what);
}

// dw and db accumulate into random values; dx is written, accumulated, skipped, or aliases x.
enum class Dx { kNone, kWrite, kAccumulate, kAliasX, kAliasXAccumulate };

void TestLinearBackward(int64_t rows, int64_t in, int64_t out, bool with_db, Dx mode, test::Rng& rng) {
  char what[160];
  std::snprintf(what, sizeof what, "LinearBackward rows=%lld in=%lld out=%lld db=%d dx-mode=%d",
                static_cast<long long>(rows), static_cast<long long>(in), static_cast<long long>(out), with_db,
                static_cast<int>(mode));
  const std::vector<float> x = rng.uniform_vector(rows * in), w = rng.uniform_vector(out * in);
  const std::vector<float> dy = rng.uniform_vector(rows * out);
  const std::vector<float> dw0 = rng.uniform_vector(out * in), db0 = rng.uniform_vector(out);
  const bool alias = mode == Dx::kAliasX || mode == Dx::kAliasXAccumulate;
  const bool accumulate = mode == Dx::kAccumulate || mode == Dx::kAliasXAccumulate;
  std::vector<float> dx0 = rng.uniform_vector(rows * in);
  if (mode == Dx::kWrite) dx0.assign(dx0.size(), std::nanf(""));  // must not be read

  std::vector<float> x_cpu = x, dw_cpu = dw0, db_cpu = db0, dx_cpu = dx0;
  float* dx_cpu_ptr = mode == Dx::kNone ? nullptr : (alias ? x_cpu.data() : dx_cpu.data());
  informer::LinearBackward(rows, in, out, x_cpu.data(), w.data(), dy.data(), dx_cpu_ptr, accumulate, dw_cpu.data(),
                           with_db ? db_cpu.data() : nullptr);

  test::DeviceVec<float> d_x(x), d_w(w), d_dy(dy), d_dw(dw0), d_db(db0), d_dx(dx0);
  float* dx_gpu_ptr = mode == Dx::kNone ? nullptr : (alias ? d_x.get() : d_dx.get());
  cu::LinearBackward(nullptr, rows, in, out, d_x.get(), d_w.get(), d_dy.get(), dx_gpu_ptr, accumulate, d_dw.get(),
                     with_db ? d_db.get() : nullptr);
  test::sync_ok(what);
  ExpectClose(d_dw.host(), dw_cpu, Atol(rows), what);
  ExpectClose(d_db.host(), db_cpu, Atol(rows), what);
  ExpectClose(d_dx.host(), dx_cpu, Atol(out), what);  // untouched unless written
  ExpectClose(d_x.host(), x_cpu, Atol(out), what);    // x changes only when dx aliases it
}

void TestColumnSums(int64_t rows, int64_t n, test::Rng& rng) {
  char what[96];
  std::snprintf(what, sizeof what, "AddColumnSums rows=%lld n=%lld", static_cast<long long>(rows),
                static_cast<long long>(n));
  const std::vector<float> dy = rng.uniform_vector(rows * n), db0 = rng.uniform_vector(n);
  std::vector<float> want = db0;
  informer::AddColumnSums(rows, n, dy.data(), want.data());
  test::DeviceVec<float> d_dy(dy), d_db(db0);
  cu::AddColumnSums(nullptr, rows, n, d_dy.get(), d_db.get());
  test::sync_ok(what);
  const std::vector<float> got = d_db.host();
  ExpectClose(got, want, Atol(rows), what);
  // Deterministic: the same sums bit for bit on a second run.
  test::DeviceVec<float> d_db2(db0);
  cu::AddColumnSums(nullptr, rows, n, d_dy.get(), d_db2.get());
  test::sync_ok(what);
  const std::vector<float> again = d_db2.host();
  bool identical = true;
  for (size_t i = 0; i < got.size(); ++i) identical = identical && got[i] == again[i];
  CHECK_MSG(identical, what);
}

void TestConv(int64_t B, int64_t L, int64_t C_in, int64_t C_out, bool with_dx, test::Rng& rng) {
  char what[128];
  std::snprintf(what, sizeof what, "Conv3 B=%lld L=%lld C_in=%lld C_out=%lld dx=%d", static_cast<long long>(B),
                static_cast<long long>(L), static_cast<long long>(C_in), static_cast<long long>(C_out), with_dx);
  const int64_t rows = B * L, width = 3 * C_in;
  const std::vector<float> x = rng.uniform_vector(rows * C_in), w = rng.uniform_vector(C_out * width);
  const std::vector<float> bias = rng.uniform_vector(C_out), dy = rng.uniform_vector(rows * C_out);
  const std::vector<float> dw0 = rng.uniform_vector(C_out * width), db0 = rng.uniform_vector(C_out);
  const std::vector<float> dx0 = rng.uniform_vector(rows * C_in);

  // Forward: the columns and the output.
  std::vector<float> cols(rows * width), out(rows * C_out);
  informer::CircularConv3Forward(B, L, C_in, C_out, x.data(), w.data(), bias.data(), cols.data(), out.data());
  test::DeviceVec<float> d_x(x), d_w(w), d_bias(bias), d_cols(rows * width, std::nanf("")),
      d_out(rows * C_out, std::nanf(""));
  cu::CircularConv3Forward(nullptr, B, L, C_in, C_out, d_x.get(), d_w.get(), d_bias.get(), d_cols.get(), d_out.get());
  test::sync_ok(what);
  ExpectClose(d_cols.host(), cols, 0.0, what);  // a pure copy
  ExpectClose(d_out.host(), out, Atol(width), what);

  // im2col alone.
  test::DeviceVec<float> d_cols2(rows * width, std::nanf(""));
  cu::CircularIm2Col3(nullptr, B, L, C_in, d_x.get(), d_cols2.get());
  test::sync_ok(what);
  ExpectClose(d_cols2.host(), cols, 0.0, what);

  // Backward from the saved columns: dweight, dbias and dx accumulate.
  std::vector<float> dw = dw0, db = db0, dx = dx0, d_cols_cpu(rows * width);
  informer::CircularConv3Backward(B, L, C_in, C_out, cols.data(), w.data(), dy.data(), d_cols_cpu.data(),
                                  with_dx ? dx.data() : nullptr, dw.data(), db.data());
  test::DeviceVec<float> d_dy(dy), d_dw(dw0), d_db(db0), d_dx(dx0), d_dcols(rows * width, std::nanf(""));
  cu::CircularConv3Backward(nullptr, B, L, C_in, C_out, d_cols.get(), d_w.get(), d_dy.get(),
                            with_dx ? d_dcols.get() : nullptr, with_dx ? d_dx.get() : nullptr, d_dw.get(), d_db.get());
  test::sync_ok(what);
  ExpectClose(d_dw.host(), dw, Atol(rows), what);
  ExpectClose(d_db.host(), db, Atol(rows), what);
  ExpectClose(d_dx.host(), dx, Atol(3 * C_out), what);
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_linear_conv")) return 77;
  test::Rng rng(99);

  // Linear forward: the fixture shapes (seed: rows 32*12 / 32*18, d_model 32, d_ff 128, c_out 1;
  // paper_small: rows 2*96, d_model 64, d_ff 128, c_out 7), each epilogue, odd sizes.
  TestLinearForward(32 * 12, 32, 32, true, Activation::kNone, false, rng);
  TestLinearForward(32 * 12, 32, 128, true, Activation::kGelu, false, rng);
  TestLinearForward(32 * 12, 128, 32, true, Activation::kNone, true, rng);
  TestLinearForward(32 * 18, 32, 1, true, Activation::kNone, false, rng);
  TestLinearForward(2 * 96, 64, 64, true, Activation::kRelu, true, rng);
  TestLinearForward(2 * 72, 64, 7, false, Activation::kNone, false, rng);
  TestLinearForward(1, 1, 1, true, Activation::kGelu, true, rng);
  TestLinearForward(17, 5, 3, false, Activation::kRelu, false, rng);
  TestLinearForward(70, 33, 65, true, Activation::kGelu, true, rng);

  // Linear backward: with and without db, every dx mode (none, write, accumulate, aliasing x).
  for (Dx mode : {Dx::kNone, Dx::kWrite, Dx::kAccumulate, Dx::kAliasX, Dx::kAliasXAccumulate})
    for (bool with_db : {true, false}) TestLinearBackward(37, 19, 23, with_db, mode, rng);
  TestLinearBackward(32 * 12, 32, 32, true, Dx::kWrite, rng);
  TestLinearBackward(32 * 12, 32, 128, true, Dx::kAccumulate, rng);
  TestLinearBackward(32 * 12, 128, 32, true, Dx::kAliasX, rng);
  TestLinearBackward(32 * 18, 32, 1, true, Dx::kWrite, rng);
  TestLinearBackward(2 * 96, 64, 128, true, Dx::kWrite, rng);
  TestLinearBackward(2 * 72, 64, 7, true, Dx::kAccumulate, rng);
  TestLinearBackward(1, 1, 1, true, Dx::kWrite, rng);
  TestLinearBackward(0, 6, 5, true, Dx::kWrite, rng);  // no rows: dw and db unchanged

  for (int64_t rows : {1, 15, 16, 17, 33, 1000})
    for (int64_t n : {1, 31, 33, 100}) TestColumnSums(rows, n, rng);
  TestColumnSums(0, 5, rng);  // no rows: db unchanged

  // Circular conv: token convs (C_in 1 seed, 7 paper_small), distil convs (C 32 / 64), odd L, and
  // L = 1 / 2 where the three taps of a row hit the same or wrapped positions.
  TestConv(32, 12, 1, 32, false, rng);
  TestConv(2, 96, 7, 64, false, rng);
  TestConv(2, 48, 7, 64, true, rng);
  TestConv(4, 12, 32, 32, true, rng);
  TestConv(2, 96, 64, 64, true, rng);
  TestConv(3, 13, 7, 16, true, rng);
  TestConv(2, 1, 5, 3, true, rng);
  TestConv(3, 2, 4, 6, true, rng);
  TestConv(1, 5, 3, 2, true, rng);

#ifndef INFORMER_CUDA_EMULATION
  // The paper config on the real GPU: rows 32*96, d_model 512, d_ff 2048; its token conv (C_in 7)
  // and distil conv (512 channels).
  TestLinearForward(32 * 96, 512, 2048, true, Activation::kGelu, false, rng);
  TestLinearForward(32 * 96, 2048, 512, true, Activation::kNone, true, rng);
  TestLinearBackward(32 * 96, 512, 2048, true, Dx::kWrite, rng);
  TestLinearBackward(32 * 96, 2048, 512, true, Dx::kAliasXAccumulate, rng);
  TestColumnSums(32 * 96, 2048, rng);
  TestConv(32, 96, 7, 512, false, rng);
  TestConv(32, 96, 512, 512, true, rng);
  TestConv(32, 48, 512, 512, true, rng);
#endif
  return test::finish("test_cuda_linear_conv");
}
