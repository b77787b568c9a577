// Epilogue, activation and op(B)-transpose code shared by the SIMD kernel files (gemm_avx2.cc,
// gemm_avx512.cc), written once against a vector-traits type V (see below). Each kernel file defines
// INFORMER_SIMD_INLINE as its own target attribute plus always_inline before including this header.
// Everything here sits in an anonymous namespace on purpose: every kernel file gets its own copy,
// compiled for its own ISA, so the linker cannot hand one ISA's copy to another (gemm_internal.h).
//
// V provides: reg, mask, kWidth; set1, zero, loadu, storeu, add, sub, mul, max, fmadd (a*b+c),
// fnmadd (c-a*b), fmsub (a*b-c), abs, rcp (>= 11 bits), round (to nearest), lt and ge (ordered
// compares giving a mask), zero_if(m, v), select(m, if_true, if_false), pow2(n) (2^n, n integral).
#pragma once

#ifndef INFORMER_SIMD_INLINE
#error "define INFORMER_SIMD_INLINE before including core/gemm_simd.h"
#endif

#include <immintrin.h>

#include "cpu/gemm_internal.h"

namespace informer {
namespace gemm_internal {
namespace {

// 2^n e^r for integral n in [-126, 127] and |r| <= ~0.35: the degree-7 Taylor polynomial of e^r
// (truncation error < 6e-9 relative) scaled through the exponent bits.
template <class V>
INFORMER_SIMD_INLINE typename V::reg exp_reduced(typename V::reg n, typename V::reg r) {
  typename V::reg p = V::set1(1.0f / 5040.0f);
  p = V::fmadd(p, r, V::set1(1.0f / 720.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 120.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 24.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 6.0f));
  p = V::fmadd(p, r, V::set1(0.5f));
  p = V::fmadd(p, r, V::set1(1.0f));
  p = V::fmadd(p, r, V::set1(1.0f));
  return V::mul(p, V::pow2(n));
}

// Exact-form GELU 0.5 x (1 + erf(x / sqrt 2)), written through erfc so that it keeps its relative
// accuracy for negative x: with z = |x| / sqrt 2, gelu = 0.5 x erfc(z) for x < 0 and
// x (1 - 0.5 erfc(z)) otherwise. erfc(z) = t exp(P(t) - z^2), t = 1 / (1 + z / 2), where P is a
// degree-9 polynomial fitted (minimax on z in [0, 10]) for this code; relative error < 5e-8 before
// float rounding. z^2 = x^2 / 2 is carried as an exact hi + lo pair through the Cody-Waite reduction
// (ln 2 = 355/512 + lo), so the large exponent costs no accuracy. erfc below the float range -> 0.
template <class V>
INFORMER_SIMD_INLINE typename V::reg gelu(typename V::reg x) {
  using R = typename V::reg;
  const R z = V::mul(V::abs(x), V::set1(0.707106781186547524f));
  // t = 1 / d by the reciprocal estimate and one Newton step (>= 23 bits), cheaper than a division.
  const R d = V::fmadd(z, V::set1(0.5f), V::set1(1.0f));
  const R t0 = V::rcp(d);
  const R t = V::mul(t0, V::fnmadd(d, t0, V::set1(2.0f)));
  R p = V::set1(0.14219374875988208f);
  p = V::fmadd(p, t, V::set1(-0.6660605787060513f));
  p = V::fmadd(p, t, V::set1(1.122395591205331f));
  p = V::fmadd(p, t, V::set1(-0.6512420008471815f));
  p = V::fmadd(p, t, V::set1(-0.11679229271220755f));
  p = V::fmadd(p, t, V::set1(0.020198215946929794f));
  p = V::fmadd(p, t, V::set1(0.0283564518438986f));
  p = V::fmadd(p, t, V::set1(0.3878998413559148f));
  p = V::fmadd(p, t, V::set1(0.9984925060101356f));
  p = V::fmadd(p, t, V::set1(-1.2654414376428087f));
  // z^2 = x^2 / 2 from x itself (rounding z first would cost ~z^2 * 1e-7 relative in erfc).
  const R xx = V::mul(x, x);
  const R half = V::set1(0.5f);
  const R zz = V::mul(xx, half);
  const R zz_lo = V::mul(V::fmsub(x, x, xx), half);  // x * x - xx is exact
  const R arg = V::sub(p, zz);
  const R n = V::round(V::mul(arg, V::set1(1.44269504088896341f)));
  R r = V::fnmadd(n, V::set1(0.693359375f), V::sub(V::zero(), zz));
  r = V::add(r, V::sub(p, zz_lo));
  r = V::fnmadd(n, V::set1(-2.12194440054690583e-4f), r);
  const R erfc = V::zero_if(V::lt(arg, V::set1(-87.0f)), V::mul(t, exp_reduced<V>(n, r)));
  const R h = V::mul(V::mul(half, x), erfc);
  return V::select(V::ge(x, V::zero()), V::sub(x, h), h);
}

template <class V>
INFORMER_SIMD_INLINE typename V::reg activate(Activation act, typename V::reg v) {
  if (act == Activation::kRelu) return V::max(V::zero(), v);  // NaN stays NaN
  if (act == Activation::kGelu) return gelu<V>(v);
  return v;
}

// Epilogue of one vector of a tile row (see TileArgs): c and res point at its first column, bias
// holds the matching bias lanes (ignored without t.bias), res is null without a residual.
template <class V>
INFORMER_SIMD_INLINE void store_vec(typename V::reg v, float* c, typename V::reg bias, const float* res,
                                    const TileArgs& t) {
  v = V::mul(v, V::set1(t.alpha));
  if (t.load_c) v = V::fmadd(V::set1(t.beta), V::loadu(c), v);
  if (t.bias) v = V::add(v, bias);
  if (t.act != Activation::kNone) v = activate<V>(t.act, v);
  if (res) v = V::add(v, V::loadu(res));
  V::storeu(c, v);
}

// In-place activation over x[0:n].
template <class V>
INFORMER_SIMD_INLINE void activation_array(Activation act, float* x, int64_t n) {
  if (act == Activation::kNone || n <= 0) return;
  int64_t i = 0;
  for (; i + V::kWidth <= n; i += V::kWidth) V::storeu(x + i, activate<V>(act, V::loadu(x + i)));
  if (i < n) {
    // Tail through a zero-padded vector so results match the vector path bit for bit.
    float tmp[V::kWidth] = {};
    const int64_t rest = n - i;
    for (int64_t j = 0; j < rest; ++j) tmp[j] = x[i + j];
    V::storeu(tmp, activate<V>(act, V::loadu(tmp)));
    for (int64_t j = 0; j < rest; ++j) x[i + j] = tmp[j];
  }
}

// Writes the 8x8 block whose rows r0..r7 are 8 consecutive k of 8 consecutive columns as 8 rows of
// a packed panel: dst[k * ld + col]. AVX2 registers, which every kernel ISA here has.
INFORMER_SIMD_INLINE void transpose8_store(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 r4, __m256 r5, __m256 r6,
                                           __m256 r7, float* dst, int ld) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * ld, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + 1 * ld, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * ld, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * ld, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * ld, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * ld, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * ld, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * ld, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// The 4x8 block whose rows r0..r3 hold 8 consecutive k of 4 consecutive rows, as 8 packed rows of 4:
// dst[k * ld + row].
INFORMER_SIMD_INLINE void transpose4x8_store(__m256 r0, __m256 r1, __m256 r2, __m256 r3, float* dst, int ld) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);  // k 0|4, 1|5
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);  // k 2|6, 3|7
  _mm_storeu_ps(dst + 0 * ld, _mm256_castps256_ps128(u0));
  _mm_storeu_ps(dst + 1 * ld, _mm256_castps256_ps128(u1));
  _mm_storeu_ps(dst + 2 * ld, _mm256_castps256_ps128(u2));
  _mm_storeu_ps(dst + 3 * ld, _mm256_castps256_ps128(u3));
  _mm_storeu_ps(dst + 4 * ld, _mm256_extractf128_ps(u0, 1));
  _mm_storeu_ps(dst + 5 * ld, _mm256_extractf128_ps(u1, 1));
  _mm_storeu_ps(dst + 6 * ld, _mm256_extractf128_ps(u2, 1));
  _mm_storeu_ps(dst + 7 * ld, _mm256_extractf128_ps(u3, 1));
}

// A full W-wide transposing panel (W a multiple of 4): rows src[0..W) of ld floats, contiguous in k,
// written k-major as dst[k * W + row] for k in [0, kc). 8x8 blocks, then a 4x8 block for W % 8 == 4.
template <int W>
INFORMER_SIMD_INLINE void transpose_panel(int64_t kc, const float* src, int64_t ld, float* dst) {
  static_assert(W % 4 == 0, "panel width must be a multiple of 4");
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    int h = 0;
    for (; h + 8 <= W; h += 8) {
      const float* s = src + h * ld + k;
      transpose8_store(_mm256_loadu_ps(s), _mm256_loadu_ps(s + ld), _mm256_loadu_ps(s + 2 * ld),
                       _mm256_loadu_ps(s + 3 * ld), _mm256_loadu_ps(s + 4 * ld), _mm256_loadu_ps(s + 5 * ld),
                       _mm256_loadu_ps(s + 6 * ld), _mm256_loadu_ps(s + 7 * ld), dst + k * W + h, W);
    }
    if (h < W) {
      const float* s = src + h * ld + k;
      transpose4x8_store(_mm256_loadu_ps(s), _mm256_loadu_ps(s + ld), _mm256_loadu_ps(s + 2 * ld),
                         _mm256_loadu_ps(s + 3 * ld), dst + k * W + h, W);
    }
  }
  for (; k < kc; ++k) {
    for (int j = 0; j < W; ++j) dst[k * W + j] = src[j * ld + k];
  }
}

// Transposing op(B) packer for an NR-wide panel (see PackBTransFn). b: [nr_used, ldb]; dst: [kc, NR].
template <int NR>
INFORMER_SIMD_INLINE void pack_b_trans_panel(int64_t kc, int nr_used, const float* b, int64_t ldb, float* dst) {
  if (nr_used < NR) {
    for (int64_t k = 0; k < kc; ++k) {
      int j = 0;
      for (; j < nr_used; ++j) dst[k * NR + j] = b[j * ldb + k];
      for (; j < NR; ++j) dst[k * NR + j] = 0.0f;
    }
    return;
  }
  transpose_panel<NR>(kc, b, ldb, dst);
}

}  // namespace
}  // namespace gemm_internal
}  // namespace informer
