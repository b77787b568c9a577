// Vectorised exp-based loops for the attention softmax and the GELU backward. An AVX2/FMA version
// (vecmath_avx2.cc, compiled with -mavx2 -mfma) is chosen at run time; the portable version uses
// the scalar FastExp/FastErf of fast_math.h. Compilers do not vectorise the clamped polynomial on
// their own, hence the explicit intrinsics.
#pragma once
#include <cstdint>

namespace informer {

// x[j] = exp(x[j] - shift) for j < n (x may hold -inf: it becomes 0); returns the sum.
float ExpShiftSum(float* x, int64_t n, float shift);

// In-place softmax of one row of n values (-inf entries become 0).
void SoftmaxRow(float* x, int64_t n);

// True when SmallHeadAttention handles such a head: width 8, at most 256 keys, a CPU with AVX2/FMA.
bool SmallHeadSupported(int64_t d, int64_t Lk);

// Attention for one head of width 8 (the seed configuration's), whole rows in registers:
// out[r] = softmax_j(scale * q[r] . k[j], keys j > pos(r) masked when causal) . v for `rows` query
// rows, where pos(r) = positions ? positions[r] : r. probs [rows, Lk] (optional) receives the
// softmax probabilities (before dropout), as the backward pass needs them. keep [rows, Lk]
// (optional) is attention dropout's mask: the weighted sum then uses P * keep * inv_keep. Only for
// heads SmallHeadSupported(d, Lk).
void SmallHeadAttention(int64_t rows, int64_t Lk, int64_t d, const float* q, int64_t q_row, const int32_t* q_index,
                        const float* k, const float* v, int64_t kv_row, float scale, bool causal,
                        const int32_t* positions, float* out, int64_t out_row, float* probs,
                        const uint8_t* keep = nullptr, float inv_keep = 1.f);

// Backward of SmallHeadAttention from its probabilities [rows, Lk]: for each row r (query
// q_index[r], or r), d_out row pos(r) gives dP = dOut V^T, then dS = softmax'(dP), and
// dq[q row] += scale dS K, dk += scale dS^T q, dv += P^T dOut (all accumulated). With the forward's
// dropout mask keep [rows, Lk], A = P * keep * inv_keep stands in for P in dV, and dP is masked and
// scaled the same way before the softmax backward.
void SmallHeadAttentionBackward(int64_t rows, int64_t Lk, const float* q, int64_t q_row, const int32_t* q_index,
                                const float* k, const float* v, int64_t kv_row, const float* d_out, int64_t out_row,
                                const float* probs, float scale, float* dq, float* dk, float* dv,
                                const uint8_t* keep = nullptr, float inv_keep = 1.f);

// ProbSparse's sparsity measure for heads of width 8 (SmallHeadSupported): measure[i] =
// max_j q_i.k_s(i,j) - sum_j q_i.k_s(i,j) / Lk over the U sampled keys sample[i * U + j], equal bit
// for bit to the portable ReduceDot loop.
void SparsityMeasure8(int64_t Lq, const float* q, int64_t q_row, const float* k, int64_t kv_row, const int32_t* sample,
                      int64_t U, int64_t Lk, float* measure);

// ELU (alpha 1) forward, out = x > 0 ? x : exp(x) - 1, and backward, dx += dy * elu'(x): vectorised
// with AVX2 (exp(x) - 1 instead of expm1: absolute error ~1e-7), libm otherwise.
void EluForwardRange(int64_t n, const float* x, float* out);
void EluBackwardRange(int64_t n, const float* x, const float* dy, float* dx);

// dx[i] = dy[i] * gelu'(pre[i]) with the exact (erf) GELU; dx may alias dy.
void GeluBackward(int64_t n, const float* pre, const float* dy, float* dx);

// LayerNorm backward over rows [begin, end) of width D with the forward's per-row mean and rstd:
// dx += rstd (g - mean(g) - xhat mean(g xhat)) with g = dy gamma, and, when dgamma is not null,
// dgamma += dy xhat and dbeta += dy. Returns false (doing nothing) where no vector version applies
// (no AVX2, or D not a multiple of 8); the caller then runs its own loop.
bool LayerNormBackwardRowsVec(int64_t begin, int64_t end, int64_t D, const float* x, const float* gamma,
                              const float* mean, const float* rstd, const float* dy, float* dx, float* dgamma,
                              float* dbeta);

// LayerNorm forward over rows [begin, end) of width D: the statistics summed in ReduceSum's and
// ReduceSquaredDeviation's order (the compiler may fuse multiply-adds, so results can differ from
// norm.cc's loop in the last bit); mean/rstd may be null. False (doing nothing) without AVX2 or when
// D % 8 != 0.
bool LayerNormForwardRowsVec(int64_t begin, int64_t end, int64_t D, const float* x, const float* gamma,
                             const float* beta, float eps, float* out, float* mean, float* rstd);

// db[j] += sum over rows of dy[r * n + j], rows in order (bit for bit the scalar loop). False without AVX2.
bool AddColumnSumsVec(int64_t rows, int64_t n, const float* dy, float* db);

// dy[i] *= keep[i] * scale (keep 0 or 1). False without AVX2.
bool DropoutBackwardVec(int64_t n, float scale, const uint8_t* keep, float* dy);

namespace vecmath_internal {
// Implemented in vecmath_avx2.cc (x86-64 only); nullptr entries elsewhere.
float ExpShiftSumAvx2(float* x, int64_t n, float shift);
void SoftmaxRowAvx2(float* x, int64_t n);
void SmallHeadAttention8Avx2(int64_t rows, int64_t Lk, const float* q, int64_t q_row, const int32_t* q_index,
                             const float* k, const float* v, int64_t kv_row, float scale, bool causal,
                             const int32_t* positions, float* out, int64_t out_row, float* probs, const uint8_t* keep,
                             float inv_keep);
void SmallHeadAttentionBackward8Avx2(int64_t rows, int64_t Lk, const float* q, int64_t q_row, const int32_t* q_index,
                                     const float* k, const float* v, int64_t kv_row, const float* d_out,
                                     int64_t out_row, const float* probs, float scale, float* dq, float* dk, float* dv,
                                     const uint8_t* keep, float inv_keep);
void SparsityMeasure8Avx2(int64_t Lq, const float* q, int64_t q_row, const float* k, int64_t kv_row,
                          const int32_t* sample, int64_t U, int64_t Lk, float* measure);
void GeluBackwardAvx2(int64_t n, const float* pre, const float* dy, float* dx);
void LayerNormBackwardRowsAvx2(int64_t begin, int64_t end, int64_t D, const float* x, const float* gamma,
                               const float* mean, const float* rstd, const float* dy, float* dx, float* dgamma,
                               float* dbeta);
void EluForwardAvx2(int64_t n, const float* x, float* out);
void EluBackwardAvx2(int64_t n, const float* x, const float* dy, float* dx);
void LayerNormForwardRowsAvx2(int64_t begin, int64_t end, int64_t D, const float* x, const float* gamma,
                              const float* beta, float eps, float* out, float* mean, float* rstd);
void AddColumnSumsAvx2(int64_t rows, int64_t n, const float* dy, float* db);
void DropoutBackwardAvx2(int64_t n, float scale, const uint8_t* keep, float* dy);
bool Avx2Available();
}  // namespace vecmath_internal

}  // namespace informer
