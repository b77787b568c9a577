#include "cpu/instance_norm.h"

#include <cmath>

namespace informer {

// Windows are short ([B, L, C] with L a few hundred at most): plain loops, sums in double so long
// windows keep float precision.

void WindowStatsForward(WindowStatsKind kind, int64_t B, int64_t L, int64_t C, const float* x, float* center,
                        float* scale) {
  for (int64_t b = 0; b < B; ++b) {
    const float* xb = x + b * L * C;
    for (int64_t c = 0; c < C; ++c) {
      if (kind == WindowStatsKind::kLast) {
        center[b * C + c] = xb[(L - 1) * C + c];
        scale[b * C + c] = 1.f;
        continue;
      }
      double sum = 0.0;
      for (int64_t t = 0; t < L; ++t) sum += xb[t * C + c];
      const double mean = sum / static_cast<double>(L);
      double sq = 0.0;
      for (int64_t t = 0; t < L; ++t) {
        const double d = xb[t * C + c] - mean;
        sq += d * d;
      }
      center[b * C + c] = static_cast<float>(mean);
      scale[b * C + c] = static_cast<float>(std::sqrt(sq / static_cast<double>(L) + kRevinEps));
    }
  }
}

void InstanceNormForward(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                         const float* scale, const float* weight, const float* bias, float* out) {
  for (int64_t b = 0; b < B; ++b) {
    const float* mu = center + b * C;
    const float* s = scale + b * C;
    for (int64_t t = 0; t < L; ++t) {
      const float* xr = x + (b * L + t) * C;
      float* o = out + (b * L + t) * C;
      if (t >= L_norm) {
        for (int64_t c = 0; c < C; ++c) o[c] = xr[c];
        continue;
      }
      for (int64_t c = 0; c < C; ++c) {
        const float z = (xr[c] - mu[c]) / s[c];
        o[c] = weight ? z * weight[c] + bias[c] : z;
      }
    }
  }
}

void InstanceNormBackward(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                          const float* scale, const float* dy, float* d_weight, float* d_bias) {
  for (int64_t c = 0; c < C; ++c) {
    double dw = 0.0, db = 0.0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < L_norm; ++t) {
        const int64_t i = (b * L + t) * C + c;
        dw += static_cast<double>(dy[i]) * ((x[i] - center[b * C + c]) / scale[b * C + c]);
        db += dy[i];
      }
    d_weight[c] += static_cast<float>(dw);
    d_bias[c] += static_cast<float>(db);
  }
}

void InstanceDenormForward(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y, const float* center,
                           const float* scale, const float* weight, const float* bias, float* out) {
  const int64_t first = C_in - C_out;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t)
      for (int64_t j = 0; j < C_out; ++j) {
        const int64_t m = first + j, i = (b * L + t) * C_out + j;
        const float z = weight ? (y[i] - bias[m]) / (weight[m] + kRevinEps * kRevinEps) : y[i];
        out[i] = z * scale[b * C_in + m] + center[b * C_in + m];
      }
}

void InstanceDenormBackward(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y, const float* center,
                            const float* scale, const float* weight, const float* bias, const float* d_out, float* dy,
                            float* d_weight, float* d_bias) {
  const int64_t first = C_in - C_out;
  for (int64_t j = 0; j < C_out; ++j) {
    const int64_t m = first + j;
    const float inv_w = weight ? 1.f / (weight[m] + kRevinEps * kRevinEps) : 1.f;
    double dw = 0.0, db = 0.0;
    for (int64_t b = 0; b < B; ++b) {
      const float s = scale[b * C_in + m];
      for (int64_t t = 0; t < L; ++t) {
        const int64_t i = (b * L + t) * C_out + j;
        const float g = d_out[i] * s;  // d out / d z = scale, z = (y - bias) / (weight + eps^2)
        if (weight) {
          dw -= static_cast<double>(g) * (y[i] - bias[m]) * inv_w * inv_w;
          db -= static_cast<double>(g) * inv_w;
        }
        dy[i] = g * inv_w;
      }
    }
    if (weight) {
      d_weight[m] += static_cast<float>(dw);
      d_bias[m] += static_cast<float>(db);
    }
  }
}

}  // namespace informer
