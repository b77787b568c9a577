// What the model's forward and backward passes ask of a device: memory moves and the layer kernels,
// on pointers that live on that device. The model code (model_forward.cc, model_backward.cc,
// model_train.cc) is written once against this interface; CpuOps (native/cpu/ops_cpu.cc) runs the
// CPU kernels in place, CudaOps (native/cuda/ops_cuda.cu) the CUDA kernels. Kernel contracts are
// those of native/cpu/*.h, the reference implementation every backend is tested against. Scratch
// space comes from the model's activation arena, which allocates on the same device.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/device_buffer.h"
#include "base/op_types.h"
#include "base/status.h"

namespace informer {

class Arena;
class Rng;

enum class Device : int { kCpu = 0, kCuda = 1 };
const char* DeviceName(Device d);

class Ops : public DeviceAllocator {
 public:
  virtual Device device() const = 0;

  // ---- memory (Malloc / Free from DeviceAllocator: std::bad_alloc when the device is full) ----
  // Host data for a kernel: the CPU returns `host` itself; a device copies it into the arena.
  virtual const float* ToDevice(const float* host, size_t n) = 0;
  virtual const int32_t* ToDevice(const int32_t* host, size_t n) = 0;
  virtual void Upload(void* dst, const void* host, size_t bytes) = 0;
  virtual void Download(void* host, const void* src, size_t bytes) = 0;  // waits for the device
  virtual void Zero(float* p, size_t n) = 0;
  virtual void Copy(float* dst, const float* src, size_t n) = 0;
  // rows x cols floats between pitched (leading dimension in floats) regions.
  virtual void CopyRows(float* dst, int64_t dst_ld, const float* src, int64_t src_ld, int64_t cols, int64_t rows) = 0;
  // The first error the device reported since the last call (Ok on the CPU).
  virtual Status Check(const char* where) = 0;

  // ---- element-wise ----
  virtual void Add(int64_t n, const float* x, float* y) = 0;  // y += x
  // dst[r * dst_ld + c] += src[r * src_ld + c]; src_ld 0 broadcasts one row.
  virtual void Add2D(int64_t rows, int64_t cols, const float* src, int64_t src_ld, float* dst, int64_t dst_ld) = 0;
  virtual void ActivationForward(Activation act, int64_t n, float* x) = 0;
  virtual void ActivationBackward(Activation act, int64_t n, const float* pre, const float* dy, float* dx) = 0;
  virtual void EluForward(int64_t n, const float* x, float* out) = 0;
  virtual void EluBackward(int64_t n, const float* x, const float* dy, float* dx) = 0;
  // Takes one key from rng per call; the mask is elements [first, first + n) of the stream that key
  // defines, so the parts of a split batch (first > 0 after the first) draw the whole batch's mask.
  virtual void DropoutForward(int64_t n, float p, Rng* rng, float* x, uint8_t* keep, int64_t first) = 0;
  virtual void DropoutBackward(int64_t n, float p, const uint8_t* keep, float* dy) = 0;
  virtual void MaxPool3s2Forward(int64_t B, int64_t L, int64_t C, const float* x, float* out, int32_t* argmax) = 0;
  virtual void MaxPool3s2Backward(int64_t B, int64_t L, int64_t C, const int32_t* argmax, const float* dy,
                                  float* dx) = 0;

  // The model's parameters live in [base, base + n) and change only where the model then calls
  // ParamsChanged() (an optimiser step, loaded weights). A backend may keep data derived from
  // weights in that range (the CPU's packed weights); other pointers are never cached, since their
  // memory may be reused for different values.
  virtual void SetParams(const float* base, size_t n) {}
  virtual void ParamsChanged() {}
  // Bytes of such derived data that this Ops owns (not counting what it shares with another).
  virtual size_t DerivedWeightBytes() const { return 0; }

  // ---- dense layers ----
  virtual void Sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                     int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                     const GemmEpilogue& ep) = 0;
  virtual void LinearForward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* b,
                             float* y, Activation act, const float* residual) = 0;
  virtual void LinearBackward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* dy,
                              float* dx, bool accumulate_dx, float* dw, float* db) = 0;
  // An inference feed-forward block, y = (act(x W1^T + b1)) W2^T + b2 + residual, with x, y and
  // residual [rows, in] and w1 [hidden, in], w2 [in, hidden]. `scratch` holds rows * HiddenStride(hidden)
  // floats: a backend may lay the hidden layer out with padded rows (the CPU's GEMMs read rows whose
  // stride is a multiple of 4 KiB through a single L1 set). By default two LinearForward calls.
  virtual int64_t HiddenStride(int64_t hidden) const { return hidden; }
  virtual void FeedForwardForward(int64_t rows, int64_t in, int64_t hidden, const float* x, const float* w1,
                                  const float* b1, const float* w2, const float* b2, Activation act, float* scratch,
                                  float* y, const float* residual) {
    LinearForward(rows, in, hidden, x, w1, b1, scratch, act, nullptr);
    LinearForward(rows, hidden, in, scratch, w2, b2, y, Activation::kNone, residual);
  }
  virtual void CircularIm2Col3(int64_t B, int64_t L, int64_t C, const float* x, float* cols) = 0;
  // cols [B*L, 3*C_in] is scratch: the CPU backend fills it in another column order when w is a cached
  // parameter, so the backward pass takes its cols from CircularIm2Col3.
  virtual void CircularConv3Forward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* x, const float* w,
                                    const float* b, float* cols, float* out) = 0;
  virtual void CircularConv3Backward(int64_t B, int64_t L, int64_t C_in, int64_t C_out, const float* cols,
                                     const float* w, const float* dy, float* d_cols, float* dx, float* dw,
                                     float* db) = 0;

  // ---- normalisation ----
  virtual void LayerNormForward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* beta,
                                float* out, float* mean, float* rstd) = 0;
  virtual void LayerNormBackward(int64_t rows, int64_t D, const float* x, const float* gamma, const float* mean,
                                 const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta) = 0;
  // num_batches_tracked is host memory on every device.
  virtual void BatchNormForward(int64_t N, int64_t C, const float* x, const float* gamma, const float* beta,
                                float* running_mean, float* running_var, int64_t* num_batches_tracked, bool train,
                                float* out, float* mean, float* rstd) = 0;
  virtual void BatchNormBackward(int64_t N, int64_t C, const float* x, const float* gamma, const float* mean,
                                 const float* rstd, bool train, const float* dy, float* dx, float* dgamma,
                                 float* dbeta) = 0;

  // ---- embedding (indices validated by the caller on the host) ----
  virtual void TemporalLookupAdd(int64_t N, int64_t n_mark, const float* marks, int column, const float* table,
                                 int64_t rows, int64_t D, float* out) = 0;
  virtual void TemporalLookupBackward(int64_t N, int64_t n_mark, const float* marks, int column, const float* dy,
                                      int64_t rows, int64_t D, float* dtable) = 0;

  // ---- attention ----
  virtual void FullAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v,
                                    HeadLayout in_q, HeadLayout in_kv, float* out, HeadLayout out_layout, bool causal,
                                    float scale, float dropout, Rng* rng, float* probs, uint8_t* drop_mask,
                                    int64_t mask_first) = 0;  // mask_first: as DropoutForward's first
  virtual void FullAttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v,
                                     HeadLayout in_q, HeadLayout in_kv, const float* d_out, HeadLayout out_layout,
                                     float scale, float dropout, const float* probs, const uint8_t* drop_mask,
                                     float* dq, float* dk, float* dv) = 0;
  virtual void ProbAttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v,
                                    HeadLayout in_q, HeadLayout in_kv, float* out, HeadLayout out_layout, bool masked,
                                    float scale, const int32_t* sample, int64_t U, int64_t u, int32_t* top_out,
                                    float* probs) = 0;
  virtual void ProbAttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v,
                                     HeadLayout in_q, HeadLayout in_kv, const float* d_out, HeadLayout out_layout,
                                     bool masked, float scale, int64_t u, const int32_t* top, const float* probs,
                                     float* dq, float* dk, float* dv) = 0;

  // ---- instance normalisation of the windows (RevIN / last value; cpu/instance_norm.h) ----
  virtual void WindowStatsForward(WindowStatsKind kind, int64_t B, int64_t L, int64_t C, const float* x, float* center,
                                  float* scale) = 0;
  virtual void InstanceNormForward(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x, const float* center,
                                   const float* scale, const float* weight, const float* bias, float* out) = 0;
  virtual void InstanceNormBackward(int64_t B, int64_t L, int64_t L_norm, int64_t C, const float* x,
                                    const float* center, const float* scale, const float* dy, float* d_weight,
                                    float* d_bias) = 0;
  virtual void InstanceDenormForward(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y,
                                     const float* center, const float* scale, const float* weight, const float* bias,
                                     float* out) = 0;
  virtual void InstanceDenormBackward(int64_t B, int64_t L, int64_t C_out, int64_t C_in, const float* y,
                                      const float* center, const float* scale, const float* weight, const float* bias,
                                      const float* d_out, float* dy, float* d_weight, float* d_bias) = 0;

  // ---- loss and optimiser ----
  // Returns the mean squared error (pred and target on the device); d_pred [n] = 2 (pred - target) / n.
  virtual double MseForwardBackward(int64_t n, const float* pred, const float* target, float* d_pred) = 0;
  virtual void AdamUpdate(int64_t n, const AdamConfig& c, int64_t t, const float* grad, float* param, float* m,
                          float* v) = 0;
};

// The CPU backend; scratch (none needed today) would come from `arena`. With `share_weights_of` (a CPU
// Ops bound to the same parameters: a split-batch replica's), it uses that one's packed weights instead
// of packing its own, and leaves keeping them current to it.
std::unique_ptr<Ops> MakeCpuOps(Arena* arena, Ops* share_weights_of = nullptr);

// Backends other than the CPU register themselves at start-up (the addon calls
// informer::cuda::RegisterBackend() when it was built with CUDA), so the core never links CUDA.
struct BackendProvider {
  int (*device_count)() = nullptr;      // usable devices now (0: none)
  std::string (*describe)() = nullptr;  // the device, or why there is none
  std::unique_ptr<Ops> (*make)(Arena* arena) = nullptr;
};
void RegisterBackend(Device d, const BackendProvider& provider);
const BackendProvider* FindBackend(Device d);  // nullptr when not built in

}  // namespace informer
