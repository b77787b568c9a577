// AVX2/FMA versions of the vecmath.h loops: the same FastExp / FastErf formulas, eight lanes at a
// time. Compiled with -mavx2 -mfma; only called after a run-time CPU check.
#include "cpu/vecmath.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/fast_math.h"

namespace informer {
namespace vecmath_internal {

namespace {

inline __m256 Exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  const __m256 shifted = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic);
  const __m256 n = _mm256_sub_ps(shifted, magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.3888889e-3f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3333333e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1666667e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666667e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_castps_si256(shifted);
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(127 - 0x4B400000)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

}  // namespace

bool Avx2Available() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

float ExpShiftSumAvx2(float* x, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), s));
    _mm256_storeu_ps(x + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (; j < n; ++j) {
    x[j] = FastExp(x[j] - shift);
    sum += x[j];
  }
  return sum;
}

// Lanes [0, r) set: the tail of a row handled with masked loads and stores instead of scalar code
// (attention rows are short: 12 to 100 keys).
inline __m256i TailMask(int64_t r) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(r)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline float HorizontalMax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

inline float HorizontalSum(__m256 v) {
  __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_add_ps(m, _mm_movehl_ps(m, m));
  m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// keep[0, valid) as 0/1 floats times `factor`; lanes past `valid` are 0 (no read past the row's end).
inline __m256 KeepFactor8(const uint8_t* keep, int64_t valid, __m256 factor) {
  __m128i bytes;
  if (valid >= 8) {
    bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(keep));
  } else {
    alignas(16) uint8_t tmp[16] = {};
    std::memcpy(tmp, keep, valid);
    bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
  }
  return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)), factor);
}

void SoftmaxRowAvx2(float* x, int64_t n) {
  const int64_t full = n & ~int64_t(7), r = n - full;
  const __m256i tail = TailMask(r);
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  __m256 vmax = ninf;
  for (int64_t j = 0; j < full; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + j));
  if (r)
    vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + full, tail), _mm256_castsi256_ps(tail)));
  const __m256 shift = _mm256_set1_ps(HorizontalMax(vmax));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t j = 0; j < full; j += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), shift));
    _mm256_storeu_ps(x + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  __m256 etail = _mm256_setzero_ps();
  if (r) {
    etail = _mm256_and_ps(Exp8(_mm256_sub_ps(_mm256_maskload_ps(x + full, tail), shift)), _mm256_castsi256_ps(tail));
    acc = _mm256_add_ps(acc, etail);
  }
  const __m256 inv = _mm256_set1_ps(1.f / HorizontalSum(acc));
  for (int64_t j = 0; j < full; j += 8) _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), inv));
  if (r) _mm256_maskstore_ps(x + full, tail, _mm256_mul_ps(etail, inv));
}

void SmallHeadAttention8Avx2(int64_t rows, int64_t Lk, const float* q, int64_t q_row, const int32_t* q_index,
                             const float* k, const float* v, int64_t kv_row, float scale, bool causal,
                             const int32_t* positions, float* out, int64_t out_row, float* probs, const uint8_t* keep,
                             float inv_keep) {
  // K transposed once per head ([8][Lk], padded to whole vectors) so a row's scores are 8 FMAs per
  // 8 keys with broadcast query elements.
  const int64_t nv = (Lk + 7) / 8;
  alignas(32) float kt[8][256];
  alignas(32) float scores[256];
  for (int64_t j = 0; j < nv * 8; ++j)
    for (int e = 0; e < 8; ++e) kt[e][j] = j < Lk ? k[j * kv_row + e] : 0.f;
  const __m256 lane = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  for (int64_t r = 0; r < rows; ++r) {
    const float* qr = q + (q_index ? q_index[r] : r) * q_row;
    __m256 qe[8];
    for (int e = 0; e < 8; ++e) qe[e] = _mm256_set1_ps(qr[e] * scale);
    // Keys past Lk, and past the query's position when causal, are -inf.
    const float limit = static_cast<float>(causal ? std::min<int64_t>(Lk, (positions ? positions[r] : r) + 1) : Lk);
    __m256 vmax = ninf;
    for (int64_t c = 0; c < nv; ++c) {
      __m256 s = _mm256_mul_ps(qe[0], _mm256_load_ps(&kt[0][c * 8]));
      for (int e = 1; e < 8; ++e) s = _mm256_fmadd_ps(qe[e], _mm256_load_ps(&kt[e][c * 8]), s);
      const __m256 idx = _mm256_add_ps(lane, _mm256_set1_ps(static_cast<float>(c * 8)));
      s = _mm256_blendv_ps(s, ninf, _mm256_cmp_ps(idx, _mm256_set1_ps(limit), _CMP_GE_OQ));
      _mm256_store_ps(scores + c * 8, s);
      vmax = _mm256_max_ps(vmax, s);
    }
    const __m256 shift = _mm256_set1_ps(HorizontalMax(vmax));
    __m256 acc = _mm256_setzero_ps();
    for (int64_t c = 0; c < nv; ++c) {
      const __m256 e = Exp8(_mm256_sub_ps(_mm256_load_ps(scores + c * 8), shift));
      // exp of a masked entry clamps to ~1e-38: zero it so it adds nothing.
      const __m256 idx = _mm256_add_ps(lane, _mm256_set1_ps(static_cast<float>(c * 8)));
      const __m256 p = _mm256_andnot_ps(_mm256_cmp_ps(idx, _mm256_set1_ps(limit), _CMP_GE_OQ), e);
      _mm256_store_ps(scores + c * 8, p);
      acc = _mm256_add_ps(acc, p);
    }
    const float inv = 1.f / HorizontalSum(acc);
    const int64_t keys = static_cast<int64_t>(limit);
    if (probs) {
      const __m256 vinv = _mm256_set1_ps(inv);
      float* pr = probs + r * Lk;
      const int64_t full = Lk / 8;
      for (int64_t c = 0; c < full; ++c)
        _mm256_storeu_ps(pr + c * 8, _mm256_mul_ps(_mm256_load_ps(scores + c * 8), vinv));
      for (int64_t j = full * 8; j < Lk; ++j) pr[j] = scores[j] * inv;
    }
    float out_scale = inv;
    if (keep) {  // dropout on the probabilities: dropped keys leave the sum, the rest scale by inv_keep
      const uint8_t* kr = keep + r * Lk;
      const __m256 ones = _mm256_set1_ps(1.f);
      for (int64_t c = 0; c * 8 < keys; ++c)
        _mm256_store_ps(scores + c * 8,
                        _mm256_mul_ps(_mm256_load_ps(scores + c * 8), KeepFactor8(kr + c * 8, Lk - c * 8, ones)));
      out_scale *= inv_keep;
    }
    __m256 o = _mm256_setzero_ps();
    for (int64_t j = 0; j < keys; ++j)
      o = _mm256_fmadd_ps(_mm256_set1_ps(scores[j]), _mm256_loadu_ps(v + j * kv_row), o);
    const int64_t dst = positions ? positions[r] : r;
    _mm256_storeu_ps(out + dst * out_row, _mm256_mul_ps(o, _mm256_set1_ps(out_scale)));
  }
}

void SmallHeadAttentionBackward8Avx2(int64_t rows, int64_t Lk, const float* q, int64_t q_row, const int32_t* q_index,
                                     const float* k, const float* v, int64_t kv_row, const float* d_out,
                                     int64_t out_row, const float* probs, float scale, float* dq, float* dk, float* dv,
                                     const uint8_t* keep, float inv_keep) {
  const int64_t nv = (Lk + 7) / 8;
  alignas(32) float vt[8][256];
  alignas(32) float ds[256];
  for (int64_t j = 0; j < nv * 8; ++j)
    for (int e = 0; e < 8; ++e) vt[e][j] = j < Lk ? v[j * kv_row + e] : 0.f;
  const __m256 vinv_keep = _mm256_set1_ps(inv_keep);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t qi = q_index ? q_index[r] : r;
    const float* g = d_out + qi * out_row;
    const float* p = probs + r * Lk;
    const uint8_t* kr = keep ? keep + r * Lk : nullptr;
    __m256 ge[8];
    for (int e = 0; e < 8; ++e) ge[e] = _mm256_set1_ps(g[e]);
    // dP = dOut . V^T over the keys, and dot = sum_j dP_j P_j for the softmax backward.
    __m256 dot = _mm256_setzero_ps();
    for (int64_t c = 0; c < nv; ++c) {
      __m256 dp = _mm256_mul_ps(ge[0], _mm256_load_ps(&vt[0][c * 8]));
      for (int e = 1; e < 8; ++e) dp = _mm256_fmadd_ps(ge[e], _mm256_load_ps(&vt[e][c * 8]), dp);
      const int64_t valid = std::min<int64_t>(8, Lk - c * 8);
      if (kr) dp = _mm256_mul_ps(dp, KeepFactor8(kr + c * 8, valid, vinv_keep));  // through the dropout
      _mm256_store_ps(ds + c * 8, dp);
      const __m256 pv = valid == 8 ? _mm256_loadu_ps(p + c * 8) : _mm256_maskload_ps(p + c * 8, TailMask(valid));
      dot = _mm256_fmadd_ps(dp, pv, dot);
    }
    const float dsum = HorizontalSum(dot);
    const __m256 gr = _mm256_loadu_ps(g);
    const __m256 qr = _mm256_loadu_ps(q + qi * q_row);
    __m256 dq_acc = _mm256_setzero_ps();
    for (int64_t j = 0; j < Lk; ++j) {
      const float pj = p[j];
      const float dsj = pj * (ds[j] - dsum) * scale;             // softmax backward, times the score scale
      const float aj = kr ? (kr[j] ? pj * inv_keep : 0.f) : pj;  // the probability dropout passed on
      float* dvj = dv + j * kv_row;
      _mm256_storeu_ps(dvj, _mm256_fmadd_ps(_mm256_set1_ps(aj), gr, _mm256_loadu_ps(dvj)));
      const __m256 s = _mm256_set1_ps(dsj);
      dq_acc = _mm256_fmadd_ps(s, _mm256_loadu_ps(k + j * kv_row), dq_acc);
      float* dkj = dk + j * kv_row;
      _mm256_storeu_ps(dkj, _mm256_fmadd_ps(s, qr, _mm256_loadu_ps(dkj)));
    }
    float* dqr = dq + qi * q_row;
    _mm256_storeu_ps(dqr, _mm256_add_ps(_mm256_loadu_ps(dqr), dq_acc));
  }
}

// ELU as exp(x) - 1 below zero (absolute error ~1e-7 against expm1, which the scalar libm call
// spends ~7 ns per element on: 5% of a batch-1 paper forward). NaN passes through as NaN.
void EluForwardAvx2(int64_t n, const float* x, float* out) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 neg = _mm256_sub_ps(Exp8(_mm256_min_ps(v, zero)), one);
    _mm256_storeu_ps(out + i, _mm256_blendv_ps(neg, v, _mm256_cmp_ps(v, zero, _CMP_NLE_UQ)));
  }
  for (; i < n; ++i) out[i] = x[i] > 0.f || x[i] != x[i] ? x[i] : FastExp(x[i]) - 1.f;
}

// dx += dy * (x > 0 ? 1 : exp(x)); a NaN x gives a NaN gradient.
void EluBackwardAvx2(int64_t n, const float* x, const float* dy, float* dx) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    __m256 f = _mm256_blendv_ps(Exp8(_mm256_min_ps(v, zero)), one, _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
    f = _mm256_blendv_ps(f, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    _mm256_storeu_ps(dx + i, _mm256_fmadd_ps(_mm256_loadu_ps(dy + i), f, _mm256_loadu_ps(dx + i)));
  }
  for (; i < n; ++i) dx[i] += dy[i] * (x[i] > 0.f ? 1.f : x[i] != x[i] ? x[i] : FastExp(x[i]));
}

// Eight products per sampled key, reduced with two rounds of hadd and one cross-lane add: that is
// ReduceDot's pairing ((0+1)+(2+3))+((4+5)+(6+7)), so the measure (and the selection) is bit for bit
// the portable one. The sum over samples runs in sample order for the same reason.
void SparsityMeasure8Avx2(int64_t Lq, const float* q, int64_t q_row, const float* k, int64_t kv_row,
                          const int32_t* sample, int64_t U, int64_t Lk, float* measure) {
  alignas(32) float dots[8];
  for (int64_t i = 0; i < Lq; ++i) {
    const __m256 qi = _mm256_loadu_ps(q + i * q_row);
    const int32_t* idx = sample + i * U;
    float mx = -INFINITY, sum = 0.f;
    for (int64_t j0 = 0; j0 < U; j0 += 8) {
      const int64_t n = std::min<int64_t>(8, U - j0);
      __m256 p[8];
      for (int64_t j = 0; j < 8; ++j)
        p[j] = j < n ? _mm256_mul_ps(qi, _mm256_loadu_ps(k + static_cast<int64_t>(idx[j0 + j]) * kv_row))
                     : _mm256_setzero_ps();
      const __m256 g1 = _mm256_hadd_ps(_mm256_hadd_ps(p[0], p[1]), _mm256_hadd_ps(p[2], p[3]));
      const __m256 g2 = _mm256_hadd_ps(_mm256_hadd_ps(p[4], p[5]), _mm256_hadd_ps(p[6], p[7]));
      _mm256_store_ps(dots, _mm256_add_ps(_mm256_permute2f128_ps(g1, g2, 0x20), _mm256_permute2f128_ps(g1, g2, 0x31)));
      for (int64_t j = 0; j < n; ++j) {
        mx = std::max(mx, dots[j]);
        sum += dots[j];
      }
    }
    measure[i] = mx - sum / static_cast<float>(Lk);
  }
}

// gelu'(x) = Phi(x) + x phi(x). Phi's erf (FastErf's formula,
// A&S 7.1.26) and phi share one exp(-x^2 / 2).
void GeluBackwardAvx2(int64_t n, const float* pre, const float* dy, float* dx) {
  const __m256 half = _mm256_set1_ps(0.5f), inv_sqrt2 = _mm256_set1_ps(0.70710678118654752f);
  const __m256 inv_sqrt2pi = _mm256_set1_ps(0.39894228040143268f), sign_bit = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(pre + i);
    const __m256 z = _mm256_mul_ps(x, inv_sqrt2);
    const __m256 az = _mm256_andnot_ps(sign_bit, z);
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(az, az)));  // exp(-x^2 / 2)
    const __m256 t =
        _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(az, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
    __m256 poly = _mm256_set1_ps(1.061405429f);
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-1.453152027f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(1.421413741f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-0.284496736f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(0.254829592f));
    poly = _mm256_mul_ps(poly, t);
    const __m256 erf = _mm256_or_ps(_mm256_fnmadd_ps(poly, e, _mm256_set1_ps(1.0f)), _mm256_and_ps(z, sign_bit));
    const __m256 cdf = _mm256_mul_ps(half, _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
    const __m256 pdf = _mm256_mul_ps(inv_sqrt2pi, e);
    _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_fmadd_ps(x, pdf, cdf)));
  }
  for (; i < n; ++i) {
    const float x = pre[i];
    const float cdf = 0.5f * (1.f + FastErf(x * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * FastExp(-0.5f * x * x);
    dx[i] = dy[i] * (cdf + x * pdf);
  }
}

// Eight lanes are reduce.h's eight partial sums, combined in its order.
void LayerNormForwardRowsAvx2(int64_t begin, int64_t end, int64_t D, const float* x, const float* gamma,
                              const float* beta, float eps, float* out, float* mean, float* rstd) {
  const auto combine = [](__m256 v) {
    alignas(32) float a[8];
    _mm256_store_ps(a, v);
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  };
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * D;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t j = 0; j < D; j += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(xr + j));
    const float mu = combine(acc) / static_cast<float>(D);
    const __m256 m = _mm256_set1_ps(mu);
    __m256 sq = _mm256_setzero_ps();
    for (int64_t j = 0; j < D; j += 8) {
      const __m256 c = _mm256_sub_ps(_mm256_loadu_ps(xr + j), m);
      sq = _mm256_add_ps(sq, _mm256_mul_ps(c, c));
    }
    const float rs = 1.f / std::sqrt(combine(sq) / static_cast<float>(D) + eps);
    const __m256 rsv = _mm256_set1_ps(rs);
    float* o = out + r * D;
    for (int64_t j = 0; j < D; j += 8) {
      const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + j), m), rsv);
      _mm256_storeu_ps(o + j,
                       _mm256_add_ps(_mm256_mul_ps(xhat, _mm256_loadu_ps(gamma + j)), _mm256_loadu_ps(beta + j)));
    }
    if (mean) mean[r] = mu;
    if (rstd) rstd[r] = rs;
  }
}

// 32 columns at a time held in registers across all rows (a load and store of db per row would wait
// on store forwarding each time); each column still adds its rows in order, as the scalar loop does.
void AddColumnSumsAvx2(int64_t rows, int64_t n, const float* dy, float* db) {
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    __m256 a0 = _mm256_loadu_ps(db + j), a1 = _mm256_loadu_ps(db + j + 8);
    __m256 a2 = _mm256_loadu_ps(db + j + 16), a3 = _mm256_loadu_ps(db + j + 24);
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = dy + r * n + j;
      a0 = _mm256_add_ps(a0, _mm256_loadu_ps(row));
      a1 = _mm256_add_ps(a1, _mm256_loadu_ps(row + 8));
      a2 = _mm256_add_ps(a2, _mm256_loadu_ps(row + 16));
      a3 = _mm256_add_ps(a3, _mm256_loadu_ps(row + 24));
    }
    _mm256_storeu_ps(db + j, a0);
    _mm256_storeu_ps(db + j + 8, a1);
    _mm256_storeu_ps(db + j + 16, a2);
    _mm256_storeu_ps(db + j + 24, a3);
  }
  for (; j + 8 <= n; j += 8) {
    __m256 a = _mm256_loadu_ps(db + j);
    for (int64_t r = 0; r < rows; ++r) a = _mm256_add_ps(a, _mm256_loadu_ps(dy + r * n + j));
    _mm256_storeu_ps(db + j, a);
  }
  for (; j < n; ++j) {
    float a = db[j];
    for (int64_t r = 0; r < rows; ++r) a += dy[r * n + j];
    db[j] = a;
  }
}

void DropoutBackwardAvx2(int64_t n, float scale, const uint8_t* keep, float* dy) {
  const __m256 s = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i k8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(keep + i));
    const __m256 k = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(k8));
    _mm256_storeu_ps(dy + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_mul_ps(k, s)));
  }
  for (; i < n; ++i) dy[i] *= static_cast<float>(keep[i]) * scale;
}

// Three vector passes per row (sums, then dx; the parameter gradients ride along the first), the row
// sums reduced in a fixed order. D is a multiple of 8 (the caller checks).
void LayerNormBackwardRowsAvx2(int64_t begin, int64_t end, int64_t D, const float* x, const float* gamma,
                               const float* mean, const float* rstd, const float* dy, float* dx, float* dgamma,
                               float* dbeta) {
  const float inv_d = 1.f / static_cast<float>(D);
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * D;
    const float* g = dy + r * D;
    const __m256 mu = _mm256_set1_ps(mean[r]), rs = _mm256_set1_ps(rstd[r]);
    __m256 acc_g = _mm256_setzero_ps(), acc_gx = _mm256_setzero_ps();
    for (int64_t j = 0; j < D; j += 8) {
      const __m256 gj = _mm256_loadu_ps(g + j);
      const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + j), mu), rs);
      const __m256 gh = _mm256_mul_ps(gj, _mm256_loadu_ps(gamma + j));
      acc_g = _mm256_add_ps(acc_g, gh);
      acc_gx = _mm256_fmadd_ps(gh, xhat, acc_gx);
      if (dgamma) {
        _mm256_storeu_ps(dgamma + j, _mm256_fmadd_ps(gj, xhat, _mm256_loadu_ps(dgamma + j)));
        _mm256_storeu_ps(dbeta + j, _mm256_add_ps(_mm256_loadu_ps(dbeta + j), gj));
      }
    }
    const __m256 c_g = _mm256_set1_ps(HorizontalSum(acc_g) * inv_d);
    const __m256 c_gx = _mm256_set1_ps(HorizontalSum(acc_gx) * inv_d);
    float* o = dx + r * D;
    for (int64_t j = 0; j < D; j += 8) {
      const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + j), mu), rs);
      const __m256 gh = _mm256_mul_ps(_mm256_loadu_ps(g + j), _mm256_loadu_ps(gamma + j));
      const __m256 inner = _mm256_sub_ps(_mm256_sub_ps(gh, c_g), _mm256_mul_ps(xhat, c_gx));
      _mm256_storeu_ps(o + j, _mm256_fmadd_ps(rs, inner, _mm256_loadu_ps(o + j)));
    }
  }
}

}  // namespace vecmath_internal
}  // namespace informer

#endif
