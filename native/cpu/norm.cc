#include "cpu/norm.h"

#include <cmath>
#include <vector>

#include "cpu/thread_pool.h"
#include "cpu/reduce.h"

namespace informer {

void LayerNormForward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* beta, float* out,
                      float* mean, float* rstd) {
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * D;
      const float mu = ReduceSum(xr, D) / static_cast<float>(D);
      const float sq = ReduceSquaredDeviation(xr, mu, D);
      const float rs = 1.f / std::sqrt(sq / static_cast<float>(D) + kNormEps);
      float* o = out + r * D;
      for (int64_t j = 0; j < D; ++j) o[j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
      if (mean) mean[r] = mu;
      if (rstd) rstd[r] = rs;
    }
  };
  // Small inputs (the seed config's 12-row layers) run inline: no pool hand-off.
  if (rows * D < (1 << 16)) return run(0, rows);
  ThreadPool::global().parallel_for(rows, 64, run);
}

void BatchNormForward(int64_t N, int64_t C, const float* x, const float* gamma, const float* beta, float* running_mean,
                      float* running_var, int64_t* num_batches_tracked, bool train, float* out, float* mean,
                      float* rstd) {
  thread_local std::vector<double> sum, sq;
  thread_local std::vector<float> mu, rs;
  sum.assign(C, 0.0);
  sq.assign(C, 0.0);
  mu.resize(C);
  rs.resize(C);
  if (train) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) sum[c] += x[n * C + c];
    for (int64_t c = 0; c < C; ++c) mu[c] = static_cast<float>(sum[c] / static_cast<double>(N));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        const double d = static_cast<double>(x[n * C + c]) - mu[c];
        sq[c] += d * d;
      }
    const double momentum = 0.1;
    for (int64_t c = 0; c < C; ++c) {
      const double var = sq[c] / static_cast<double>(N);
      rs[c] = static_cast<float>(1.0 / std::sqrt(var + kNormEps));
      const double unbiased = N > 1 ? sq[c] / static_cast<double>(N - 1) : var;
      running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * mu[c]);
      running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
    if (num_batches_tracked) ++*num_batches_tracked;
  } else {
    for (int64_t c = 0; c < C; ++c) {
      mu[c] = running_mean[c];
      rs[c] = 1.f / std::sqrt(running_var[c] + kNormEps);
    }
  }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) out[n * C + c] = (x[n * C + c] - mu[c]) * rs[c] * gamma[c] + beta[c];
  if (mean)
    for (int64_t c = 0; c < C; ++c) mean[c] = mu[c];
  if (rstd)
    for (int64_t c = 0; c < C; ++c) rstd[c] = rs[c];
}

void LayerNormBackward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* mean,
                       const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta) {
  // Parameter gradients are reductions over rows: done serially to stay deterministic.
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * D;
    const float* g = dy + r * D;
    const float mu = mean[r], rs = rstd[r];
    for (int64_t j = 0; j < D; ++j) {
      dgamma[j] += g[j] * (xr[j] - mu) * rs;
      dbeta[j] += g[j];
    }
  }
  const int64_t grain = rows * D >= (1 << 16) ? 64 : rows;
  ThreadPool::global().parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * D;
      const float* g = dy + r * D;
      const float mu = mean[r], rs = rstd[r];
      float sum_g = 0.f, sum_gx = 0.f;
      for (int64_t j = 0; j < D; ++j) {
        const float gh = g[j] * gamma[j];
        sum_g += gh;
        sum_gx += gh * (xr[j] - mu) * rs;
      }
      const float inv_d = 1.f / static_cast<float>(D);
      float* o = dx + r * D;
      for (int64_t j = 0; j < D; ++j) {
        const float xhat = (xr[j] - mu) * rs;
        o[j] += rs * (g[j] * gamma[j] - inv_d * sum_g - xhat * inv_d * sum_gx);
      }
    }
  });
}

void BatchNormBackward(int64_t N, int64_t C, const float* x, const float* gamma, const float* mean, const float* rstd,
                       bool train, const float* dy, float* dx, float* dgamma, float* dbeta) {
  thread_local std::vector<double> sum_g, sum_gx;
  sum_g.assign(C, 0.0);
  sum_gx.assign(C, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double g = dy[n * C + c];
      sum_g[c] += g;
      sum_gx[c] += g * (x[n * C + c] - mean[c]) * rstd[c];
    }
  for (int64_t c = 0; c < C; ++c) {
    dgamma[c] += static_cast<float>(sum_gx[c]);
    dbeta[c] += static_cast<float>(sum_g[c]);
  }
  if (!train) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) dx[n * C + c] += dy[n * C + c] * gamma[c] * rstd[c];
    return;
  }
  const double inv_n = 1.0 / static_cast<double>(N);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double xhat = (x[n * C + c] - mean[c]) * rstd[c];
      dx[n * C + c] +=
          static_cast<float>(gamma[c] * rstd[c] * (dy[n * C + c] - inv_n * sum_g[c] - xhat * inv_n * sum_gx[c]));
    }
}

}  // namespace informer
