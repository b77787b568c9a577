// Branch-free float exp and erf that compilers vectorise (libm's expf/erff are per-element calls).
// FastExp: Cody-Waite reduction to |r| <= ln2/2 and a degree-6 Taylor polynomial (relative error
// about 2e-7). FastErf: Abramowitz & Stegun 7.1.26 (absolute error below 6e-7 in float arithmetic).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace informer {

static inline float FastExp(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  // n = round(x / ln2) through the 1.5 * 2^23 trick (exact for |n| < 2^22).
  const float shifted = x * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.3888889e-3f;
  p = p * r + 8.3333333e-3f;
  p = p * r + 4.1666667e-2f;
  p = p * r + 1.6666667e-1f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  const int32_t e = (bits - 0x4B400000 + 127) << 23;  // 2^n as a float's exponent field
  float scale;
  std::memcpy(&scale, &e, sizeof(scale));
  return p * scale;
}

static inline float FastErf(float x) {
  const float ax = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  float poly = 1.061405429f;
  poly = poly * t - 1.453152027f;
  poly = poly * t + 1.421413741f;
  poly = poly * t - 0.284496736f;
  poly = poly * t + 0.254829592f;
  poly *= t;
  const float y = 1.0f - poly * FastExp(-ax * ax);
  return std::copysign(y, x);
}

}  // namespace informer
