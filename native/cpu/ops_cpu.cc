// The CPU backend of Ops: the kernels of native/kernels/cpu on host memory, nothing copied.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "base/ops.h"
#include "cpu/thread_pool.h"
#include "cpu/attention.h"
#include "cpu/conv.h"
#include "cpu/embedding.h"
#include "cpu/instance_norm.h"
#include "cpu/linear.h"
#include "cpu/norm.h"
#include "cpu/optim.h"
#include "cpu/pointwise.h"
#include "cpu/weight_cache.h"

namespace informer {
namespace {

class CpuOps final : public Ops {
 public:
  // shared: another CpuOps's cache (which that one keeps current), or null for a cache of its own.
  explicit CpuOps(std::shared_ptr<WeightCache> shared)
      : owns_weights_(!shared), weights_(shared ? std::move(shared) : std::make_shared<WeightCache>()) {}
  const std::shared_ptr<WeightCache>& weight_cache() const { return weights_; }

  Device device() const override { return Device::kCpu; }

  void SetParams(const float* base, size_t n) override {
    params_begin_ = reinterpret_cast<uintptr_t>(base);
    params_end_ = base ? reinterpret_cast<uintptr_t>(base + n) : 0;
    ParamsChanged();
  }
  void ParamsChanged() override {
    if (owns_weights_) weights_->Invalidate();
  }
  size_t DerivedWeightBytes() const override { return owns_weights_ ? weights_->bytes() : 0; }

  void* Malloc(size_t bytes) override {
    void* p = std::aligned_alloc(64, ((bytes + 63) / 64) * 64 + 64);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void Free(void* p) override { std::free(p); }
  const float* ToDevice(const float* host, size_t) override { return host; }
  const int32_t* ToDevice(const int32_t* host, size_t) override { return host; }
  void Upload(void* dst, const void* host, size_t bytes) override {
    if (bytes && dst != host) std::memcpy(dst, host, bytes);
  }
  void Download(void* host, const void* src, size_t bytes) override {
    if (bytes && host != src) std::memcpy(host, src, bytes);
  }
  void Zero(float* p, size_t n) override { std::memset(p, 0, n * sizeof(float)); }
  void Copy(float* dst, const float* src, size_t n) override {
    if (n && dst != src) std::memcpy(dst, src, n * sizeof(float));
  }
  void CopyRows(float* dst, int64_t dst_ld, const float* src, int64_t src_ld, int64_t cols, int64_t rows) override {
    for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * dst_ld, src + r * src_ld, cols * sizeof(float));
  }
  Status Check(const char*) override { return Status::Ok(); }

  void Add(int64_t n, const float* x, float* y) override {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
  }
  void Add2D(int64_t rows, int64_t cols, const float* src, int64_t src_ld, float* dst, int64_t dst_ld) override {
    for (int64_t r = 0; r < rows; ++r) Add(cols, src + r * src_ld, dst + r * dst_ld);
  }
  void ActivationForward(Activation act, int64_t n, float* x) override { apply_activation(act, x, n); }
  void ActivationBackward(Activation act, int64_t n, const float* pre, const float* dy, float* dx) override {
    informer::ActivationBackward(static_cast<int>(act), n, pre, dy, dx);
  }
  void EluForward(int64_t n, const float* x, float* out) override { informer::EluForward(n, x, out); }
  void EluBackward(int64_t n, const float* x, const float* dy, float* dx) override {
    informer::EluBackward(n, x, dy, dx);
  }
  void DropoutForward(int64_t n, float p, Rng* rng, float* x, uint8_t* keep, int64_t first) override {
    informer::DropoutForward(n, p, rng, x, keep, first);
  }
  void DropoutBackward(int64_t n, float p, const uint8_t* keep, float* dy) override {
    informer::DropoutBackward(n, p, keep, dy);
  }
  void MaxPool3s2Forward(int64_t B, int64_t L, int64_t C, const float* x, float* out, int32_t* argmax) override {
    informer::MaxPool3s2Forward(B, L, C, x, out, argmax);
  }
  void MaxPool3s2Backward(int64_t B, int64_t L, int64_t C, const int32_t* argmax, const float* dy, float* dx) override {
    informer::MaxPool3s2Backward(B, L, C, argmax, dy, dx);
  }

  void Sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
             const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const GemmEpilogue& ep) override {
    sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ep, &ThreadPool::global());
  }
  void LinearForward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* b, float* y,
                     Activation act, const float* residual) override {
    informer::LinearForward(rows, in, out, x, w, b, y, act, residual, Packed(rows, w, out, in));
  }
  // A hidden layer whose rows are a multiple of 4 KiB apart (d_ff 2048) puts the 12 rows of a GEMM tile
  // in one L1 set when the second product reads it in place: 16 floats of padding made the paper
  // model's K = 2048 products 4-7% faster at batch 1.
  int64_t HiddenStride(int64_t hidden) const override { return hidden % 1024 == 0 ? hidden + 16 : hidden; }
  void FeedForwardForward(int64_t rows, int64_t in, int64_t hidden, const float* x, const float* w1, const float* b1,
                          const float* w2, const float* b2, Activation act, float* scratch, float* y,
                          const float* residual) override {
    const int64_t ld = HiddenStride(hidden);
    informer::LinearForward(rows, in, hidden, x, w1, b1, scratch, act, nullptr, Packed(rows, w1, hidden, in), in, ld);
    informer::LinearForward(rows, hidden, in, scratch, w2, b2, y, Activation::kNone, residual,
                            Packed(rows, w2, in, hidden), ld, in);
  }
  void LinearBackward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* dy, float* dx,
                      bool accumulate_dx, float* dw, float* db) override {
    informer::LinearBackward(rows, in, out, x, w, dy, dx, accumulate_dx, dw, db);
  }
  void CircularIm2Col3(int64_t B, int64_t L, int64_t C, const float* x, float* cols) override {
    informer::CircularIm2Col3(B, L, C, x, cols);
  }
  void CircularConv3Forward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* x, const float* w,
                            const float* b, float* cols, float* out) override {
    // A parameter's conv always takes the tap-major order, packed or not: a batch computes the same
    // sums whether it runs whole or split into parts of fewer rows.
    if (IsParam(w, C_out * C_in * 3)) {
      const bool pack = B * L <= WeightCache::kMaxRows;
      const WeightCache::TapMajorConv3& tm = weights_->GetTapMajorConv3(w, C_out, C_in, pack, &ThreadPool::global());
      return informer::CircularConv3ForwardTapMajor(B, L, C_in, C_out, x, tm.weight.data(), pack ? &tm.packed : nullptr,
                                                    b, cols, out);
    }
    informer::CircularConv3Forward(B, L, C_in, C_out, x, w, b, cols, out);
  }
  void CircularConv3Backward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* cols, const float* w,
                             const float* dy, float* d_cols, float* dx, float* dw, float* db) override {
    informer::CircularConv3Backward(B, L, C_in, C_out, cols, w, dy, d_cols, dx, dw, db);
  }

  void LayerNormForward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* beta, float* out,
                        float* mean, float* rstd) override {
    informer::LayerNormForward(rows, D, x, gamma, beta, out, mean, rstd);
  }
  void LayerNormBackward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* mean,
                         const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta) override {
    informer::LayerNormBackward(rows, D, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
  }
  void BatchNormForward(int64_t N, int64_t C, const float* x, const float* gamma, const float* beta,
                        float* running_mean, float* running_var, int64_t* num_batches_tracked, bool train, float* out,
                        float* mean, float* rstd) override {
    informer::BatchNormForward(N, C, x, gamma, beta, running_mean, running_var, num_batches_tracked, train, out, mean,
                               rstd);
  }
  void BatchNormBackward(int64_t N, int64_t C, const float* x, const float* gamma, const float* mean, const float* rstd,
                         bool train, const float* dy, float* dx, float* dgamma, float* dbeta) override {
    informer::BatchNormBackward(N, C, x, gamma, mean, rstd, train, dy, dx, dgamma, dbeta);
  }

  void TemporalLookupAdd(int64_t N, int64_t n_mark, const float* marks, int column, const float* table, int64_t rows,
                         int64_t D, float* out) override {
    informer::TemporalLookupAdd(N, n_mark, marks, column, table, rows, D, out);
  }
  void TemporalLookupBackward(int64_t N, int64_t n_mark, const float* marks, int column, const float* dy, int64_t,
                              int64_t D, float* dtable) override {
    informer::TemporalLookupBackward(N, n_mark, marks, column, dy, D, dtable);
  }

  void FullAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                            HeadLayout in_kv, float* out, HeadLayout out_layout, bool causal, float scale,
                            float dropout, Rng* rng, float* probs, uint8_t* drop_mask, int64_t mask_first) override {
    informer::FullAttentionForward(s, q, k, v, in_q, in_kv, out, out_layout, causal, scale, dropout, rng, probs,
                                   drop_mask, mask_first);
  }
  void FullAttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                             HeadLayout in_kv, const float* d_out, HeadLayout out_layout, float scale, float dropout,
                             const float* probs, const uint8_t* drop_mask, float* dq, float* dk, float* dv) override {
    informer::FullAttentionBackward(s, q, k, v, in_q, in_kv, d_out, out_layout, scale, dropout, probs, drop_mask, dq,
                                    dk, dv);
  }
  void ProbAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                            HeadLayout in_kv, float* out, HeadLayout out_layout, bool masked, float scale,
                            const int32_t* sample, int64_t U, int64_t u, int32_t* top_out, float* probs) override {
    informer::ProbAttentionForward(s, q, k, v, in_q, in_kv, out, out_layout, masked, scale, sample, U, u, top_out,
                                   probs);
  }
  void ProbAttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                             HeadLayout in_kv, const float* d_out, HeadLayout out_layout, bool masked, float scale,
                             int64_t u, const int32_t* top, const float* probs, float* dq, float* dk,
                             float* dv) override {
    informer::ProbAttentionBackward(s, q, k, v, in_q, in_kv, d_out, out_layout, masked, scale, u, top, probs, dq, dk,
                                    dv);
  }

  void WindowStatsForward(WindowStatsKind kind, int64_t B, int64_t L, int64_t C, const float* x, float* center,
                          float* scale) override {
    informer::WindowStatsForward(kind, B, L, C, x, center, scale);
  }
  void InstanceNormForward(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                           const float* scale, const float* weight, const float* bias, float* out) override {
    informer::InstanceNormForward(B, L, L_norm, C, x, center, scale, weight, bias, out);
  }
  void InstanceNormBackward(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                            const float* scale, const float* dy, float* d_weight, float* d_bias) override {
    informer::InstanceNormBackward(B, L, L_norm, C, x, center, scale, dy, d_weight, d_bias);
  }
  void InstanceDenormForward(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y, const float* center,
                             const float* scale, const float* weight, const float* bias, float* out) override {
    informer::InstanceDenormForward(B, L, C_out, C_in, y, center, scale, weight, bias, out);
  }
  void InstanceDenormBackward(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y, const float* center,
                              const float* scale, const float* weight, const float* bias, const float* d_out, float* dy,
                              float* d_weight, float* d_bias) override {
    informer::InstanceDenormBackward(B, L, C_out, C_in, y, center, scale, weight, bias, d_out, dy, d_weight, d_bias);
  }

  double MseForwardBackward(int64_t n, const float* pred, const float* target, float* d_pred) override {
    return informer::MseForwardBackward(n, pred, target, d_pred);
  }
  void AdamUpdate(int64_t n, const AdamConfig& c, int64_t t, const float* grad, float* param, float* m,
                  float* v) override {
    informer::AdamUpdate(n, c, t, grad, param, m, v);
  }

 private:
  // The cached packing of weight w [n, k] for a product with `rows` rows, or null (pack per call):
  // only model parameters (SetParams) are cached.
  const PackedB* Packed(int64_t rows, const float* w, int64_t n, int64_t k) {
    return rows <= WeightCache::kMaxRows && IsParam(w, n * k) ? &weights_->Get(w, n, k, &ThreadPool::global())
                                                              : nullptr;
  }
  // Whether w[0:size] lies among the model's parameters.
  bool IsParam(const float* w, int64_t size) const {
    const uintptr_t a = reinterpret_cast<uintptr_t>(w), end = reinterpret_cast<uintptr_t>(w + size);
    return a >= params_begin_ && end <= params_end_;
  }
  bool owns_weights_;  // false: a replica's, whose owner invalidates the cache when weights change
  std::shared_ptr<WeightCache> weights_;
  uintptr_t params_begin_ = 0, params_end_ = 0;  // the model's parameters (SetParams)
};

}  // namespace

std::unique_ptr<Ops> MakeCpuOps(Arena*, Ops* share_weights_of) {
  // Every CPU Ops is a CpuOps (no RTTI needed: node-gyp builds without it).
  const bool cpu = share_weights_of && share_weights_of->device() == Device::kCpu;
  return std::make_unique<CpuOps>(cpu ? static_cast<const CpuOps*>(share_weights_of)->weight_cache() : nullptr);
}

}  // namespace informer
