// The temporal-embedding lookup (forward, backward), the MSE loss and the Adam step on the GPU
// against the CPU kernels on the same random inputs. The lookups and their backward do the CPU's
// float operations in the CPU's order, so they must match bit for bit; so should Adam (same
// operations, no FMA), checked at rel 1e-6; the loss is a double sum in another order (rel 1e-9).
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
        if (kind == 1) m += rng.uniform(0.f, 0.99f);                 // fractional: truncates to idx
        if (kind == 2 && idx == 0) m = rng.uniform(-0.99f, 0.f);     // (-1, 0] truncates to 0
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

// Forward and backward of one table against the CPU kernels.
void LookupCase(test::Rng& rng, int64_t rows, int64_t D, int64_t N, int misalign) {
  const int64_t n_mark = 5;
  const int column = static_cast<int>(rng.integer(0, n_mark - 1));
  const std::vector<float> marks = RandomMarks(rng, N, n_mark, column, rows);
  const std::vector<float> table = rng.uniform_vector(rows * D);
  const std::vector<float> out0 = rng.uniform_vector(N * D);
  const std::string label = Label("lookup rows/D/N/misalign", {rows, D, N, misalign});

  std::vector<float> out_ref = out0;
  CHECK_EQ(informer::TemporalLookupAdd(N, n_mark, marks.data(), column, table.data(), rows, D, out_ref.data()), -1);
  test::DeviceVec<float> d_marks(marks);
  OffsetVec d_table(table, misalign), d_out(out0, misalign);
  cu::TemporalLookupAdd(nullptr, N, n_mark, d_marks.get(), column, d_table.get(), rows, D, d_out.get());
  test::sync_ok(label.c_str());
  CheckSame(d_out.host(), out_ref, label + " forward");

  const std::vector<float> dy = rng.normal_vector(N * D);
  const std::vector<float> dtable0 = rng.uniform_vector(rows * D);  // the backward accumulates
  std::vector<float> dtable_ref = dtable0;
  informer::TemporalLookupBackward(N, n_mark, marks.data(), column, dy.data(), D, dtable_ref.data());
  OffsetVec d_dy(dy, misalign), d_dtable(dtable0, misalign);
  cu::TemporalLookupBackward(nullptr, N, n_mark, d_marks.get(), column, d_dy.get(), rows, D, d_dtable.get());
  test::sync_ok(label.c_str());
  CheckSame(d_dtable.host(), dtable_ref, label + " backward");
}

// Invalid marks (NaN, negative, >= rows, huge) must clamp into the table, never read or write
// outside it: the result equals the CPU kernels run on the clamped indices.
void LookupClampCase(test::Rng& rng) {
  const int64_t rows = 7, D = 12, n_mark = 1;
  const std::vector<float> marks = {std::numeric_limits<float>::quiet_NaN(), -5.f, -0.5f, 7.f, 7.5f, 1e9f,
                                    -1e9f, std::numeric_limits<float>::infinity(), 3.7f, 6.99f};
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

void MseCase(test::Rng& rng, int64_t n, int misalign, bool with_grad) {
  const std::vector<float> pred = rng.normal_vector(n), target = rng.normal_vector(n);
  std::vector<float> d_ref(static_cast<size_t>(n));
  const double loss_ref = informer::MseForwardBackward(n, pred.data(), target.data(), d_ref.data());
  const std::string label = Label("mse n/misalign/grad", {n, misalign, with_grad});

  OffsetVec d_pred(pred, misalign), d_target(target, misalign), d_grad(std::vector<float>(n, -3.f), misalign);
  const int64_t ws = cu::MseWorkspaceDoubles(n);
  CHECK(ws >= 1);
  test::DeviceVec<double> d_ws(ws, std::numeric_limits<double>::quiet_NaN()), d_loss(1, -1.0);
  cu::MseForwardBackward(nullptr, n, d_pred.get(), d_target.get(), with_grad ? d_grad.get() : nullptr, d_loss.get(),
                         d_ws.get());
  test::sync_ok(label.c_str());
  const double loss = d_loss.host()[0];
  CHECK_NEAR(loss, loss_ref, 1e-9 * loss_ref);
  if (with_grad) {
    CheckSame(d_grad.host(), d_ref, label + " d_pred");
  } else {
    CheckSame(d_grad.host(), std::vector<float>(n, -3.f), label + " d_pred untouched");
  }
  // A fixed reduction order: the same call gives the same bits.
  cu::MseForwardBackward(nullptr, n, d_pred.get(), d_target.get(), nullptr, d_loss.get(), d_ws.get());
  test::sync_ok(label.c_str());
  CHECK_MSG(d_loss.host()[0] == loss, (label + " deterministic").c_str());
}

// Three consecutive steps (t = 1, 2, 3) with fresh gradients; params and both moments compared.
void AdamCase(test::Rng& rng, int64_t n, float weight_decay, int misalign) {
  informer::AdamConfig c;
  c.lr = 1e-3f, c.weight_decay = weight_decay;
  std::vector<float> p_ref = rng.uniform_vector(n), m_ref(static_cast<size_t>(n), 0.f), v_ref(m_ref);
  OffsetVec d_p(p_ref, misalign), d_m(m_ref, misalign), d_v(v_ref, misalign);
  for (int64_t t = 1; t <= 3; ++t) {
    const std::vector<float> grad = rng.normal_vector(n, 0.f, 0.1f);
    informer::AdamUpdate(n, c, t, grad.data(), p_ref.data(), m_ref.data(), v_ref.data());
    OffsetVec d_g(grad, misalign);
    cu::AdamUpdate(nullptr, n, c, t, d_g.get(), d_p.get(), d_m.get(), d_v.get());
    const std::string label =
        Label("adam n/wd*100/misalign/t", {n, static_cast<int64_t>(weight_decay * 100), misalign, t});
    test::sync_ok(label.c_str());
    const std::vector<float> p = d_p.host(), m = d_m.host(), v = d_v.host();
    CHECK_ALLCLOSE_MSG(p.data(), p_ref.data(), n, 1e-12, 1e-6, (label + " param").c_str());
    CHECK_ALLCLOSE_MSG(m.data(), m_ref.data(), n, 1e-12, 1e-6, (label + " m").c_str());
    CHECK_ALLCLOSE_MSG(v.data(), v_ref.data(), n, 1e-12, 1e-6, (label + " v").c_str());
    int64_t differing_bits = 0;
    for (int64_t i = 0; i < n; ++i) differing_bits += p[i] != p_ref[i] || m[i] != m_ref[i] || v[i] != v_ref[i];
    if (differing_bits) std::printf("  note: %s: %lld of %lld elements not bit-identical\n", label.c_str(),
                                    static_cast<long long>(differing_bits), static_cast<long long>(n));
  }
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_embedding_optim")) return 77;
  test::Rng rng(20240611);

  // Lookups: Informer's tables (minute 4, weekday 7, month 13, hour 24, day 32) at the fixtures'
  // d_model and N = batch * L (seed: 32 x 12 / 18, paper_small: 2 x 96 / 48 / 72, paper: 32 x 96),
  // odd widths, and misaligned pointers (the scalar path).
  LookupCase(rng, 4, 32, 32 * 12, 0);
  LookupCase(rng, 7, 64, 2 * 96, 0);
  LookupCase(rng, 13, 7, 101, 0);
  LookupCase(rng, 24, 32, 32 * 18, 1);
  LookupCase(rng, 32, 64, 2 * 72, 0);
  LookupCase(rng, 32, 512, 140, 0);  // 4-warp backward blocks over 2 mark tiles, 4 column tiles
  LookupCase(rng, 13, 33, 37, 1);
  LookupCase(rng, 4, 1, 300, 0);
  LookupClampCase(rng);
#ifndef INFORMER_CUDA_EMULATION
  for (int64_t rows : {4, 7, 13, 24, 32})
    for (int64_t D : {32, 64, 512})
      for (int64_t N : {32 * 12, 32 * 18, 2 * 96, 32 * 48, 32 * 72, 32 * 96}) LookupCase(rng, rows, D, N, 0);
  LookupCase(rng, 32, 512, 32 * 96, 1);
  LookupCase(rng, 13, 1000, 32 * 96 + 5, 0);
  LookupCase(rng, 24, 2051, 777, 0);  // several column tiles per table row
  LookupCase(rng, 7, 301, 70000, 0);  // one row per block y (301 > 256 units): 70000 > grid.y cap, grid-stride
#endif

  // MSE: n = 0 writes nothing.
  test::DeviceVec<double> d_loss(1, 123.0), d_ws(cu::MseWorkspaceDoubles(0));
  cu::MseForwardBackward(nullptr, 0, nullptr, nullptr, nullptr, d_loss.get(), d_ws.get());
  test::sync_ok("mse n 0");
  CHECK(d_loss.host()[0] == 123.0);
  for (int64_t n : {1, 7, 1000, 32 * 24 * 7}) {
    MseCase(rng, n, 0, true);
    MseCase(rng, n, 1, true);
  }
  MseCase(rng, 1003, 0, false);
#ifndef INFORMER_CUDA_EMULATION
  MseCase(rng, (1 << 24) + 3, 0, true);
  MseCase(rng, (1 << 24) + 3, 1, true);
  MseCase(rng, 32 * 96 * 7, 0, true);
#endif

  // Adam.
  for (float wd : {0.f, 0.01f})
    for (int64_t n : {1, 7, 1001}) {
      AdamCase(rng, n, wd, 0);
      AdamCase(rng, n, wd, 1);
    }
#ifndef INFORMER_CUDA_EMULATION
  for (float wd : {0.f, 0.01f}) {
    AdamCase(rng, (1 << 22) + 3, wd, 0);
    AdamCase(rng, (1 << 22) + 3, wd, 1);
  }
#endif
  return test::finish("test_cuda_embedding_optim");
}
