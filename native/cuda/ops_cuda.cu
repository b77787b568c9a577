// The CUDA backend of Ops (core/ops.h): the model's passes on one stream, scratch from the model's
// arena (device memory), every launch asynchronous; errors surface at Check() and at the copies
// back to the host, which are also the only synchronisation points.
#include <new>

#include "base/arena.h"
#include "base/ops.h"
#include "base/rng.h"
#include "cuda/attention.h"
#include "cuda/backend.h"
#include "cuda/compat.h"
#include "cuda/conv.h"
#include "cuda/embedding.h"
#include "cuda/gemm.h"
#include "cuda/instance_norm.h"
#include "cuda/linear.h"
#include "cuda/norm.h"
#include "cuda/optim.h"
#include "cuda/pointwise.h"
#include "cuda/runtime.h"

namespace informer::cuda {
namespace {

class CudaOps final : public Ops {
 public:
  explicit CudaOps(Arena* arena) : arena_(arena) {
    if (cudaStreamCreate(&stream_) != cudaSuccess) {
      cudaGetLastError();
      stream_ = nullptr;  // the legacy default stream still works
    }
  }
  ~CudaOps() override {
    if (stream_) {
      cudaStreamSynchronize(stream_);
      cudaStreamDestroy(stream_);
    }
  }
  Device device() const override { return Device::kCuda; }

  void* Malloc(size_t bytes) override {
    void* p = nullptr;
    if (!DeviceAlloc(&p, bytes).ok()) throw std::bad_alloc();
    return p;
  }
  void Free(void* p) override {
    if (stream_) cudaStreamSynchronize(stream_);  // kernels still in flight may use it
    DeviceFree(p);
  }
  const float* ToDevice(const float* host, size_t n) override {
    float* d = arena_->Alloc(n);
    Note(CopyToDevice(d, host, n * sizeof(float), stream_));
    return d;
  }
  const int32_t* ToDevice(const int32_t* host, size_t n) override {
    int32_t* d = reinterpret_cast<int32_t*>(arena_->Alloc(n));
    Note(CopyToDevice(d, host, n * sizeof(int32_t), stream_));
    return d;
  }
  void Upload(void* dst, const void* host, size_t bytes) override {
    Note(CopyToDevice(dst, host, bytes, stream_));
    Note(Synchronize(stream_, "upload"));  // the caller may free or change `host` next
  }
  void Download(void* host, const void* src, size_t bytes) override { Note(CopyToHost(host, src, bytes, stream_)); }
  void Zero(float* p, size_t n) override { Note(ZeroDevice(p, n * sizeof(float), stream_)); }
  void Copy(float* dst, const float* src, size_t n) override {
    Note(CopyOnDevice(dst, src, n * sizeof(float), stream_));
  }
  void CopyRows(float* dst, int64_t dst_ld, const float* src, int64_t src_ld, int64_t cols, int64_t rows) override {
    Note(CopyRowsOnDevice(dst, dst_ld * sizeof(float), src, src_ld * sizeof(float), cols * sizeof(float), rows,
                          stream_));
  }
  Status Check(const char* where) override {
    Note(Synchronize(stream_, where));
    Status st = pending_;
    pending_ = Status::Ok();
    return st;
  }

  void Add(int64_t n, const float* x, float* y) override { cuda::Add(stream_, n, x, y); }
  void Add2D(int64_t rows, int64_t cols, const float* src, int64_t src_ld, float* dst, int64_t dst_ld) override {
    cuda::Add2D(stream_, rows, cols, src, src_ld, dst, dst_ld);
  }
  void ActivationForward(Activation act, int64_t n, float* x) override { cuda::ActivationForward(stream_, act, n, x); }
  void ActivationBackward(Activation act, int64_t n, const float* pre, const float* dy, float* dx) override {
    cuda::ActivationBackward(stream_, act, n, pre, dy, dx);
  }
  void EluForward(int64_t n, const float* x, float* out) override { cuda::EluForward(stream_, n, x, out); }
  void EluBackward(int64_t n, const float* x, const float* dy, float* dx) override {
    cuda::EluBackward(stream_, n, x, dy, dx);
  }
  // One seed per call from the model's generator: masks are reproducible for a seeded model.
  void DropoutForward(int64_t n, float p, Rng* rng, float* x, uint8_t* keep, int64_t first) override {
    cuda::DropoutForward(stream_, n, p, DropoutRng{rng->Next(), static_cast<uint64_t>(first)}, x, keep);
  }
  void DropoutBackward(int64_t n, float p, const uint8_t* keep, float* dy) override {
    cuda::DropoutBackward(stream_, n, p, keep, dy);
  }
  void MaxPool3s2Forward(int64_t B, int64_t L, int64_t C, const float* x, float* out, int32_t* argmax) override {
    cuda::MaxPool3s2Forward(stream_, B, L, C, x, out, argmax);
  }
  void MaxPool3s2Backward(int64_t B, int64_t L, int64_t C, const int32_t* argmax, const float* dy, float* dx) override {
    cuda::MaxPool3s2Backward(stream_, B, L, C, argmax, dy, dx);
  }

  void Sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
             const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const GemmEpilogue& ep) override {
    cuda::Sgemm(stream_, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ep);
  }
  void LinearForward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* b, float* y,
                     Activation act, const float* residual) override {
    cuda::LinearForward(stream_, rows, in, out, x, w, b, y, act, residual);
  }
  void LinearBackward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* dy, float* dx,
                      bool accumulate_dx, float* dw, float* db) override {
    cuda::LinearBackward(stream_, rows, in, out, x, w, dy, dx, accumulate_dx, dw, db);
  }
  void CircularIm2Col3(int64_t B, int64_t L, int64_t C, const float* x, float* cols) override {
    cuda::CircularIm2Col3(stream_, B, L, C, x, cols);
  }
  void CircularConv3Forward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* x, const float* w,
                            const float* b, float* cols, float* out) override {
    cuda::CircularConv3Forward(stream_, B, L, C_in, C_out, x, w, b, cols, out);
  }
  void CircularConv3Backward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* cols, const float* w,
                             const float* dy, float* d_cols, float* dx, float* dw, float* db) override {
    cuda::CircularConv3Backward(stream_, B, L, C_in, C_out, cols, w, dy, d_cols, dx, dw, db);
  }

  void LayerNormForward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* beta, float* out,
                        float* mean, float* rstd) override {
    cuda::LayerNormForward(stream_, rows, D, x, gamma, beta, out, mean, rstd);
  }
  void LayerNormBackward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* mean,
                         const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta) override {
    cuda::LayerNormBackward(stream_, rows, D, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
  }
  void BatchNormForward(int64_t N, int64_t C, const float* x, const float* gamma, const float* beta,
                        float* running_mean, float* running_var, int64_t* num_batches_tracked, bool train, float* out,
                        float* mean, float* rstd) override {
    cuda::BatchNormForward(stream_, N, C, x, gamma, beta, running_mean, running_var, train, out, mean, rstd);
    if (train && num_batches_tracked) ++*num_batches_tracked;  // host memory on every device
  }
  void BatchNormBackward(int64_t N, int64_t C, const float* x, const float* gamma, const float* mean, const float* rstd,
                         bool train, const float* dy, float* dx, float* dgamma, float* dbeta) override {
    cuda::BatchNormBackward(stream_, N, C, x, gamma, mean, rstd, train, dy, dx, dgamma, dbeta);
  }

  void TemporalLookupAdd(int64_t N, int64_t n_mark, const float* marks, int column, const float* table, int64_t rows,
                         int64_t D, float* out) override {
    cuda::TemporalLookupAdd(stream_, N, n_mark, marks, column, table, rows, D, out);
  }
  void TemporalLookupBackward(int64_t N, int64_t n_mark, const float* marks, int column, const float* dy, int64_t rows,
                              int64_t D, float* dtable) override {
    cuda::TemporalLookupBackward(stream_, N, n_mark, marks, column, dy, rows, D, dtable);
  }

  void FullAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                            HeadLayout in_kv, float* out, HeadLayout out_layout, bool causal, float scale,
                            float dropout, Rng* rng, float* probs, uint8_t* drop_mask, int64_t mask_first) override {
    const Arena::Mark m = arena_->mark();
    float* ws = Workspace(FullAttentionWorkspaceFloats(s));
    const DropoutRng r{dropout > 0.f ? rng->Next() : 0, static_cast<uint64_t>(mask_first)};
    cuda::FullAttentionForward(stream_, s, q, k, v, in_q, in_kv, out, out_layout, causal, scale, dropout, r, probs,
                               drop_mask, ws);
    arena_->rewind(m);  // stream order keeps the workspace valid for the kernels already queued
  }
  void FullAttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                             HeadLayout in_kv, const float* d_out, HeadLayout out_layout, float scale, float dropout,
                             const float* probs, const uint8_t* drop_mask, float* dq, float* dk, float* dv) override {
    const Arena::Mark m = arena_->mark();
    float* ws = Workspace(FullAttentionBackwardWorkspaceFloats(s));
    cuda::FullAttentionBackward(stream_, s, q, k, v, in_q, in_kv, d_out, out_layout, scale, dropout, probs, drop_mask,
                                dq, dk, dv, ws);
    arena_->rewind(m);
  }
  void ProbAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                            HeadLayout in_kv, float* out, HeadLayout out_layout, bool masked, float scale,
                            const int32_t* sample, int64_t U, int64_t u, int32_t* top_out, float* probs) override {
    const Arena::Mark m = arena_->mark();
    float* ws = Workspace(ProbAttentionWorkspaceFloats(s, U, u));
    cuda::ProbAttentionForward(stream_, s, q, k, v, in_q, in_kv, out, out_layout, masked, scale, sample, U, u, top_out,
                               probs, ws);
    arena_->rewind(m);
  }
  void ProbAttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v, HeadLayout in_q,
                             HeadLayout in_kv, const float* d_out, HeadLayout out_layout, bool masked, float scale,
                             int64_t u, const int32_t* top, const float* probs, float* dq, float* dk,
                             float* dv) override {
    const Arena::Mark m = arena_->mark();
    float* ws = Workspace(ProbAttentionBackwardWorkspaceFloats(s, u));
    cuda::ProbAttentionBackward(stream_, s, q, k, v, in_q, in_kv, d_out, out_layout, masked, scale, u, top, probs, dq,
                                dk, dv, ws);
    arena_->rewind(m);
  }

  void WindowStatsForward(WindowStatsKind kind, int64_t B, int64_t L, int64_t C, const float* x, float* center,
                          float* scale) override {
    cuda::WindowStatsForward(stream_, kind, B, L, C, x, center, scale);
  }
  void InstanceNormForward(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                           const float* scale, const float* weight, const float* bias, float* out) override {
    cuda::InstanceNormForward(stream_, B, L, L_norm, C, x, center, scale, weight, bias, out);
  }
  void InstanceNormBackward(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                            const float* scale, const float* dy, float* d_weight, float* d_bias) override {
    cuda::InstanceNormBackward(stream_, B, L, L_norm, C, x, center, scale, dy, d_weight, d_bias);
  }
  void InstanceDenormForward(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y, const float* center,
                             const float* scale, const float* weight, const float* bias, float* out) override {
    cuda::InstanceDenormForward(stream_, B, L, C_out, C_in, y, center, scale, weight, bias, out);
  }
  void InstanceDenormBackward(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y, const float* center,
                              const float* scale, const float* weight, const float* bias, const float* d_out, float* dy,
                              float* d_weight, float* d_bias) override {
    cuda::InstanceDenormBackward(stream_, B, L, C_out, C_in, y, center, scale, weight, bias, d_out, dy, d_weight,
                                 d_bias);
  }

  double MseForwardBackward(int64_t n, const float* pred, const float* target, float* d_pred) override {
    const Arena::Mark m = arena_->mark();
    double* loss = reinterpret_cast<double*>(arena_->Alloc(2));
    double* ws = reinterpret_cast<double*>(arena_->Alloc(2 * static_cast<size_t>(MseWorkspaceDoubles(n))));
    cuda::MseForwardBackward(stream_, n, pred, target, d_pred, loss, ws);
    double host = 0.0;
    Note(CopyToHost(&host, loss, sizeof(double), stream_));
    arena_->rewind(m);
    return host;
  }
  void AdamUpdate(int64_t n, const AdamConfig& c, int64_t t, const float* grad, float* param, float* m,
                  float* v) override {
    cuda::AdamUpdate(stream_, n, c, t, grad, param, m, v);
  }

 private:
  float* Workspace(int64_t floats) { return floats > 0 ? arena_->Alloc(static_cast<size_t>(floats)) : nullptr; }
  void Note(const Status& st) {
    if (!st.ok() && pending_.ok()) pending_ = st;
  }

  Arena* arena_;
  cudaStream_t stream_ = nullptr;
  Status pending_;
};

int Count() { return DeviceCount(); }
std::string Describe() { return DeviceDescription(0); }
std::unique_ptr<Ops> Make(Arena* arena) { return std::make_unique<CudaOps>(arena); }

}  // namespace

void RegisterBackend() {
  BackendProvider p;
  p.device_count = Count;
  p.describe = Describe;
  p.make = Make;
  informer::RegisterBackend(Device::kCuda, p);
}

}  // namespace informer::cuda
