// ProbSparse self-attention (ProbAttention in the reference), forward and backward.
// Sampled scores are dot products with gathered key rows: the reference's expanded
// [B, H, Lq, Lk, d] key tensor is never built. Top-u selection is a partial selection.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/thread_pool.h"
#include "cpu/attention.h"
#include "cpu/reduce.h"
#include "cpu/vecmath.h"

namespace informer {

namespace {

struct Scratch {
  std::vector<float> measure, q_reduce, scores, all_scores, context;
  std::vector<int32_t> order;
};

// Up to this many keys per sampled key (Lk <= ratio * U) the sparsity measure is read from the whole
// score matrix Q K^T, one GEMM, rather than from U gathered dot products per query: the GEMM does
// Lk / U times the multiply-adds at several times the speed, and its rows are then the selected
// queries' scores. Measured (8 heads of 64, one layer): L = 96 (Lk / U = 3.8) 138 -> 89 us,
// L = 192 (6.4) 320 -> 250 us, L = 384 (12.8) 690 -> 760-940 us, so the sampled path from 8.
constexpr int64_t kAllScoresRatio = 8;

// measure[i] = max_j q_i.k_s(i,j) - sum_j q_i.k_s(i,j) / Lk (portable; any head width).
void MeasureRows(const AttentionShape& s, const float* q, int64_t q_row, const float* k, int64_t kv_row,
                 const int32_t* sample, int64_t U, float* measure) {
  const int64_t Lq = s.Lq, Lk = s.Lk, d = s.d;
  for (int64_t i = 0; i < Lq; ++i) {
    const float* qi = q + i * q_row;
    const int32_t* idx = sample + i * U;
    float mx = -std::numeric_limits<float>::infinity(), sum = 0.f;
    for (int64_t j = 0; j < U; ++j) {
      const float dot = ReduceDot(qi, k + static_cast<int64_t>(idx[j]) * kv_row, d);
      mx = std::max(mx, dot);
      sum += dot;
    }
    measure[i] = mx - sum / static_cast<float>(Lk);
  }
}

// The same measure with the sampled dot products read from scores = Q K^T [Lq, Lk].
void MeasureFromScores(const float* scores, int64_t Lq, int64_t Lk, const int32_t* sample, int64_t U, float* measure) {
  for (int64_t i = 0; i < Lq; ++i) {
    const float* row = scores + i * Lk;
    const int32_t* idx = sample + i * U;
    float mx = -std::numeric_limits<float>::infinity(), sum = 0.f;
    for (int64_t j = 0; j < U; ++j) {
      const float dot = row[idx[j]];
      mx = std::max(mx, dot);
      sum += dot;
    }
    measure[i] = mx - sum / static_cast<float>(Lk);
  }
}

// Top-u queries by the measure (unscaled dot products; the sum is divided by Lk as the reference
// does). Leaves the selected indices, ascending, in sc->order[0:u] (set semantics, like
// topk(sorted=False)).
void TopQueries(int64_t u, Scratch* sc) {
  const float* m = sc->measure.data();
  std::nth_element(sc->order.begin(), sc->order.begin() + u, sc->order.end(),
                   [m](int32_t a, int32_t b) { return m[a] > m[b] || (m[a] == m[b] && a < b); });
  std::sort(sc->order.begin(), sc->order.begin() + u);
}

// Initial context of the lazy rows: cumulative sum of V (masked) or its mean (unmasked).
void LazyContext(const AttentionShape& s, const float* v, int64_t kv_row, float* out, int64_t out_row, bool masked) {
  const int64_t Lq = s.Lq, Lk = s.Lk, d = s.d;
  if (masked) {
    for (int64_t j = 0; j < d; ++j) out[j] = v[j];
    for (int64_t t = 1; t < Lq; ++t)
      for (int64_t j = 0; j < d; ++j) out[t * out_row + j] = out[(t - 1) * out_row + j] + v[t * kv_row + j];
    return;
  }
  float* mean = out;  // row 0 holds the mean, then it is copied to every row
  for (int64_t j = 0; j < d; ++j) mean[j] = 0.f;
  for (int64_t t = 0; t < Lk; ++t)
    for (int64_t j = 0; j < d; ++j) mean[j] += v[t * kv_row + j];
  const float inv = 1.f / static_cast<float>(Lk);
  for (int64_t j = 0; j < d; ++j) mean[j] *= inv;
  for (int64_t t = 1; t < Lq; ++t) std::copy(mean, mean + d, out + t * out_row);
}

// One (b, h) head. q/k/v/out point at the head's first element.
void ProbHead(const AttentionShape& s, const float* q, int64_t q_row, const float* k, const float* v, int64_t kv_row,
              float* out, int64_t out_row, bool masked, float scale, const int32_t* sample, int64_t U, int64_t u,
              int32_t* top, float* probs, Scratch* sc) {
  const int64_t Lq = s.Lq, Lk = s.Lk, d = s.d;
  const bool small = SmallHeadSupported(d, Lk);
  // With u == Lq every query is selected (short sequences): no measure, no lazy rows.
  const bool all_scores = !small && u < Lq && Lk <= kAllScoresRatio * U;
  sc->order.resize(Lq);
  std::iota(sc->order.begin(), sc->order.end(), 0);
  if (u < Lq) {
    sc->measure.resize(Lq);
    if (small) {
      SparsityMeasure8(Lq, q, q_row, k, kv_row, sample, U, Lk, sc->measure.data());
    } else if (all_scores) {
      sc->all_scores.resize(Lq * Lk);
      sgemm(false, true, Lq, Lk, d, 1.f, q, q_row, k, kv_row, 0.f, sc->all_scores.data(), Lk);
      MeasureFromScores(sc->all_scores.data(), Lq, Lk, sample, U, sc->measure.data());
    } else {
      MeasureRows(s, q, q_row, k, kv_row, sample, U, sc->measure.data());
    }
    TopQueries(u, sc);
    LazyContext(s, v, kv_row, out, out_row, masked);
  }
  const int32_t* sel = sc->order.data();
  if (top) std::copy(sel, sel + u, top);

  // Full attention rows for the selected queries, written over their initial context (tiny heads
  // whole in registers).
  if (small) {
    SmallHeadAttention(u, Lk, d, q, q_row, sel, k, v, kv_row, scale, masked, sel, out, out_row, probs);
    return;
  }
  float* p = probs;
  if (!p) {
    sc->scores.resize(u * Lk);
    p = sc->scores.data();
  }
  if (all_scores) {  // scale * (q k^T) exactly as the GEMM below would round it
    for (int64_t r = 0; r < u; ++r) {
      const float* row = sc->all_scores.data() + sel[r] * Lk;
      for (int64_t j = 0; j < Lk; ++j) p[r * Lk + j] = scale * row[j];
    }
  } else {
    sc->q_reduce.resize(u * d);
    for (int64_t r = 0; r < u; ++r) std::copy(q + sel[r] * q_row, q + sel[r] * q_row + d, sc->q_reduce.data() + r * d);
    sgemm(false, true, u, Lk, d, scale, sc->q_reduce.data(), d, k, kv_row, 0.f, p, Lk);
  }
  if (masked) {
    const float ninf = -std::numeric_limits<float>::infinity();
    for (int64_t r = 0; r < u; ++r)
      for (int64_t j = sel[r] + 1; j < Lk; ++j) p[r * Lk + j] = ninf;
  }
  SoftmaxRows(p, u, Lk);
  // The selected rows are scattered, so compute them into scratch and copy.
  sc->context.resize(u * d);
  float* ctx = sc->context.data();
  sgemm(false, false, u, d, Lk, 1.f, p, Lk, v, kv_row, 0.f, ctx, d);
  for (int64_t r = 0; r < u; ++r) std::copy(ctx + r * d, ctx + (r + 1) * d, out + sel[r] * out_row);
}

}  // namespace

void ProbAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                          HeadLayout in_kv, float* out, HeadLayout out_layout, bool masked, float scale,
                          const int32_t* sample, int64_t U, int64_t u, int32_t* top_out, float* probs) {
  const int64_t BH = s.B * s.H;
  const int64_t flops = s.Lq * U * s.d * 2 + u * s.Lk * s.d * 4;
  const int64_t grain = flops >= (1 << 16) ? 1 : BH;
  ThreadPool::global().parallel_for(BH, grain, [&](int64_t begin, int64_t end) {
    thread_local Scratch sc;
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / s.H, h = bh % s.H;
      ProbHead(s, q + b * in_q.batch + h * in_q.head, in_q.row, k + b * in_kv.batch + h * in_kv.head,
               v + b * in_kv.batch + h * in_kv.head, in_kv.row, out + b * out_layout.batch + h * out_layout.head,
               out_layout.row, masked, scale, sample, U, u, top_out ? top_out + bh * u : nullptr,
               probs ? probs + bh * u * s.Lk : nullptr, &sc);
    }
  });
}

namespace {

struct BackScratch {
  std::vector<float> d_sel, q_sel, dp, dq_sel, lazy_sum;
  std::vector<uint8_t> selected;
};

void ProbHeadBackward(const AttentionShape& s, const float* q, int64_t q_row, const float* k, const float* v,
                      int64_t kv_row, const float* d_out, int64_t out_row, bool masked, float scale, int64_t u,
                      const int32_t* sel, const float* p, float* dq, float* dk, float* dv, BackScratch* sc) {
  const int64_t Lq = s.Lq, Lk = s.Lk, d = s.d;
  sc->selected.assign(Lq, 0);
  for (int64_t r = 0; r < u; ++r) sc->selected[sel[r]] = 1;
  // Lazy rows: their context was mean(V) (every key gets 1/Lk of their gradient) or cumsum(V)
  // (key j gets the gradient of every lazy row t >= j).
  sc->lazy_sum.assign(d, 0.f);
  float* acc = sc->lazy_sum.data();
  if (masked) {
    for (int64_t t = Lq - 1; t >= 0; --t) {
      if (!sc->selected[t])
        for (int64_t e = 0; e < d; ++e) acc[e] += d_out[t * out_row + e];
      for (int64_t e = 0; e < d; ++e) dv[t * kv_row + e] += acc[e];
    }
  } else {
    for (int64_t t = 0; t < Lq; ++t)
      if (!sc->selected[t])
        for (int64_t e = 0; e < d; ++e) acc[e] += d_out[t * out_row + e];
    const float inv = 1.f / static_cast<float>(Lk);
    for (int64_t e = 0; e < d; ++e) acc[e] *= inv;
    for (int64_t j = 0; j < Lk; ++j)
      for (int64_t e = 0; e < d; ++e) dv[j * kv_row + e] += acc[e];
  }
  // Selected rows: ordinary softmax attention of the gathered queries.
  if (SmallHeadSupported(d, Lk)) {
    SmallHeadAttentionBackward(u, Lk, q, q_row, sel, k, v, kv_row, d_out, out_row, p, scale, dq, dk, dv);
    return;
  }
  sc->d_sel.resize(u * d);
  sc->q_sel.resize(u * d);
  for (int64_t r = 0; r < u; ++r) {
    std::copy(d_out + sel[r] * out_row, d_out + sel[r] * out_row + d, sc->d_sel.data() + r * d);
    std::copy(q + sel[r] * q_row, q + sel[r] * q_row + d, sc->q_sel.data() + r * d);
  }
  sc->dp.resize(u * Lk);
  sgemm(false, true, u, Lk, d, 1.f, sc->d_sel.data(), d, v, kv_row, 0.f, sc->dp.data(), Lk);
  sgemm(true, false, Lk, d, u, 1.f, p, Lk, sc->d_sel.data(), d, 1.f, dv, kv_row);
  SoftmaxBackwardRows(p, sc->dp.data(), u, Lk);
  sc->dq_sel.resize(u * d);
  sgemm(false, false, u, d, Lk, scale, sc->dp.data(), Lk, k, kv_row, 0.f, sc->dq_sel.data(), d);
  for (int64_t r = 0; r < u; ++r)
    for (int64_t e = 0; e < d; ++e) dq[sel[r] * q_row + e] += sc->dq_sel[r * d + e];
  sgemm(true, false, Lk, d, u, scale, sc->dp.data(), Lk, sc->q_sel.data(), d, 1.f, dk, kv_row);
}

}  // namespace

void ProbAttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                           HeadLayout in_kv, const float* d_out, HeadLayout out_layout, bool masked, float scale,
                           int64_t u, const int32_t* top, const float* probs, float* dq, float* dk, float* dv) {
  const int64_t BH = s.B * s.H;
  const int64_t flops = u * s.Lk * s.d * 8;
  const int64_t grain = flops >= (1 << 16) ? 1 : BH;
  ThreadPool::global().parallel_for(BH, grain, [&](int64_t begin, int64_t end) {
    thread_local BackScratch sc;
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / s.H, h = bh % s.H;
      const int64_t qo = b * in_q.batch + h * in_q.head, ko = b * in_kv.batch + h * in_kv.head;
      ProbHeadBackward(s, q + qo, in_q.row, k + ko, v + ko, in_kv.row,
                       d_out + b * out_layout.batch + h * out_layout.head, out_layout.row, masked, scale, u,
                       top + bh * u, probs + bh * u * s.Lk, dq + qo, dk + ko, dv + ko, &sc);
    }
  });
}

}  // namespace informer
