// AVX-512 kernels for the fp32 GEMM: a 12x32 micro-kernel (24 zmm accumulators, 2 for the op(B) row,
// 1 for the broadcast op(A) element), plus the shared epilogue, transposing
// op(B) packer and activations of gemm_simd.h instantiated for zmm registers. Only AVX-512F (+ FMA)
// instructions are used. Built with -mavx512f -mfma; every function also carries the target
// attribute so the file compiles under any flags, and everything but avx512_kernels() has internal
// linkage (see gemm_avx2.cc). The driver calls it only where the CPU and the OS (XCR0 opmask and ZMM
// state) support AVX-512F.
#include "cpu/gemm_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's own avx512fintrin.h trips -Wmaybe-uninitialized on _mm512_undefined_ps (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#if defined(__GNUC__) || defined(__clang__)
#define INFORMER_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INFORMER_SIMD_INLINE __attribute__((target("avx512f,avx2,fma"), always_inline)) inline
#define INFORMER_UNROLL _Pragma("GCC unroll 16")
#else
#define INFORMER_AVX512
#define INFORMER_SIMD_INLINE __forceinline
#define INFORMER_UNROLL
#endif

#include "cpu/gemm_simd.h"

namespace informer {
namespace gemm_internal {
namespace {

// 12 rows rather than 14 (which would also fit the 32 registers): as fast on the big shapes, and the
// Informer's row counts (96, 72, 48 time steps per sample) split into whole 12-row tiles.
constexpr int kMR = 12;
constexpr int kNR = 32;

// Vector traits for gemm_simd.h: 16 floats, comparison results in opmask registers.
struct Avx512 {
  using reg = __m512;
  using mask = __mmask16;
  static constexpr int kWidth = 16;
  static INFORMER_SIMD_INLINE reg set1(float x) { return _mm512_set1_ps(x); }
  static INFORMER_SIMD_INLINE reg zero() { return _mm512_setzero_ps(); }
  static INFORMER_SIMD_INLINE reg loadu(const float* p) { return _mm512_loadu_ps(p); }
  static INFORMER_SIMD_INLINE void storeu(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static INFORMER_SIMD_INLINE reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static INFORMER_SIMD_INLINE reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static INFORMER_SIMD_INLINE reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static INFORMER_SIMD_INLINE reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static INFORMER_SIMD_INLINE reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static INFORMER_SIMD_INLINE reg fnmadd(reg a, reg b, reg c) { return _mm512_fnmadd_ps(a, b, c); }
  static INFORMER_SIMD_INLINE reg fmsub(reg a, reg b, reg c) { return _mm512_fmsub_ps(a, b, c); }
  static INFORMER_SIMD_INLINE reg abs(reg x) { return _mm512_abs_ps(x); }
  static INFORMER_SIMD_INLINE reg rcp(reg x) { return _mm512_rcp14_ps(x); }
  static INFORMER_SIMD_INLINE reg round(reg x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static INFORMER_SIMD_INLINE mask lt(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static INFORMER_SIMD_INLINE mask ge(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static INFORMER_SIMD_INLINE reg zero_if(mask m, reg v) { return _mm512_mask_mov_ps(v, m, zero()); }
  static INFORMER_SIMD_INLINE reg select(mask m, reg t, reg f) { return _mm512_mask_blend_ps(m, f, t); }
  static INFORMER_SIMD_INLINE reg pow2(reg n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
};

// kPacked: a is a packed panel (a_rs = 1, a_cs = kMR) and b a packed panel (b_rs = kNR); the
// constant strides let the K loop run on two pointer increments. The accumulator arrays are indexed
// only by fully unrolled loops, so they live in registers.
template <bool kPacked>
INFORMER_AVX512 void kernel_12x32(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t b_rs,
                                  float* c, int64_t ldc, const TileArgs& args) {
  const TileArgs t = args;  // a local copy: stores to c cannot alias it, so fields stay in registers
  INFORMER_UNROLL
  for (int i = 0; i < kMR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kNR - 1), _MM_HINT_T0);
  }
  __m512 acc0[kMR], acc1[kMR];
  INFORMER_UNROLL
  for (int i = 0; i < kMR; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
  const float* pf = t.prefetch;
  if constexpr (kPacked) {
    for (int64_t k = 0; k < kc; ++k) {
      if (pf) _mm_prefetch(reinterpret_cast<const char*>(pf + k * 16), _MM_HINT_T1);
      const __m512 b0 = _mm512_loadu_ps(b);
      const __m512 b1 = _mm512_loadu_ps(b + 16);
      INFORMER_UNROLL
      for (int i = 0; i < kMR; ++i) {
        const __m512 av = _mm512_set1_ps(a[i]);
        acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);
        acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);
      }
      a += kMR;
      b += kNR;
    }
  } else {
    for (int64_t k = 0; k < kc; ++k, a += a_cs, b += b_rs) {
      if (pf) _mm_prefetch(reinterpret_cast<const char*>(pf + k * 16), _MM_HINT_T1);
      const __m512 b0 = _mm512_loadu_ps(b);
      const __m512 b1 = _mm512_loadu_ps(b + 16);
      INFORMER_UNROLL
      for (int i = 0; i < kMR; ++i) {
        const __m512 av = _mm512_set1_ps(a[i * a_rs]);
        acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);
        acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);
      }
    }
  }
  __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
  if (t.bias) {
    bias0 = _mm512_loadu_ps(t.bias);
    bias1 = _mm512_loadu_ps(t.bias + 16);
  }
  INFORMER_UNROLL
  for (int i = 0; i < kMR; ++i) {
    const float* r = t.residual ? t.residual + i * t.ldr : nullptr;
    store_vec<Avx512>(acc0[i], c + i * ldc, bias0, r, t);
    store_vec<Avx512>(acc1[i], c + i * ldc + 16, bias1, r ? r + 16 : nullptr, t);
  }
}

INFORMER_AVX512 void micro_kernel(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t b_rs,
                                  float* c, int64_t ldc, const TileArgs& t) {
  if (a_rs == 1 && a_cs == kMR && b_rs == kNR) {
    kernel_12x32<true>(kc, a, 1, kMR, b, kNR, c, ldc, t);
  } else {
    kernel_12x32<false>(kc, a, a_rs, a_cs, b, b_rs, c, ldc, t);
  }
}

INFORMER_AVX512 void pack_b_trans(int64_t kc, int nr, const float* b, int64_t ldb, float* dst) {
  pack_b_trans_panel<kNR>(kc, nr, b, ldb, dst);
}

INFORMER_AVX512 void activation(Activation act, float* x, int64_t n) { activation_array<Avx512>(act, x, n); }

// 12-row op(A) panels with SIMD transposes (8x8 and 4x8 blocks): the paper config's training GEMMs
// pack every activation block, and the scalar gather cost ~6% of the train step.
INFORMER_AVX512 void pack_a_rows(int64_t kc, const float* a, int64_t lda, float* dst) {
  transpose_panel<kMR>(kc, a, lda, dst);
}

// Blocking for 48 KiB L1d / 2 MiB L2 per core (Ice Lake / Sapphire Rapids servers): a kc x kNR op(B)
// panel is 32 KiB, an mc x kc op(A) block 216 KiB, a kc x nc op(B) slice 4 MiB. Measured on such a
// machine: kc 128 to 384 and mc 112 to 448 were all within noise of this.
const CpuKernels kAvx512Kernels = {"avx512",   micro_kernel, pack_b_trans, activation, pack_a_rows, kMR, kNR,
                                   /*mc=*/216, /*kc=*/256,   /*nc=*/4096};

}  // namespace

const CpuKernels* avx512_kernels() { return &kAvx512Kernels; }

}  // namespace gemm_internal
}  // namespace informer

#else  // not x86-64: no AVX-512 kernels in this build

namespace informer {
namespace gemm_internal {
const CpuKernels* avx512_kernels() { return nullptr; }
}  // namespace gemm_internal
}  // namespace informer

#endif
