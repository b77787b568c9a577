// Canonical softmax attention (FullAttention in the reference), forward.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/gemm.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/cpu/attention.h"

namespace informer {

void SoftmaxRows(float* x, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < n; ++j) mx = std::max(mx, row[j]);
    float sum = 0.f;
    for (int64_t j = 0; j < n; ++j) {
      const float e = std::exp(row[j] - mx);
      row[j] = e;
      sum += e;
    }
    const float inv = 1.f / sum;
    for (int64_t j = 0; j < n; ++j) row[j] *= inv;
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

}  // namespace

void FullAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v,
                          HeadLayout in_q, HeadLayout in_kv, float* out, HeadLayout out_layout,
                          bool causal, float scale, float dropout, Rng* rng, float* probs) {
  const int64_t BH = s.B * s.H;
  auto head_ptrs = [&](int64_t bh, const float** qp, const float** kp, const float** vp, float** op) {
    const int64_t b = bh / s.H, h = bh % s.H;
    *qp = q + b * in_q.batch + h * in_q.head;
    *kp = k + b * in_kv.batch + h * in_kv.head;
    *vp = v + b * in_kv.batch + h * in_kv.head;
    *op = out + b * out_layout.batch + h * out_layout.head;
  };
  ThreadPool& pool = ThreadPool::global();

  if (probs) {
    // Keep the probabilities: scores for every head, optional dropout (sequential, for a
    // reproducible stream), then the weighted sum.
    pool.parallel_for(BH, HeadGrain(s), [&](int64_t begin, int64_t end) {
      for (int64_t bh = begin; bh < end; ++bh) {
        const float *qp, *kp, *vp;
        float* op;
        head_ptrs(bh, &qp, &kp, &vp, &op);
        float* p = probs + bh * s.Lq * s.Lk;
        sgemm(false, true, s.Lq, s.Lk, s.d, scale, qp, in_q.row, kp, in_kv.row, 0.f, p, s.Lk);
        if (causal) MaskCausal(p, s.Lq, 0, s.Lk);
        SoftmaxRows(p, s.Lq, s.Lk);
      }
    });
    if (dropout > 0.f && rng) {
      const float keep = 1.f - dropout, inv_keep = 1.f / keep;
      const int64_t n = BH * s.Lq * s.Lk;
      for (int64_t i = 0; i < n; ++i) probs[i] = rng->UniformFloat() < keep ? probs[i] * inv_keep : 0.f;
    }
    pool.parallel_for(BH, HeadGrain(s), [&](int64_t begin, int64_t end) {
      for (int64_t bh = begin; bh < end; ++bh) {
        const float *qp, *kp, *vp;
        float* op;
        head_ptrs(bh, &qp, &kp, &vp, &op);
        sgemm(false, false, s.Lq, s.d, s.Lk, 1.f, probs + bh * s.Lq * s.Lk, s.Lk, vp, in_kv.row, 0.f, op,
              out_layout.row);
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
      const float *qp, *kp, *vp;
      float* op;
      head_ptrs(bh, &qp, &kp, &vp, &op);
      for (int64_t r0 = 0; r0 < s.Lq; r0 += block) {
        const int64_t rows = std::min(block, s.Lq - r0);
        // Causal rows only see keys up to their own position.
        const int64_t keys = causal ? std::min(s.Lk, r0 + rows) : s.Lk;
        float* p = scratch.data();
        sgemm(false, true, rows, keys, s.d, scale, qp + r0 * in_q.row, in_q.row, kp, in_kv.row, 0.f, p, keys);
        if (causal) MaskCausal(p, rows, r0, keys);
        SoftmaxRows(p, rows, keys);
        sgemm(false, false, rows, s.d, keys, 1.f, p, keys, vp, in_kv.row, 0.f, op + r0 * out_layout.row,
              out_layout.row);
      }
    }
  });
}

}  // namespace informer
