// Attention kernels: canonical (full) softmax attention and ProbSparse attention, masked and
// unmasked, over per-head strided views of [B, L, H*d] projections (no transposes materialised).
#pragma once
#include <cstdint>

#include "base/op_types.h"

namespace informer {

class Rng;

// Full attention: out = Dropout(softmax(scale * Q K^T [+ causal mask])) V.
// probs, if given, receives the [B, H, Lq, Lk] softmax probabilities (before dropout), what the
// backward pass needs; without it the kernel works in row blocks with thread-local scratch, so
// memory stays O(block * Lk). Dropout (train mode) needs probs, rng and drop_mask [B, H, Lq, Lk]
// (1 = kept); with dropout == 0 they may be null. mask_first: where this batch's mask starts in the
// key's stream (DropoutMask), non-zero for the later parts of a split batch.
void FullAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                          HeadLayout in_kv, float* out, HeadLayout out_layout, bool causal, float scale, float dropout,
                          Rng* rng, float* probs, uint8_t* drop_mask, int64_t mask_first = 0);

// Backward of FullAttentionForward from its saved probs (and drop_mask when dropout > 0):
// dq, dk, dv (same layouts as q, k, v) are accumulated into.
void FullAttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                           HeadLayout in_kv, const float* d_out, HeadLayout out_layout, float scale, float dropout,
                           const float* probs, const uint8_t* drop_mask, float* dq, float* dk, float* dv);

// ProbSparse attention as the reference computes it (REFERENCE.md 3c):
//   sample: [Lq, U] key indices in [0, Lk), shared by every batch element and head
//   M[i] = max_j q_i.k_{s(i,j)} - sum_j q_i.k_{s(i,j)} / Lk; the top-u queries per (b, h) attend
//   to all keys (causal ProbMask when masked); the other rows keep mean(V) (unmasked) or
//   cumsum(V) (masked; requires Lq == Lk).
// top_out [B, H, u] (optional) receives the selected query indices, probs [B, H, u, Lk] (optional)
// their attention probabilities.
void ProbAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                          HeadLayout in_kv, float* out, HeadLayout out_layout, bool masked, float scale,
                          const int32_t* sample, int64_t U, int64_t u, int32_t* top_out, float* probs);

// Backward of ProbAttentionForward from its saved top [B, H, u] and probs [B, H, u, Lk]: the
// selection is constant; gradients flow through the selected rows' attention and through the
// mean / cumsum of V into the lazy rows. dq, dk, dv are accumulated into.
void ProbAttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                           HeadLayout in_kv, const float* d_out, HeadLayout out_layout, bool masked, float scale,
                           int64_t u, const int32_t* top, const float* probs, float* dq, float* dk, float* dv);

// Softmax backward in place over [rows, n]: dp <- p * (dp - sum_j dp_j p_j).
void SoftmaxBackwardRows(const float* p, float* dp, int64_t rows, int64_t n);

// Row-wise softmax over n columns of a [rows, n] block, in place; -inf entries become 0.
void SoftmaxRows(float* x, int64_t rows, int64_t n);

}  // namespace informer
