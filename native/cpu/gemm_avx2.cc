// AVX2/FMA kernels for the fp32 GEMM: the 6x16 micro-kernel (12 ymm accumulators, 2 for the op(B)
// row, 1 for the broadcast op(A) element), plus the shared epilogue, transposing op(B) packer and
// activations of gemm_simd.h instantiated for ymm registers. Built with -mavx2 -mfma; every function
// also carries the target attribute so the file compiles under any flags, and everything but
// avx2_kernels() has internal linkage, so no AVX2 code can leak into the portable translation units
// through the linker.
#include "cpu/gemm_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#if defined(__GNUC__) || defined(__clang__)
#define INFORMER_AVX2 __attribute__((target("avx2,fma")))
#define INFORMER_SIMD_INLINE __attribute__((target("avx2,fma"), always_inline)) inline
#else
#define INFORMER_AVX2
#define INFORMER_SIMD_INLINE __forceinline
#endif

#include "cpu/gemm_simd.h"

namespace informer {
namespace gemm_internal {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

// Vector traits for gemm_simd.h: 8 floats, comparison masks as all-ones lanes.
struct Avx2 {
  using reg = __m256;
  using mask = __m256;
  static constexpr int kWidth = 8;
  static INFORMER_SIMD_INLINE reg set1(float x) { return _mm256_set1_ps(x); }
  static INFORMER_SIMD_INLINE reg zero() { return _mm256_setzero_ps(); }
  static INFORMER_SIMD_INLINE reg loadu(const float* p) { return _mm256_loadu_ps(p); }
  static INFORMER_SIMD_INLINE void storeu(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static INFORMER_SIMD_INLINE reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static INFORMER_SIMD_INLINE reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static INFORMER_SIMD_INLINE reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static INFORMER_SIMD_INLINE reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static INFORMER_SIMD_INLINE reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static INFORMER_SIMD_INLINE reg fnmadd(reg a, reg b, reg c) { return _mm256_fnmadd_ps(a, b, c); }
  static INFORMER_SIMD_INLINE reg fmsub(reg a, reg b, reg c) { return _mm256_fmsub_ps(a, b, c); }
  static INFORMER_SIMD_INLINE reg abs(reg x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
  static INFORMER_SIMD_INLINE reg rcp(reg x) { return _mm256_rcp_ps(x); }
  static INFORMER_SIMD_INLINE reg round(reg x) {
    return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static INFORMER_SIMD_INLINE mask lt(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static INFORMER_SIMD_INLINE mask ge(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static INFORMER_SIMD_INLINE reg zero_if(mask m, reg v) { return _mm256_andnot_ps(m, v); }
  static INFORMER_SIMD_INLINE reg select(mask m, reg t, reg f) { return _mm256_blendv_ps(f, t, m); }
  static INFORMER_SIMD_INLINE reg pow2(reg n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
};

// Epilogue of one 16-wide tile row held in (v0, v1); see TileArgs.
INFORMER_SIMD_INLINE void store_row(__m256 v0, __m256 v1, float* c, const __m256 bias0, const __m256 bias1,
                                    const float* res, const TileArgs& t) {
  store_vec<Avx2>(v0, c, bias0, res, t);
  store_vec<Avx2>(v1, c + 8, bias1, res ? res + 8 : nullptr, t);
}

#define INFORMER_FMA_ROW(i, ai)                 \
  {                                             \
    const __m256 av = _mm256_broadcast_ss(ai);  \
    c##i##0 = _mm256_fmadd_ps(av, b0, c##i##0); \
    c##i##1 = _mm256_fmadd_ps(av, b1, c##i##1); \
  }

// kPacked: a is a packed panel (a_rs = 1, a_cs = kMR) and b a packed panel (b_rs = kNR); the
// constant strides let the K loop run on two pointer increments.
// The FMA rows are laid out as the 6x16 register tile they fill.
// clang-format off
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
// clang-format on
#undef INFORMER_FMA_ROW

INFORMER_AVX2 void micro_kernel(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t b_rs,
                                float* c, int64_t ldc, const TileArgs& t) {
  if (a_rs == 1 && a_cs == kMR && b_rs == kNR) {
    kernel_6x16<true>(kc, a, 1, kMR, b, kNR, c, ldc, t);
  } else {
    kernel_6x16<false>(kc, a, a_rs, a_cs, b, b_rs, c, ldc, t);
  }
}

INFORMER_AVX2 void pack_b_trans(int64_t kc, int nr, const float* b, int64_t ldb, float* dst) {
  pack_b_trans_panel<kNR>(kc, nr, b, ldb, dst);
}

INFORMER_AVX2 void activation(Activation act, float* x, int64_t n) { activation_array<Avx2>(act, x, n); }

// Blocking for 32 KiB L1d / 512 KiB L2 per core (fine with larger caches): a kc x kNR op(B) panel is
// 16 KiB, an mc x kc op(A) block 144 KiB, a kc x nc op(B) slice 4 MiB.
const CpuKernels kAvx2Kernels = {"avx2-fma", micro_kernel, pack_b_trans, activation, /*pack_a_rows=*/nullptr, kMR, kNR,
                                 /*mc=*/144, /*kc=*/256,   /*nc=*/4096};

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
