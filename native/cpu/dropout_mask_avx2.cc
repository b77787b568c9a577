// AVX2 version of DropoutMaskPortable (dropout_mask.cc): the four xoshiro256** lanes in one
// register, sixteen 16-bit draws per step. Compiled with -mavx2 -mfma; only called after a run-time
// CPU check, and only for thresholds in (0, 65536).
#include "cpu/dropout_mask.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cstring>

namespace informer {
namespace dropout_internal {

namespace {
template <int k>
inline __m256i Rotl(__m256i x) {
  return _mm256_or_si256(_mm256_slli_epi64(x, k), _mm256_srli_epi64(x, 64 - k));
}
// One xoshiro256** state update of the four lanes.
inline void Advance(__m256i& s0, __m256i& s1, __m256i& s2, __m256i& s3) {
  const __m256i t = _mm256_slli_epi64(s1, 17);
  s2 = _mm256_xor_si256(s2, s0);
  s3 = _mm256_xor_si256(s3, s1);
  s1 = _mm256_xor_si256(s1, s2);
  s0 = _mm256_xor_si256(s0, s3);
  s2 = _mm256_xor_si256(s2, t);
  s3 = Rotl<45>(s3);
}
}  // namespace

void DropoutMaskAvx2(int64_t n, uint32_t threshold, uint64_t key, float scale, float* x, uint8_t* keep, int64_t skip) {
  Lanes lanes;
  SeedLanes(key, &lanes);
  __m256i s0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lanes.s[0]));
  __m256i s1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lanes.s[1]));
  __m256i s2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lanes.s[2]));
  __m256i s3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lanes.s[3]));
  // draw < threshold  <=>  max(draw, threshold - 1) == threshold - 1 (unsigned 16-bit).
  const __m256i limit = _mm256_set1_epi16(static_cast<int16_t>(static_cast<uint16_t>(threshold - 1)));
  const __m256 vscale = _mm256_set1_ps(scale);
  const __m128i one = _mm_set1_epi8(1);
  for (int64_t i = 0; i < skip; ++i) Advance(s0, s1, s2, s3);  // a later part of a split batch
  for (int64_t base = 0; base < n; base += 16) {
    // result = rotl(s1 * 5, 7) * 9, the multiplies as shift-adds.
    const __m256i s1x5 = _mm256_add_epi64(s1, _mm256_slli_epi64(s1, 2));
    const __m256i rot = Rotl<7>(s1x5);
    const __m256i r = _mm256_add_epi64(rot, _mm256_slli_epi64(rot, 3));
    Advance(s0, s1, s2, s3);
    // 16-bit word j of r (lane j / 4, bits 16 (j % 4)) decides element base + j.
    const __m256i kept = _mm256_cmpeq_epi16(_mm256_max_epu16(r, limit), limit);
    const __m128i lo = _mm256_castsi256_si128(kept), hi = _mm256_extracti128_si256(kept, 1);
    const int64_t m = n - base < 16 ? n - base : 16;
    if (keep) {
      const __m128i bytes = _mm_and_si128(_mm_packs_epi16(lo, hi), one);
      if (m == 16) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(keep + base), bytes);
      } else {
        alignas(16) uint8_t tmp[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
        std::memcpy(keep + base, tmp, m);
      }
    }
    if (x) {
      const __m256 f0 = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cvtepi16_epi32(lo)), vscale);
      const __m256 f1 = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cvtepi16_epi32(hi)), vscale);
      if (m == 16) {
        _mm256_storeu_ps(x + base, _mm256_mul_ps(_mm256_loadu_ps(x + base), f0));
        _mm256_storeu_ps(x + base + 8, _mm256_mul_ps(_mm256_loadu_ps(x + base + 8), f1));
      } else {
        alignas(32) float tmp[16] = {};
        std::memcpy(tmp, x + base, m * sizeof(float));
        _mm256_store_ps(tmp, _mm256_mul_ps(_mm256_load_ps(tmp), f0));
        _mm256_store_ps(tmp + 8, _mm256_mul_ps(_mm256_load_ps(tmp + 8), f1));
        std::memcpy(x + base, tmp, m * sizeof(float));
      }
    }
  }
}

}  // namespace dropout_internal
}  // namespace informer

#endif
