// The CUDA Linear backward's own modes, which the Ops interface (and so test_backend_ops) does not
// reach: dx aliasing x, no db, no dx, zero rows; and the column-sum kernel behind db. Linear and
// the circular convolution against the CPU at every shape are in test_backend_ops.
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

}  // namespace

int main() {
  if (test::no_device("test_cuda_linear_backward")) return 77;
  test::Rng rng(99);

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

#ifndef INFORMER_CUDA_EMULATION
  // The paper config on the real GPU: rows 32*96, d_model 512, d_ff 2048.
  TestLinearBackward(32 * 96, 512, 2048, true, Dx::kWrite, rng);
  TestLinearBackward(32 * 96, 2048, 512, true, Dx::kAliasXAccumulate, rng);
  TestColumnSums(32 * 96, 2048, rng);
#endif
  return test::finish("test_cuda_linear_backward");
}
