// Canonical softmax attention (FullAttention in the reference), forward and backward.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/gemm.h"
#include "base/rng.h"
#include "cpu/thread_pool.h"
#include "cpu/attention.h"
#include "cpu/reduce.h"
#include "cpu/vecmath.h"
#include "cpu/pointwise.h"

namespace informer {

void SoftmaxRows(float* x, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) SoftmaxRow(x + r * n, n);
}

void SoftmaxBackwardRows(const float* p, float* dp, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* pr = p + r * n;
    float* g = dp + r * n;
    const float dot = ReduceDot(g, pr, n);
    for (int64_t j = 0; j < n; ++j) g[j] = pr[j] * (g[j] - dot);
  }
}

namespace {

constexpr int64_t kRowBlock = 128;  // query rows per scratch block when probabilities are not kept

void MaskCausal(float* scores, int64_t rows, int64_t row0, int64_t Lk) {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = row0 + r + 1; j < Lk; ++j) scores[r * Lk + j] = ninf;
}

// Grain for parallel loops over (b, h): split only when a head carries real work.
int64_t HeadGrain(const AttentionShape& s) {
  const int64_t flops = s.Lq * s.Lk * s.d * 4;
  return flops >= (1 << 16) ? 1 : s.B * s.H;
}

struct HeadPtrs {
  const float *q, *k, *v;
  int64_t out_offset;
};

HeadPtrs Head(const AttentionShape& s, int64_t bh, const float* q, const float* k, const float* v, HeadLayout in_q,
              HeadLayout in_kv, HeadLayout out_layout) {
  const int64_t b = bh / s.H, h = bh % s.H;
  return {q + b * in_q.batch + h * in_q.head, k + b * in_kv.batch + h * in_kv.head,
          v + b * in_kv.batch + h * in_kv.head, b * out_layout.batch + h * out_layout.head};
}

// A = P * mask / keep for one head into `a`.
void ApplyDropMask(const float* p, const uint8_t* mask, int64_t n, float inv_keep, float* a) {
  for (int64_t i = 0; i < n; ++i) a[i] = mask[i] ? p[i] * inv_keep : 0.f;
}

}  // namespace

void FullAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                          HeadLayout in_kv, float* out, HeadLayout out_layout, bool causal, float scale, float dropout,
                          Rng* rng, float* probs, uint8_t* drop_mask, int64_t mask_first) {
  const int64_t BH = s.B * s.H, LL = s.Lq * s.Lk;
  ThreadPool& pool = ThreadPool::global();

  if (probs) {
    // Training layout: keep every head's probabilities for the backward pass.
    const bool drop = dropout > 0.f && rng && drop_mask;
    // Drawn sequentially so the stream does not depend on the thread count.
    if (drop) BernoulliMask(BH * LL, 1.f - dropout, rng, drop_mask, mask_first);
    const float inv_keep = 1.f / (1.f - dropout);
    // Tiny heads compute probabilities and output (dropout included) in one in-register pass.
    if (SmallHeadSupported(s.d, s.Lk)) {
      pool.parallel_for(BH, HeadGrain(s), [&](int64_t begin, int64_t end) {
        for (int64_t bh = begin; bh < end; ++bh) {
          const HeadPtrs hp = Head(s, bh, q, k, v, in_q, in_kv, out_layout);
          SmallHeadAttention(s.Lq, s.Lk, s.d, hp.q, in_q.row, nullptr, hp.k, hp.v, in_kv.row, scale, causal, nullptr,
                             out + hp.out_offset, out_layout.row, probs + bh * LL, drop ? drop_mask + bh * LL : nullptr,
                             inv_keep);
        }
      });
      return;
    }
    pool.parallel_for(BH, HeadGrain(s), [&](int64_t begin, int64_t end) {
      for (int64_t bh = begin; bh < end; ++bh) {
        const HeadPtrs hp = Head(s, bh, q, k, v, in_q, in_kv, out_layout);
        float* p = probs + bh * LL;
        sgemm(false, true, s.Lq, s.Lk, s.d, scale, hp.q, in_q.row, hp.k, in_kv.row, 0.f, p, s.Lk);
        if (causal) MaskCausal(p, s.Lq, 0, s.Lk);
        SoftmaxRows(p, s.Lq, s.Lk);
      }
    });
    pool.parallel_for(BH, HeadGrain(s), [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> scratch;
      for (int64_t bh = begin; bh < end; ++bh) {
        const HeadPtrs hp = Head(s, bh, q, k, v, in_q, in_kv, out_layout);
        const float* a = probs + bh * LL;
        if (drop) {
          scratch.resize(LL);
          ApplyDropMask(a, drop_mask + bh * LL, LL, inv_keep, scratch.data());
          a = scratch.data();
        }
        sgemm(false, false, s.Lq, s.d, s.Lk, 1.f, a, s.Lk, hp.v, in_kv.row, 0.f, out + hp.out_offset, out_layout.row);
      }
    });
    return;
  }

  // Inference: blocks of query rows through thread-local scratch.
  pool.parallel_for(BH, HeadGrain(s), [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scratch;
    const int64_t block = std::min<int64_t>(kRowBlock, s.Lq);
    if (scratch.size() < static_cast<size_t>(block * s.Lk)) scratch.resize(block * s.Lk);
    for (int64_t bh = begin; bh < end; ++bh) {
      const HeadPtrs hp = Head(s, bh, q, k, v, in_q, in_kv, out_layout);
      // Tiny heads: the whole head in registers, no GEMM calls.
      if (SmallHeadSupported(s.d, s.Lk)) {
        SmallHeadAttention(s.Lq, s.Lk, s.d, hp.q, in_q.row, nullptr, hp.k, hp.v, in_kv.row, scale, causal, nullptr,
                           out + hp.out_offset, out_layout.row, nullptr);
        continue;
      }
      for (int64_t r0 = 0; r0 < s.Lq; r0 += block) {
        const int64_t rows = std::min(block, s.Lq - r0);
        // Causal rows only see keys up to their own position.
        const int64_t keys = causal ? std::min(s.Lk, r0 + rows) : s.Lk;
        float* p = scratch.data();
        sgemm(false, true, rows, keys, s.d, scale, hp.q + r0 * in_q.row, in_q.row, hp.k, in_kv.row, 0.f, p, keys);
        if (causal) MaskCausal(p, rows, r0, keys);
        SoftmaxRows(p, rows, keys);
        sgemm(false, false, rows, s.d, keys, 1.f, p, keys, hp.v, in_kv.row, 0.f,
              out + hp.out_offset + r0 * out_layout.row, out_layout.row);
      }
    }
  });
}

void FullAttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                           HeadLayout in_kv, const float* d_out, HeadLayout out_layout, float scale, float dropout,
                           const float* probs, const uint8_t* drop_mask, float* dq, float* dk, float* dv) {
  const int64_t BH = s.B * s.H, LL = s.Lq * s.Lk;
  const bool drop = dropout > 0.f && drop_mask;
  const float inv_keep = 1.f / (1.f - dropout);
  // Heads write disjoint columns of dq/dk/dv, so they run in parallel without locks.
  ThreadPool::global().parallel_for(BH, HeadGrain(s), [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> dp, a;
    dp.resize(LL);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / s.H, h = bh % s.H;
      const int64_t qo = b * in_q.batch + h * in_q.head, ko = b * in_kv.batch + h * in_kv.head;
      const float* go = d_out + b * out_layout.batch + h * out_layout.head;
      const float* p = probs + bh * LL;
      if (SmallHeadSupported(s.d, s.Lk)) {
        SmallHeadAttentionBackward(s.Lq, s.Lk, q + qo, in_q.row, nullptr, k + ko, v + ko, in_kv.row, go, out_layout.row,
                                   p, scale, dq + qo, dk + ko, dv + ko, drop ? drop_mask + bh * LL : nullptr, inv_keep);
        continue;
      }
      const float* attn = p;
      if (drop) {
        a.resize(LL);
        ApplyDropMask(p, drop_mask + bh * LL, LL, inv_keep, a.data());
        attn = a.data();
      }
      // dA = dOut V^T ; dV += A^T dOut
      sgemm(false, true, s.Lq, s.Lk, s.d, 1.f, go, out_layout.row, v + ko, in_kv.row, 0.f, dp.data(), s.Lk);
      sgemm(true, false, s.Lk, s.d, s.Lq, 1.f, attn, s.Lk, go, out_layout.row, 1.f, dv + ko, in_kv.row);
      if (drop)
        for (int64_t i = 0; i < LL; ++i) dp[i] = drop_mask[bh * LL + i] ? dp[i] * inv_keep : 0.f;
      SoftmaxBackwardRows(p, dp.data(), s.Lq, s.Lk);
      // dQ += scale dS K ; dK += scale dS^T Q
      sgemm(false, false, s.Lq, s.d, s.Lk, scale, dp.data(), s.Lk, k + ko, in_kv.row, 1.f, dq + qo, in_q.row);
      sgemm(true, false, s.Lk, s.d, s.Lq, scale, dp.data(), s.Lk, q + qo, in_q.row, 1.f, dk + ko, in_kv.row);
    }
  });
}

}  // namespace informer
