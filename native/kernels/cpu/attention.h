// Attention kernels: canonical (full) softmax attention and ProbSparse attention, masked and
// unmasked, over per-head strided views of [B, L, H*d] projections (no transposes materialised).
#pragma once
#include <cstdint>

namespace informer {

class Rng;

// Where element (b, h, l, j) of a [B, H, L, d] tensor lives: b*batch + h*head + l*row + j.
struct HeadLayout {
  int64_t batch, head, row;
  // Projections [B, L, H*d]: heads side by side within a row.
  static HeadLayout RowMajor(int64_t L, int64_t H, int64_t d) { return {L * H * d, d, H * d}; }
  // Head-major [B, H, L, d]; read back as [B, L, H*d] this is the reference's `mix` layout.
  static HeadLayout HeadMajor(int64_t L, int64_t H, int64_t d) { return {L * H * d, L * d, d}; }
};

struct AttentionShape {
  int64_t B, H, Lq, Lk, d;
};

// Full attention: out = softmax(scale * Q K^T [+ causal mask]) V, with dropout on the probabilities
// when dropout > 0 (train mode; rng required). probs, if given, receives the [B, H, Lq, Lk]
// probabilities after dropout (what the backward pass needs); without it the kernel works in
// row blocks with thread-local scratch, so memory stays O(block * Lk).
void FullAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v,
                          HeadLayout in_q, HeadLayout in_kv, float* out, HeadLayout out_layout,
                          bool causal, float scale, float dropout, Rng* rng, float* probs);

// ProbSparse attention as the reference computes it (REFERENCE.md 3c):
//   sample: [Lq, U] key indices in [0, Lk), shared by every batch element and head
//   M[i] = max_j q_i.k_{s(i,j)} - sum_j q_i.k_{s(i,j)} / Lk; the top-u queries per (b, h) attend
//   to all keys (causal ProbMask when masked); the other rows keep mean(V) (unmasked) or
//   cumsum(V) (masked; requires Lq == Lk).
// top_out [B, H, u] (optional) receives the selected query indices, probs [B, H, u, Lk] (optional)
// their attention probabilities.
void ProbAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v,
                          HeadLayout in_q, HeadLayout in_kv, float* out, HeadLayout out_layout,
                          bool masked, float scale, const int32_t* sample, int64_t U, int64_t u,
                          int32_t* top_out, float* probs);

// Row-wise softmax over n columns of a [rows, n] block, in place; -inf entries become 0.
void SoftmaxRows(float* x, int64_t rows, int64_t n);

}  // namespace informer
