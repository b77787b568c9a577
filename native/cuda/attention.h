// Attention on the GPU: full softmax attention and ProbSparse attention, forward and backward, over
// the per-head strided views of kernels/cpu/attention.h (HeadLayout), with the same semantics as
// the CPU kernels. ProbSparse never materialises the reference's expanded [B, H, Lq, Lk, d] key
// tensor: sampled scores and the sparsity measure M are computed straight from Q, K and the
// [Lq, U] sample, top-u is selected per (batch, head) on the device, and only the u selected rows
// attend to all keys. Callers pass device pointers and a workspace of the size the *WorkspaceFloats
// functions report (floats, 256-byte aligned by the caller).
#pragma once
#include <cstdint>

#include "cuda/pointwise.h"
#include "cuda/runtime.h"
#include "base/op_types.h"

namespace informer::cuda {

// Full attention: out = Dropout(softmax(scale Q K^T [+ causal mask])) V. probs [B, H, Lq, Lk]
// (optional) receives the probabilities before dropout (what the backward needs); without probs
// and without dropout the kernel streams keys with an online softmax in O(Lk) registers, so
// long sequences need no [Lq, Lk] buffer. Dropout (dropout > 0) needs probs and drop_mask
// [B, H, Lq, Lk] (1 = kept), drawn from rng.
int64_t FullAttentionWorkspaceFloats(const AttentionShape& s);
void FullAttentionForward(Stream stream, const AttentionShape& s, const float* q, const float* k, const float* v,
                          HeadLayout in_q, HeadLayout in_kv, float* out, HeadLayout out_layout, bool causal,
                          float scale, float dropout, DropoutRng rng, float* probs, uint8_t* drop_mask,
                          float* workspace);

// dq, dk, dv (layouts of q, k, v) are accumulated into.
int64_t FullAttentionBackwardWorkspaceFloats(const AttentionShape& s);
void FullAttentionBackward(Stream stream, const AttentionShape& s, const float* q, const float* k, const float* v,
                           HeadLayout in_q, HeadLayout in_kv, const float* d_out, HeadLayout out_layout, float scale,
                           float dropout, const float* probs, const uint8_t* drop_mask, float* dq, float* dk, float* dv,
                           float* workspace);

// ProbSparse attention (REFERENCE.md 3c); sample [Lq, U] device indices in [0, Lk) shared by every
// batch element and head. top_out [B, H, u] and probs [B, H, u, Lk] are optional outputs for the
// backward pass. Ties in M resolve to the lower query index, as the CPU kernel does.
int64_t ProbAttentionWorkspaceFloats(const AttentionShape& s, int64_t U, int64_t u);
void ProbAttentionForward(Stream stream, const AttentionShape& s, const float* q, const float* k, const float* v,
                          HeadLayout in_q, HeadLayout in_kv, float* out, HeadLayout out_layout, bool masked,
                          float scale, const int32_t* sample, int64_t U, int64_t u, int32_t* top_out, float* probs,
                          float* workspace);

int64_t ProbAttentionBackwardWorkspaceFloats(const AttentionShape& s, int64_t u);
void ProbAttentionBackward(Stream stream, const AttentionShape& s, const float* q, const float* k, const float* v,
                           HeadLayout in_q, HeadLayout in_kv, const float* d_out, HeadLayout out_layout, bool masked,
                           float scale, int64_t u, const int32_t* top, const float* probs, float* dq, float* dk,
                           float* dv, float* workspace);

}  // namespace informer::cuda
