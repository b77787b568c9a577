// AVX2/FMA kernels for the fp32 GEMM: the 6x16 micro-kernel (12 ymm accumulators, 2 for the op(B)
// row, 1 for the broadcast op(A) element), the transposing op(B) packer and the vectorised
// activations. Built with -mavx2 -mfma; every function also carries the target attribute so the file
// compiles under any flags, and everything but avx2_kernels() has internal linkage, so no AVX2
// code can leak into the portable translation units through the linker.
#include "core/gemm_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#if defined(__GNUC__) || defined(__clang__)
#define INFORMER_AVX2 __attribute__((target("avx2,fma")))
#define INFORMER_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline
#else
#define INFORMER_AVX2
#define INFORMER_AVX2_INLINE __forceinline
#endif

namespace informer {
namespace gemm_internal {
namespace {

// 2^n e^r for integral n in [-126, 127] and |r| <= ~0.35: the degree-7 Taylor polynomial of e^r
// (truncation error < 6e-9 relative) scaled through the exponent bits.
INFORMER_AVX2_INLINE __m256 exp_reduced(__m256 n, __m256 r) {
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// Exact-form GELU 0.5 x (1 + erf(x / sqrt 2)), written through erfc so that it keeps its relative
// accuracy for negative x: with z = |x| / sqrt 2, gelu = 0.5 x erfc(z) for x < 0 and
// x (1 - 0.5 erfc(z)) otherwise. erfc(z) = t exp(P(t) - z^2), t = 1 / (1 + z / 2), where P is a
// degree-9 polynomial fitted (minimax on z in [0, 10]) for this file; relative error < 5e-8 before
// float rounding. z^2 = x^2 / 2 is carried as an exact hi + lo pair through the Cody-Waite reduction
// (ln 2 = 355/512 + lo), so the large exponent costs no accuracy. erfc below the float range -> 0.
INFORMER_AVX2_INLINE __m256 gelu8(__m256 x) {
  const __m256 z = _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x),
                                 _mm256_set1_ps(0.707106781186547524f));
  // t = 1 / d by the ~12-bit reciprocal estimate and one Newton step (~23 bits), cheaper than divps.
  const __m256 d = _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f));
  const __m256 t0 = _mm256_rcp_ps(d);
  const __m256 t = _mm256_mul_ps(t0, _mm256_fnmadd_ps(d, t0, _mm256_set1_ps(2.0f)));
  __m256 p = _mm256_set1_ps(0.14219374875988208f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.6660605787060513f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.122395591205331f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.6512420008471815f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.11679229271220755f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.020198215946929794f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.0283564518438986f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.3878998413559148f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.9984925060101356f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.2654414376428087f));
  // z^2 = x^2 / 2 from x itself (rounding z first would cost ~z^2 * 1e-7 relative in erfc).
  const __m256 xx = _mm256_mul_ps(x, x);
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256 zz = _mm256_mul_ps(xx, half);
  const __m256 zz_lo = _mm256_mul_ps(_mm256_fmsub_ps(x, x, xx), half);  // x * x - xx is exact
  const __m256 arg = _mm256_sub_ps(p, zz);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(arg, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), _mm256_sub_ps(_mm256_setzero_ps(), zz));
  r = _mm256_add_ps(r, _mm256_sub_ps(p, zz_lo));
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440054690583e-4f), r);
  const __m256 underflow = _mm256_cmp_ps(arg, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
  const __m256 erfc = _mm256_andnot_ps(underflow, _mm256_mul_ps(t, exp_reduced(n, r)));
  const __m256 h = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), erfc);
  const __m256 nonneg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
  return _mm256_blendv_ps(h, _mm256_sub_ps(x, h), nonneg);
}

INFORMER_AVX2_INLINE __m256 activate8(Activation act, __m256 v) {
  if (act == Activation::kRelu) return _mm256_max_ps(_mm256_setzero_ps(), v);  // NaN stays NaN
  if (act == Activation::kGelu) return gelu8(v);
  return v;
}

// Epilogue of one 16-wide tile row held in (v0, v1); see TileArgs.
INFORMER_AVX2_INLINE void store_row(__m256 v0, __m256 v1, float* c, const __m256 bias0,
                                    const __m256 bias1, const float* res, const TileArgs& t) {
  const __m256 alpha = _mm256_set1_ps(t.alpha);
  v0 = _mm256_mul_ps(v0, alpha);
  v1 = _mm256_mul_ps(v1, alpha);
  if (t.load_c) {
    const __m256 beta = _mm256_set1_ps(t.beta);
    v0 = _mm256_fmadd_ps(beta, _mm256_loadu_ps(c), v0);
    v1 = _mm256_fmadd_ps(beta, _mm256_loadu_ps(c + 8), v1);
  }
  if (t.bias) {
    v0 = _mm256_add_ps(v0, bias0);
    v1 = _mm256_add_ps(v1, bias1);
  }
  if (t.act != Activation::kNone) {
    v0 = activate8(t.act, v0);
    v1 = activate8(t.act, v1);
  }
  if (res) {
    v0 = _mm256_add_ps(v0, _mm256_loadu_ps(res));
    v1 = _mm256_add_ps(v1, _mm256_loadu_ps(res + 8));
  }
  _mm256_storeu_ps(c, v0);
  _mm256_storeu_ps(c + 8, v1);
}

#define INFORMER_FMA_ROW(i, ai)                 \
  {                                             \
    const __m256 av = _mm256_broadcast_ss(ai);  \
    c##i##0 = _mm256_fmadd_ps(av, b0, c##i##0); \
    c##i##1 = _mm256_fmadd_ps(av, b1, c##i##1); \
  }

// kPacked: a is a packed panel (a_rs = 1, a_cs = kMR) and b a packed panel (b_rs = kNR); the
// constant strides let the K loop run on two pointer increments.
template <bool kPacked>
INFORMER_AVX2 void kernel_6x16(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                               int64_t b_rs, float* c, int64_t ldc, const TileArgs& args) {
  const TileArgs t = args;  // a local copy: stores to c cannot alias it, so fields stay in registers
  for (int i = 0; i < kMR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kNR - 1), _MM_HINT_T0);
  }
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  if constexpr (kPacked) {
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
      _mm_prefetch(reinterpret_cast<const char*>(a + 64), _MM_HINT_T0);
#define INFORMER_STEP(u)                                                       \
  {                                                                            \
    const __m256 b0 = _mm256_loadu_ps(b + (u) * kNR);                          \
    const __m256 b1 = _mm256_loadu_ps(b + (u) * kNR + 8);                      \
    INFORMER_FMA_ROW(0, a + (u) * kMR + 0) INFORMER_FMA_ROW(1, a + (u) * kMR + 1) \
    INFORMER_FMA_ROW(2, a + (u) * kMR + 2) INFORMER_FMA_ROW(3, a + (u) * kMR + 3) \
    INFORMER_FMA_ROW(4, a + (u) * kMR + 4) INFORMER_FMA_ROW(5, a + (u) * kMR + 5) \
  }
      INFORMER_STEP(0)
      INFORMER_STEP(1)
      INFORMER_STEP(2)
      INFORMER_STEP(3)
      a += 4 * kMR;
      b += 4 * kNR;
    }
    for (; k < kc; ++k) {
      INFORMER_STEP(0)
      a += kMR;
      b += kNR;
    }
#undef INFORMER_STEP
  } else {
    const float* a0 = a;
    const float* a1 = a + a_rs;
    const float* a2 = a + 2 * a_rs;
    const float* a3 = a + 3 * a_rs;
    const float* a4 = a + 4 * a_rs;
    const float* a5 = a + 5 * a_rs;
    int64_t off = 0;
    for (int64_t k = 0; k < kc; ++k, off += a_cs, b += b_rs) {
      const __m256 b0 = _mm256_loadu_ps(b);
      const __m256 b1 = _mm256_loadu_ps(b + 8);
      INFORMER_FMA_ROW(0, a0 + off) INFORMER_FMA_ROW(1, a1 + off) INFORMER_FMA_ROW(2, a2 + off)
      INFORMER_FMA_ROW(3, a3 + off) INFORMER_FMA_ROW(4, a4 + off) INFORMER_FMA_ROW(5, a5 + off)
    }
  }
  __m256 bias0 = _mm256_setzero_ps(), bias1 = _mm256_setzero_ps();
  if (t.bias) {
    bias0 = _mm256_loadu_ps(t.bias);
    bias1 = _mm256_loadu_ps(t.bias + 8);
  }
  const float* r = t.residual;
  const int64_t ldr = t.ldr;
  store_row(c00, c01, c + 0 * ldc, bias0, bias1, r ? r + 0 * ldr : nullptr, t);
  store_row(c10, c11, c + 1 * ldc, bias0, bias1, r ? r + 1 * ldr : nullptr, t);
  store_row(c20, c21, c + 2 * ldc, bias0, bias1, r ? r + 2 * ldr : nullptr, t);
  store_row(c30, c31, c + 3 * ldc, bias0, bias1, r ? r + 3 * ldr : nullptr, t);
  store_row(c40, c41, c + 4 * ldc, bias0, bias1, r ? r + 4 * ldr : nullptr, t);
  store_row(c50, c51, c + 5 * ldc, bias0, bias1, r ? r + 5 * ldr : nullptr, t);
}
#undef INFORMER_FMA_ROW

INFORMER_AVX2 void micro_kernel(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                                int64_t b_rs, float* c, int64_t ldc, const TileArgs& t) {
  if (a_rs == 1 && a_cs == kMR && b_rs == kNR) {
    kernel_6x16<true>(kc, a, 1, kMR, b, kNR, c, ldc, t);
  } else {
    kernel_6x16<false>(kc, a, a_rs, a_cs, b, b_rs, c, ldc, t);
  }
}

// Writes the 8x8 block whose rows r0..r7 are 8 consecutive k of 8 consecutive columns as 8 rows of
// the packed panel: dst[k * kNR + col].
INFORMER_AVX2_INLINE void transpose8_store(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 r4,
                                           __m256 r5, __m256 r6, __m256 r7, float* dst) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * kNR, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + 1 * kNR, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * kNR, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * kNR, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * kNR, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * kNR, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * kNR, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * kNR, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// b: [nr, ldb] (the panel's columns of op(B) are rows of B); dst: [kc, kNR].
INFORMER_AVX2 void pack_b_trans(int64_t kc, int nr, const float* b, int64_t ldb, float* dst) {
  if (nr < kNR) {
    for (int64_t k = 0; k < kc; ++k) {
      int j = 0;
      for (; j < nr; ++j) dst[k * kNR + j] = b[j * ldb + k];
      for (; j < kNR; ++j) dst[k * kNR + j] = 0.0f;
    }
    return;
  }
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    for (int h = 0; h < kNR; h += 8) {
      const float* s = b + h * ldb + k;
      transpose8_store(_mm256_loadu_ps(s), _mm256_loadu_ps(s + ldb), _mm256_loadu_ps(s + 2 * ldb),
                       _mm256_loadu_ps(s + 3 * ldb), _mm256_loadu_ps(s + 4 * ldb),
                       _mm256_loadu_ps(s + 5 * ldb), _mm256_loadu_ps(s + 6 * ldb),
                       _mm256_loadu_ps(s + 7 * ldb), dst + k * kNR + h);
    }
  }
  for (; k < kc; ++k) {
    for (int j = 0; j < kNR; ++j) dst[k * kNR + j] = b[j * ldb + k];
  }
}

INFORMER_AVX2 void activation(Activation act, float* x, int64_t n) {
  if (act == Activation::kNone || n <= 0) return;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, activate8(act, _mm256_loadu_ps(x + i)));
  if (i < n) {
    // Tail through a zero-padded vector so results match the vector path bit for bit.
    float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const int64_t rest = n - i;
    for (int64_t j = 0; j < rest; ++j) tmp[j] = x[i + j];
    _mm256_storeu_ps(tmp, activate8(act, _mm256_loadu_ps(tmp)));
    for (int64_t j = 0; j < rest; ++j) x[i + j] = tmp[j];
  }
}

const CpuKernels kAvx2Kernels = {"avx2-fma", micro_kernel, pack_b_trans, activation};

}  // namespace

const CpuKernels* avx2_kernels() { return &kAvx2Kernels; }

}  // namespace gemm_internal
}  // namespace informer

#else  // not x86-64: no AVX2 kernels in this build

namespace informer {
namespace gemm_internal {
const CpuKernels* avx2_kernels() { return nullptr; }
}  // namespace gemm_internal
}  // namespace informer

#endif
