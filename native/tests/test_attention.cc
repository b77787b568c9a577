// Attention kernels against direct formulas evaluated in double precision: full attention
// (masked and unmasked, row-major and `mix` head-major output) and ProbSparse attention (the
// reference algorithm written out loop by loop), plus the u == L equivalence of the two.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "cpu/attention.h"
#include "cpu/reduce.h"
#include "cpu/vecmath.h"
#include "test_util.h"

using namespace informer;

namespace {

struct Case {
  int64_t B, H, Lq, Lk, d;
};

// softmax(scale * q k^T [+causal]) v for one head, in double.
void DirectHead(const Case& c, const float* q, const float* k, const float* v, int64_t row, bool causal, double scale,
                int64_t i, std::vector<double>* out) {
  std::vector<double> s(c.Lk);
  double mx = -INFINITY;
  for (int64_t j = 0; j < c.Lk; ++j) {
    if (causal && j > i) {
      s[j] = -INFINITY;
      continue;
    }
    double dot = 0;
    for (int64_t e = 0; e < c.d; ++e) dot += double(q[i * row + e]) * k[j * row + e];
    s[j] = dot * scale;
    mx = std::max(mx, s[j]);
  }
  double sum = 0;
  for (double& x : s) {
    x = std::isinf(x) ? 0 : std::exp(x - mx);
    sum += x;
  }
  out->assign(c.d, 0.0);
  for (int64_t j = 0; j < c.Lk; ++j)
    for (int64_t e = 0; e < c.d; ++e) (*out)[e] += s[j] / sum * v[j * row + e];
}

void TestFull(const Case& c, bool causal, bool mix) {
  const int64_t D = c.H * c.d;
  std::vector<float> q(c.B * c.Lq * D), k(c.B * c.Lk * D), v(c.B * c.Lk * D), out(c.B * c.Lq * D), ref(out.size());
  test::Rng(1).fill_uniform(q.data(), q.size());
  test::Rng(2).fill_uniform(k.data(), k.size());
  test::Rng(3).fill_uniform(v.data(), v.size());
  const double scale = 1.0 / std::sqrt(double(c.d));
  const HeadLayout lay = mix ? HeadLayout::HeadMajor(c.Lq, c.H, c.d) : HeadLayout::RowMajor(c.Lq, c.H, c.d);
  std::vector<double> row;
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.H; ++h)
      for (int64_t i = 0; i < c.Lq; ++i) {
        DirectHead(c, q.data() + b * c.Lq * D + h * c.d, k.data() + b * c.Lk * D + h * c.d,
                   v.data() + b * c.Lk * D + h * c.d, D, causal, scale, i, &row);
        for (int64_t e = 0; e < c.d; ++e) ref[b * lay.batch + h * lay.head + i * lay.row + e] = float(row[e]);
      }
  const AttentionShape s{c.B, c.H, c.Lq, c.Lk, c.d};
  // Without kept probabilities (inference, row blocks) and with them (training layout).
  FullAttentionForward(s, q.data(), k.data(), v.data(), HeadLayout::RowMajor(c.Lq, c.H, c.d),
                       HeadLayout::RowMajor(c.Lk, c.H, c.d), out.data(), lay, causal, float(scale), 0.f, nullptr,
                       nullptr, nullptr);
  CHECK_ALLCLOSE(out.data(), ref.data(), out.size(), 1e-5, 1e-4);
  std::vector<float> probs(c.B * c.H * c.Lq * c.Lk);
  std::fill(out.begin(), out.end(), 0.f);
  FullAttentionForward(s, q.data(), k.data(), v.data(), HeadLayout::RowMajor(c.Lq, c.H, c.d),
                       HeadLayout::RowMajor(c.Lk, c.H, c.d), out.data(), lay, causal, float(scale), 0.f, nullptr,
                       probs.data(), nullptr);
  CHECK_ALLCLOSE(out.data(), ref.data(), out.size(), 1e-5, 1e-4);
  for (int64_t r = 0; r < c.B * c.H * c.Lq; ++r) {
    double sum = 0;
    for (int64_t j = 0; j < c.Lk; ++j) sum += probs[r * c.Lk + j];
    CHECK_NEAR(sum, 1.0, 1e-5);
  }
}

// The reference ProbAttention, loop by loop (REFERENCE.md 3c), in double.
void ProbDirect(const Case& c, const float* q, const float* k, const float* v, bool masked, const int32_t* sample,
                int64_t U, int64_t u, std::vector<float>* out /* [B, Lq, H, d] row-major */) {
  const int64_t D = c.H * c.d;
  const double scale = 1.0 / std::sqrt(double(c.d));
  out->assign(c.B * c.Lq * D, 0.f);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.H; ++h) {
      auto Q = [&](int64_t i, int64_t e) { return double(q[(b * c.Lq + i) * D + h * c.d + e]); };
      auto K = [&](int64_t j, int64_t e) { return double(k[(b * c.Lk + j) * D + h * c.d + e]); };
      auto V = [&](int64_t j, int64_t e) { return double(v[(b * c.Lk + j) * D + h * c.d + e]); };
      std::vector<double> M(c.Lq);
      for (int64_t i = 0; i < c.Lq; ++i) {
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < U; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < c.d; ++e) dot += Q(i, e) * K(sample[i * U + j], e);
          mx = std::max(mx, dot);
          sum += dot;
        }
        M[i] = mx - sum / double(c.Lk);
      }
      std::vector<int64_t> order(c.Lq);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t z) { return M[a] > M[z]; });
      std::vector<double> ctx(c.Lq * c.d, 0.0);
      for (int64_t i = 0; i < c.Lq; ++i)
        for (int64_t e = 0; e < c.d; ++e) {
          if (masked) {
            for (int64_t j = 0; j <= i; ++j) ctx[i * c.d + e] += V(j, e);
          } else {
            for (int64_t j = 0; j < c.Lk; ++j) ctx[i * c.d + e] += V(j, e) / double(c.Lk);
          }
        }
      for (int64_t r = 0; r < u; ++r) {
        const int64_t i = order[r];
        std::vector<double> s(c.Lk);
        double mx = -INFINITY;
        for (int64_t j = 0; j < c.Lk; ++j) {
          if (masked && j > i) {
            s[j] = -INFINITY;
            continue;
          }
          double dot = 0;
          for (int64_t e = 0; e < c.d; ++e) dot += Q(i, e) * K(j, e);
          s[j] = dot * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (double& x : s) {
          x = std::isinf(x) ? 0 : std::exp(x - mx);
          sum += x;
        }
        for (int64_t e = 0; e < c.d; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < c.Lk; ++j) acc += s[j] / sum * V(j, e);
          ctx[i * c.d + e] = acc;
        }
      }
      for (int64_t i = 0; i < c.Lq; ++i)
        for (int64_t e = 0; e < c.d; ++e) (*out)[(b * c.Lq + i) * D + h * c.d + e] = float(ctx[i * c.d + e]);
    }
}

int64_t Budget(int64_t L) { return std::min<int64_t>(5 * int64_t(std::ceil(std::log(double(L)))), L); }

void TestProb(const Case& c, bool masked) {
  const int64_t D = c.H * c.d, U = Budget(c.Lk), u = Budget(c.Lq);
  std::vector<float> q(c.B * c.Lq * D), k(c.B * c.Lk * D), v(c.B * c.Lk * D), out(c.B * c.Lq * D), ref;
  test::Rng(4).fill_uniform(q.data(), q.size());
  test::Rng(5).fill_uniform(k.data(), k.size());
  test::Rng(6).fill_uniform(v.data(), v.size());
  std::vector<int32_t> sample(c.Lq * U);
  std::mt19937 rng(7);
  for (int32_t& s : sample) s = int32_t(rng() % uint32_t(c.Lk));
  ProbDirect(c, q.data(), k.data(), v.data(), masked, sample.data(), U, u, &ref);
  const AttentionShape s{c.B, c.H, c.Lq, c.Lk, c.d};
  std::vector<int32_t> top(c.B * c.H * u);
  std::vector<float> probs(c.B * c.H * u * c.Lk);
  ProbAttentionForward(s, q.data(), k.data(), v.data(), HeadLayout::RowMajor(c.Lq, c.H, c.d),
                       HeadLayout::RowMajor(c.Lk, c.H, c.d), out.data(), HeadLayout::RowMajor(c.Lq, c.H, c.d), masked,
                       float(1.0 / std::sqrt(double(c.d))), sample.data(), U, u, top.data(), probs.data());
  CHECK_ALLCLOSE(out.data(), ref.data(), out.size(), 1e-5, 1e-4);
  for (int64_t bh = 0; bh < c.B * c.H; ++bh) CHECK(std::is_sorted(top.begin() + bh * u, top.begin() + (bh + 1) * u));
  // Inference (nothing kept for backward): tiny heads take the in-register path.
  std::fill(out.begin(), out.end(), 0.f);
  ProbAttentionForward(s, q.data(), k.data(), v.data(), HeadLayout::RowMajor(c.Lq, c.H, c.d),
                       HeadLayout::RowMajor(c.Lk, c.H, c.d), out.data(), HeadLayout::RowMajor(c.Lq, c.H, c.d), masked,
                       float(1.0 / std::sqrt(double(c.d))), sample.data(), U, u, nullptr, nullptr);
  CHECK_ALLCLOSE(out.data(), ref.data(), out.size(), 1e-5, 1e-4);
}

// The width-8 sparsity measure equals the portable ReduceDot loop bit for bit (so the selected
// queries do not depend on the CPU), for sample counts around the 8-key groups.
void TestSparsityMeasure8() {
  if (!SmallHeadSupported(8, 64)) return;
  for (int64_t U : {1, 7, 8, 9, 15, 16, 21}) {
    const int64_t Lq = 18, Lk = 40, row = 24;  // rows of a [L, 3 heads x 8] projection
    std::vector<float> q(Lq * row), k(Lk * row), got(Lq);
    test::Rng(11).fill_uniform(q.data(), q.size());
    test::Rng(12).fill_uniform(k.data(), k.size());
    std::vector<int32_t> sample(Lq * U);
    std::mt19937 rng(13);
    for (int32_t& s : sample) s = int32_t(rng() % uint32_t(Lk));
    SparsityMeasure8(Lq, q.data() + 8, row, k.data() + 8, row, sample.data(), U, Lk, got.data());
    for (int64_t i = 0; i < Lq; ++i) {
      float mx = -std::numeric_limits<float>::infinity(), sum = 0.f;
      for (int64_t j = 0; j < U; ++j) {
        const float dot = ReduceDot(q.data() + 8 + i * row, k.data() + 8 + sample[i * U + j] * row, 8);
        mx = std::max(mx, dot);
        sum += dot;
      }
      CHECK_EQ(got[i], mx - sum / float(Lk));
    }
  }
}

}  // namespace

int main() {
  TestSparsityMeasure8();
  const Case cases[] = {{2, 4, 12, 12, 8}, {1, 2, 18, 18, 16}, {3, 8, 96, 96, 64}, {2, 3, 72, 48, 5},
                        {1, 1, 1, 7, 3},   {2, 4, 18, 12, 8},  {1, 2, 40, 300, 8}, {1, 2, 9, 9, 8}};
  for (const Case& c : cases) {
    TestFull(c, false, false);
    TestFull(c, false, true);
    if (c.Lq == c.Lk) TestFull(c, true, true);
  }
  // Heads wider than 8 read the measure from the whole score matrix up to Lk = 8 U (96 x 64, 72 x 16)
  // and take sampled dot products beyond (400 keys, U = 30).
  const Case prob_cases[] = {{2, 4, 12, 12, 8},   {1, 2, 18, 18, 16}, {2, 8, 96, 96, 64}, {2, 4, 72, 72, 16},
                             {1, 3, 300, 300, 8}, {2, 4, 18, 18, 8},  {1, 2, 72, 72, 8},  {1, 2, 400, 400, 16}};
  for (const Case& c : prob_cases) {
    TestProb(c, false);
    TestProb(c, true);
  }
  // With u == L every query is active: ProbSparse equals full attention (masked: causal).
  {
    const Case c{2, 4, 12, 12, 8};
    const int64_t D = c.H * c.d, U = Budget(c.Lk), u = Budget(c.Lq);
    CHECK_EQ(u, c.Lq);
    std::vector<float> q(c.B * c.Lq * D), k(q.size()), v(q.size()), a(q.size()), f(q.size());
    test::Rng(8).fill_uniform(q.data(), q.size());
    test::Rng(9).fill_uniform(k.data(), k.size());
    test::Rng(10).fill_uniform(v.data(), v.size());
    std::vector<int32_t> sample(c.Lq * U, 0);
    const AttentionShape s{c.B, c.H, c.Lq, c.Lk, c.d};
    const HeadLayout lay = HeadLayout::RowMajor(c.Lq, c.H, c.d);
    for (bool masked : {false, true}) {
      ProbAttentionForward(s, q.data(), k.data(), v.data(), lay, lay, a.data(), lay, masked, 0.35f, sample.data(), U, u,
                           nullptr, nullptr);
      FullAttentionForward(s, q.data(), k.data(), v.data(), lay, lay, f.data(), lay, masked, 0.35f, 0.f, nullptr,
                           nullptr, nullptr);
      CHECK_ALLCLOSE(a.data(), f.data(), a.size(), 1e-6, 1e-5);
    }
  }
  return test::finish("test_attention");
}
