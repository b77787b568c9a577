// What test_backend_ops does not cover of the lookups and the loss: the GPU lookup clamps a mark
// outside its table (NaN, negative, too large) instead of reading out of bounds, although callers
// validate marks first; and an empty loss writes nothing. Lookups, MSE and Adam against the CPU are
// in test_backend_ops.
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "cuda/embedding.h"
#include "cuda/optim.h"
#include "cuda_test_util.h"
#include "cpu/embedding.h"
#include "cpu/optim.h"

namespace {

namespace cu = informer::cuda;

std::string Label(const char* what, std::initializer_list<int64_t> dims) {
  std::string s = what;
  for (int64_t d : dims) s += " " + std::to_string(d);
  return s;
}

// Marks [N, n_mark]: column `column` holds valid indices of a `rows`-row table with fractional parts
// (truncation toward zero, including values in (-1, 0) that truncate to 0); the other columns hold
// out-of-range values, so reading the wrong column would show.
std::vector<float> RandomMarks(test::Rng& rng, int64_t N, int64_t n_mark, int column, int64_t rows) {
  std::vector<float> marks(static_cast<size_t>(N * n_mark));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < n_mark; ++c) {
      float m;
      if (c != column) {
        m = 1000.f + static_cast<float>(rng.integer(0, 99));
      } else {
        const int64_t idx = rng.integer(0, rows - 1);
        const int kind = static_cast<int>(rng.integer(0, 3));
        m = static_cast<float>(idx);
        if (kind == 1) m += rng.uniform(0.f, 0.99f);              // fractional: truncates to idx
        if (kind == 2 && idx == 0) m = rng.uniform(-0.99f, 0.f);  // (-1, 0] truncates to 0
      }
      marks[static_cast<size_t>(n * n_mark + c)] = m;
    }
  return marks;
}

// A device copy placed `offset` floats into its allocation (offset 1 defeats the float4 paths).
struct OffsetVec {
  OffsetVec(const std::vector<float>& host, int offset) : offset_(offset), buf_(Padded(host, offset)) {}
  float* get() const { return buf_.get() + offset_; }
  std::vector<float> host() const {
    std::vector<float> all = buf_.host();
    return std::vector<float>(all.begin() + offset_, all.end());
  }
  static std::vector<float> Padded(const std::vector<float>& host, int offset) {
    std::vector<float> p(static_cast<size_t>(offset), -7.f);
    p.insert(p.end(), host.begin(), host.end());
    return p;
  }
  int offset_;
  test::DeviceVec<float> buf_;
};

void CheckSame(const std::vector<float>& got, const std::vector<float>& want, const std::string& label) {
  CHECK_ALLCLOSE_MSG(got.data(), want.data(), static_cast<int64_t>(want.size()), 0.0, 0.0, label.c_str());
}

// Invalid marks (NaN, negative, >= rows, huge) must clamp into the table, never read or write
// outside it: the result equals the CPU kernels run on the clamped indices.
void LookupClampCase(test::Rng& rng) {
  const int64_t rows = 7, D = 12, n_mark = 1;
  const std::vector<float> marks = {std::numeric_limits<float>::quiet_NaN(), -5.f, -0.5f, 7.f, 7.5f, 1e9f, -1e9f,
                                    std::numeric_limits<float>::infinity(),  3.7f, 6.99f};
  const std::vector<float> clamped = {0.f, 0.f, 0.f, 6.f, 6.f, 6.f, 0.f, 6.f, 3.f, 6.f};
  const int64_t N = static_cast<int64_t>(marks.size());
  const std::vector<float> table = rng.uniform_vector(rows * D), out0 = rng.uniform_vector(N * D);
  std::vector<float> out_ref = out0;
  CHECK_EQ(informer::TemporalLookupAdd(N, n_mark, clamped.data(), 0, table.data(), rows, D, out_ref.data()), -1);
  test::DeviceVec<float> d_marks(marks), d_table(table), d_out(out0);
  cu::TemporalLookupAdd(nullptr, N, n_mark, d_marks.get(), 0, d_table.get(), rows, D, d_out.get());
  test::sync_ok("lookup clamp");
  CheckSame(d_out.host(), out_ref, "lookup clamp forward");

  const std::vector<float> dy = rng.normal_vector(N * D);
  std::vector<float> dtable_ref(static_cast<size_t>(rows * D), 0.f);
  informer::TemporalLookupBackward(N, n_mark, clamped.data(), 0, dy.data(), D, dtable_ref.data());
  test::DeviceVec<float> d_dy(dy), d_dtable(rows * D, 0.f);
  cu::TemporalLookupBackward(nullptr, N, n_mark, d_marks.get(), 0, d_dy.get(), rows, D, d_dtable.get());
  test::sync_ok("lookup clamp backward");
  CheckSame(d_dtable.host(), dtable_ref, "lookup clamp backward");
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_lookup_clamp")) return 77;
  test::Rng rng(20240611);
  LookupClampCase(rng);

  // MSE: n = 0 writes nothing.
  test::DeviceVec<double> d_loss(1, 123.0), d_ws(cu::MseWorkspaceDoubles(0));
  cu::MseForwardBackward(nullptr, 0, nullptr, nullptr, nullptr, d_loss.get(), d_ws.get());
  test::sync_ok("mse n 0");
  CHECK(d_loss.host()[0] == 123.0);
  return test::finish("test_cuda_lookup_clamp");
}
