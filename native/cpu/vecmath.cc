#include "cpu/vecmath.h"

#include <cmath>

#include "cpu/fast_math.h"

namespace informer {

namespace {

bool UseAvx2() {
#if defined(__x86_64__) || defined(_M_X64)
  static const bool ok = vecmath_internal::Avx2Available();
  return ok;
#else
  return false;
#endif
}

constexpr float kInvSqrt2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;

}  // namespace

float ExpShiftSum(float* x, int64_t n, float shift) {
#if defined(__x86_64__) || defined(_M_X64)
  if (UseAvx2()) return vecmath_internal::ExpShiftSumAvx2(x, n, shift);
#endif
  float sum = 0.f;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = FastExp(x[j] - shift);
    sum += x[j];
  }
  return sum;
}

void SoftmaxRow(float* x, int64_t n) {
#if defined(__x86_64__) || defined(_M_X64)
  if (UseAvx2()) return vecmath_internal::SoftmaxRowAvx2(x, n);
#endif
  float mx = x[0];
  for (int64_t j = 1; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  const float inv = 1.f / ExpShiftSum(x, n, mx);
  for (int64_t j = 0; j < n; ++j) x[j] *= inv;
}

bool SmallHeadSupported(int64_t d, int64_t Lk) { return d == 8 && Lk <= 256 && UseAvx2(); }

void SmallHeadAttention(int64_t rows, int64_t Lk, int64_t d, const float* q, int64_t q_row, const int32_t* q_index,
                        const float* k, const float* v, int64_t kv_row, float scale, bool causal,
                        const int32_t* positions, float* out, int64_t out_row, float* probs, const uint8_t* keep,
                        float inv_keep) {
#if defined(__x86_64__) || defined(_M_X64)
  vecmath_internal::SmallHeadAttention8Avx2(rows, Lk, q, q_row, q_index, k, v, kv_row, scale, causal, positions, out,
                                            out_row, probs, keep, inv_keep);
#endif
}

void SmallHeadAttentionBackward(int64_t rows, int64_t Lk, const float* q, int64_t q_row, const int32_t* q_index,
                                const float* k, const float* v, int64_t kv_row, const float* d_out, int64_t out_row,
                                const float* probs, float scale, float* dq, float* dk, float* dv, const uint8_t* keep,
                                float inv_keep) {
#if defined(__x86_64__) || defined(_M_X64)
  vecmath_internal::SmallHeadAttentionBackward8Avx2(rows, Lk, q, q_row, q_index, k, v, kv_row, d_out, out_row, probs,
                                                    scale, dq, dk, dv, keep, inv_keep);
#endif
}

void SparsityMeasure8(int64_t Lq, const float* q, int64_t q_row, const float* k, int64_t kv_row, const int32_t* sample,
                      int64_t U, int64_t Lk, float* measure) {
#if defined(__x86_64__) || defined(_M_X64)
  vecmath_internal::SparsityMeasure8Avx2(Lq, q, q_row, k, kv_row, sample, U, Lk, measure);
#endif
}

void EluForwardRange(int64_t n, const float* x, float* out) {
#if defined(__x86_64__) || defined(_M_X64)
  if (UseAvx2()) return vecmath_internal::EluForwardAvx2(n, x, out);
#endif
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] > 0.f ? x[i] : std::expm1(x[i]);
}

void EluBackwardRange(int64_t n, const float* x, const float* dy, float* dx) {
#if defined(__x86_64__) || defined(_M_X64)
  if (UseAvx2()) return vecmath_internal::EluBackwardAvx2(n, x, dy, dx);
#endif
  for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * (x[i] > 0.f ? 1.f : std::exp(x[i]));
}

void GeluBackward(int64_t n, const float* pre, const float* dy, float* dx) {
#if defined(__x86_64__) || defined(_M_X64)
  if (UseAvx2()) return vecmath_internal::GeluBackwardAvx2(n, pre, dy, dx);
#endif
  // d/dx [x Phi(x)] = Phi(x) + x phi(x).
  for (int64_t i = 0; i < n; ++i) {
    const float x = pre[i];
    const float cdf = 0.5f * (1.f + FastErf(x * kInvSqrt2));
    const float pdf = kInvSqrt2Pi * FastExp(-0.5f * x * x);
    dx[i] = dy[i] * (cdf + x * pdf);
  }
}

bool LayerNormBackwardRowsVec(int64_t begin, int64_t end, int64_t D, const float* x, const float* gamma,
                              const float* mean, const float* rstd, const float* dy, float* dx, float* dgamma,
                              float* dbeta) {
#if defined(__x86_64__) || defined(_M_X64)
  if (UseAvx2() && D % 8 == 0) {
    vecmath_internal::LayerNormBackwardRowsAvx2(begin, end, D, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
    return true;
  }
#endif
  return false;
}

bool LayerNormForwardRowsVec(int64_t begin, int64_t end, int64_t D, const float* x, const float* gamma,
                             const float* beta, float eps, float* out, float* mean, float* rstd) {
#if defined(__x86_64__) || defined(_M_X64)
  if (UseAvx2() && D % 8 == 0) {
    vecmath_internal::LayerNormForwardRowsAvx2(begin, end, D, x, gamma, beta, eps, out, mean, rstd);
    return true;
  }
#endif
  return false;
}

bool AddColumnSumsVec(int64_t rows, int64_t n, const float* dy, float* db) {
#if defined(__x86_64__) || defined(_M_X64)
  if (UseAvx2()) {
    vecmath_internal::AddColumnSumsAvx2(rows, n, dy, db);
    return true;
  }
#endif
  return false;
}

bool DropoutBackwardVec(int64_t n, float scale, const uint8_t* keep, float* dy) {
#if defined(__x86_64__) || defined(_M_X64)
  if (UseAvx2()) {
    vecmath_internal::DropoutBackwardAvx2(n, scale, keep, dy);
    return true;
  }
#endif
  return false;
}

}  // namespace informer
