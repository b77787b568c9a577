#include "cpu/norm.h"

#include <cmath>
#include <vector>

#include "cpu/thread_pool.h"
#include "cpu/reduce.h"
#include "cpu/vecmath.h"

namespace informer {

void LayerNormForward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* beta, float* out,
                      float* mean, float* rstd) {
  auto run = [&](int64_t begin, int64_t end) {
    if (LayerNormForwardRowsVec(begin, end, D, x, gamma, beta, kNormEps, out, mean, rstd)) return;
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
  // Small inputs (the seed config's 12-row layers) run inline: no pool hand-off. Batch-1 inference of
  // the paper config (24 to 96 rows of 512) splits: its workers are awake between the GEMMs.
  if (rows * D < (1 << 14)) return run(0, rows);
  ThreadPool::global().parallel_for(rows, 12, run);
}

void BatchNormForward(int64_t N, int64_t C, const float* x, const float* gamma, const float* beta, float* running_mean,
                      float* running_var, int64_t* num_batches_tracked, bool train, float* out, float* mean,
                      float* rstd) {
  // Split over the pool from 32K elements (at batch 1 its worker is awake between the GEMMs): the
  // statistics by channel ranges, so each channel's sums keep their serial order, the normalisation
  // by rows.
  ThreadPool& pool = ThreadPool::global();
  const bool split = N * C >= (1 << 15);
  // The caller's per-thread scratch, so steps do not allocate. Lambdas do not capture thread_local
  // variables (a worker naming one would get its own), so the loops below see it through pointers.
  thread_local std::vector<float> mu_scratch, rs_scratch;
  mu_scratch.resize(C);
  rs_scratch.resize(C);
  float* mu = mu_scratch.data();
  float* rs = rs_scratch.data();
  if (train) {
    auto stats = [&](int64_t c0, int64_t c1) {
      thread_local std::vector<double> sum, sq;
      sum.assign(c1 - c0, 0.0);
      sq.assign(c1 - c0, 0.0);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = c0; c < c1; ++c) sum[c - c0] += x[n * C + c];
      for (int64_t c = c0; c < c1; ++c) mu[c] = static_cast<float>(sum[c - c0] / static_cast<double>(N));
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = c0; c < c1; ++c) {
          const double d = static_cast<double>(x[n * C + c]) - mu[c];
          sq[c - c0] += d * d;
        }
      const double momentum = 0.1;
      for (int64_t c = c0; c < c1; ++c) {
        const double var = sq[c - c0] / static_cast<double>(N);
        rs[c] = static_cast<float>(1.0 / std::sqrt(var + kNormEps));
        const double unbiased = N > 1 ? sq[c - c0] / static_cast<double>(N - 1) : var;
        running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * mu[c]);
        running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
      }
    };
    if (split) {
      pool.parallel_for(C, 16, stats);
    } else {
      stats(0, C);
    }
    if (num_batches_tracked) ++*num_batches_tracked;
  } else {
    for (int64_t c = 0; c < C; ++c) {
      mu[c] = running_mean[c];
      rs[c] = 1.f / std::sqrt(running_var[c] + kNormEps);
    }
  }
  auto normalise = [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t c = 0; c < C; ++c) out[n * C + c] = (x[n * C + c] - mu[c]) * rs[c] * gamma[c] + beta[c];
  };
  if (split) {
    pool.parallel_for(N, 8, normalise);
  } else {
    normalise(0, N);
  }
  if (mean)
    for (int64_t c = 0; c < C; ++c) mean[c] = mu[c];
  if (rstd)
    for (int64_t c = 0; c < C; ++c) rstd[c] = rs[c];
}

namespace {

// dx for rows [begin, end). The two row sums use eight partial sums (reduce.h) so the loop
// vectorises; a plain float accumulation would run scalar.
void LayerNormBackwardRows(int64_t begin, int64_t end, int64_t D, const float* x, const float* gamma, const float* mean,
                           const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta) {
  if (LayerNormBackwardRowsVec(begin, end, D, x, gamma, mean, rstd, dy, dx, dgamma, dbeta)) return;
  const float inv_d = 1.f / static_cast<float>(D);
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * D;
    const float* g = dy + r * D;
    const float mu = mean[r], rs = rstd[r];
    if (dgamma) {  // serial callers fold the parameter gradients into the same pass
      for (int64_t j = 0; j < D; ++j) {
        dgamma[j] += g[j] * (xr[j] - mu) * rs;
        dbeta[j] += g[j];
      }
    }
    float acc_g[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}, acc_gx[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    int64_t j = 0;
    for (; j + 8 <= D; j += 8)
      for (int k = 0; k < 8; ++k) {
        const float gh = g[j + k] * gamma[j + k];
        acc_g[k] += gh;
        acc_gx[k] += gh * (xr[j + k] - mu) * rs;
      }
    float sum_g = ((acc_g[0] + acc_g[1]) + (acc_g[2] + acc_g[3])) + ((acc_g[4] + acc_g[5]) + (acc_g[6] + acc_g[7]));
    float sum_gx =
        ((acc_gx[0] + acc_gx[1]) + (acc_gx[2] + acc_gx[3])) + ((acc_gx[4] + acc_gx[5]) + (acc_gx[6] + acc_gx[7]));
    for (; j < D; ++j) {
      const float gh = g[j] * gamma[j];
      sum_g += gh;
      sum_gx += gh * (xr[j] - mu) * rs;
    }
    float* o = dx + r * D;
    for (int64_t e = 0; e < D; ++e) {
      const float xhat = (xr[e] - mu) * rs;
      o[e] += rs * (g[e] * gamma[e] - inv_d * sum_g - xhat * inv_d * sum_gx);
    }
  }
}

}  // namespace

void LayerNormBackward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* mean,
                       const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta) {
  // Small inputs (the seed config) run in one pass on the caller.
  if (rows * D < (1 << 16)) return LayerNormBackwardRows(0, rows, D, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
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
  ThreadPool::global().parallel_for(rows, 64, [&](int64_t begin, int64_t end) {
    LayerNormBackwardRows(begin, end, D, x, gamma, mean, rstd, dy, dx, nullptr, nullptr);
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
