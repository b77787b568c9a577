#include "cpu/dropout_mask.h"

#include <algorithm>

#include "base/rng.h"
#include "cpu/vecmath.h"

namespace informer {

namespace dropout_internal {

void SeedLanes(uint64_t key, Lanes* lanes) {
  uint64_t x = key;
  for (int l = 0; l < 4; ++l)
    for (int w = 0; w < 4; ++w) lanes->s[w][l] = Rng::SplitMix(&x);
}

namespace {
inline uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// One xoshiro256** step of lane l.
inline uint64_t Step(Lanes* st, int l) {
  uint64_t(&s)[4][4] = st->s;
  const uint64_t result = Rotl(s[1][l] * 5, 7) * 9;
  const uint64_t t = s[1][l] << 17;
  s[2][l] ^= s[0][l];
  s[3][l] ^= s[1][l];
  s[1][l] ^= s[2][l];
  s[0][l] ^= s[3][l];
  s[2][l] ^= t;
  s[3][l] = Rotl(s[3][l], 45);
  return result;
}
}  // namespace

void DropoutMaskPortable(int64_t n, uint32_t threshold, uint64_t key, float scale, float* x, uint8_t* keep,
                         int64_t skip) {
  Lanes lanes;
  SeedLanes(key, &lanes);
  for (int64_t s = 0; s < skip; ++s)
    for (int l = 0; l < 4; ++l) Step(&lanes, l);
  for (int64_t base = 0; base < n; base += 16) {
    uint64_t r[4];
    for (int l = 0; l < 4; ++l) r[l] = Step(&lanes, l);
    for (int j = 0; j < 16 && base + j < n; ++j) {
      const bool k = ((r[j >> 2] >> (16 * (j & 3))) & 0xFFFF) < threshold;
      if (keep) keep[base + j] = k ? 1 : 0;
      if (x) x[base + j] *= k ? scale : 0.f;
    }
  }
}

}  // namespace dropout_internal

uint32_t KeepThreshold16(float keep_prob) {
  if (!(keep_prob > 0.f)) return 0;
  if (keep_prob >= 1.f) return 65536;
  return static_cast<uint32_t>(keep_prob * 65536.0f + 0.5f);
}

namespace {
// Elements [16 skip, 16 skip + n) of the stream.
void DropoutMaskAligned(int64_t n, uint32_t threshold, uint64_t key, float scale, float* x, uint8_t* keep,
                        int64_t skip) {
#if defined(__x86_64__) || defined(_M_X64)
  // The AVX2 compare works on 16-bit thresholds; 0 and 65536 (drop all, keep all) take the portable path.
  static const bool avx2 = vecmath_internal::Avx2Available();
  if (avx2 && threshold > 0 && threshold < 65536)
    return dropout_internal::DropoutMaskAvx2(n, threshold, key, scale, x, keep, skip);
#endif
  dropout_internal::DropoutMaskPortable(n, threshold, key, scale, x, keep, skip);
}
}  // namespace

void DropoutMask(int64_t n, uint32_t threshold, uint64_t key, float scale, float* x, uint8_t* keep, int64_t first) {
  if (n <= 0) return;
  const int64_t phase = first % 16;
  if (phase) {  // the window starts inside a step: that step's tail through a 16-element scratch mask
    uint8_t head[16];
    DropoutMaskAligned(16, threshold, key, 1.f, nullptr, head, first / 16);
    const int64_t m = std::min<int64_t>(n, 16 - phase);
    for (int64_t i = 0; i < m; ++i) {
      if (keep) keep[i] = head[phase + i];
      if (x) x[i] *= head[phase + i] ? scale : 0.f;
    }
    if (m == n) return;
    n -= m, first += m;
    if (x) x += m;
    if (keep) keep += m;
  }
  DropoutMaskAligned(n, threshold, key, scale, x, keep, first / 16);
}

}  // namespace informer
