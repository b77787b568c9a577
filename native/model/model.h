// The Informer model (REFERENCE.md): parameter table, seeded generator, activation arena and the
// forward pass as one native call. No N-API here; every failure is a Status.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/arena.h"
#include "base/config.h"
#include "base/ops.h"
#include "model/params.h"
#include "base/rng.h"
#include "base/status.h"
#include "model/tape.h"
#include "cpu/optim.h"

namespace informer {

// One ProbSparse key-sample draw: the [Lq, U] index matrix (values in [0, Lk)) that the layer
// `layer` takes per forward pass, in execution order.
struct SampleDraw {
  std::string layer;
  int64_t Lq, U, Lk;
};

struct IndexMatrix {
  const int32_t* data;
  int64_t rows, cols;
};

enum class Sampling : int {
  kDeterministic = 0,  // fixed per layer from the model seed (inference default): same input, same output
  kRandom = 1,         // a fresh draw from the model's generator on every pass (the reference's behaviour)
};

// Receives intermediate activations (names as the fixtures' act.* keys) when set.
using ActivationSink =
    std::function<void(const std::string& name, const float* data, const std::vector<int64_t>& shape)>;

struct ForwardInput {
  int64_t batch = 0;
  const float* x_enc = nullptr;       // [B, seq_len, enc_in]
  const float* x_mark_enc = nullptr;  // [B, seq_len, n_mark]
  const float* x_dec = nullptr;       // [B, label_len + pred_len, dec_in]
  const float* x_mark_dec = nullptr;  // [B, label_len + pred_len, n_mark]
};

struct ForwardOptions {
  bool train = false;  // dropout active, BatchNorm on batch statistics with running-stat update
  Sampling sampling = Sampling::kDeterministic;              // eval mode only; train mode always draws fresh
  const std::vector<IndexMatrix>* sample_indices = nullptr;  // replaces every draw when given
  const ActivationSink* sink = nullptr;
  bool record = false;  // keep what the backward pass needs (set by LossAndGrad / TrainStep)
  // Set on the parts of a split batch (model_split.cc): this pass computes samples
  // [batch_offset, batch_offset + batch) of the whole batch, and takes that window of its dropout masks.
  int64_t batch_offset = 0;
};

// Whether a training step on the CPU runs its batch in parts, one per pool thread (model_split.cc).
// kAuto follows INFORMER_SPLIT_BATCH when it is 0 (never) or 1 (always).
enum class BatchSplit : int {
  kAuto = 0,  // batches of 2 or more on a pool of 2 threads; on larger pools, small models only
  kNever = 1,
  kAlways = 2,  // whenever the batch can split (at least two parts: on one thread they run in turn)
};

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  bool is_int64 = false;
  const void* data = nullptr;  // float or int64_t, numel(shape) elements
};

class Model {
 public:
  // Validates the config, lays out the parameters and initialises them as the reference does
  // (seeded by config.seed).
  static Status Create(const ModelConfig& config, std::unique_ptr<Model>* out);
  ~Model();

  const ModelConfig& config() const { return config_; }
  // The host copy of every parameter and buffer. On a GPU the device copy is the live one: call
  // SyncHost() before reading this after training, and after writing it directly call PushParams().
  // Mutable access counts as a change: what the device derived from the weights is rebuilt.
  ParamTable& params() {
    if (ops_) WeightsChanged();
    return params_;
  }
  const ParamTable& params() const { return params_; }

  // Where the model computes. Moving keeps the weights, buffers and optimiser state; kCuda needs a
  // registered CUDA backend (FindBackend) with a device.
  Device device() const { return device_; }
  Status SetDevice(Device d);
  // Brings the host copies of parameters, buffers and Adam moments up to date (no-op on the CPU).
  Status SyncHost();
  Status PushParams();

  // Replaces every parameter and buffer; all-or-nothing. Missing, extra, misshaped or non-finite
  // tensors are a kStateDict / kInvalidValue error naming the tensor.
  Status LoadState(const std::vector<NamedTensor>& tensors);

  // The ProbSparse draws of one forward pass, in execution order (empty for attn 'full').
  const std::vector<SampleDraw>& sample_draws() const { return draws_; }
  // The deterministic inference indices of draw i ([Lq, U]).
  const std::vector<int32_t>& deterministic_samples(size_t i);

  // out [B, pred_len, c_out].
  Status Forward(const ForwardInput& in, const ForwardOptions& opts, float* out);

  // Forward (train mode unless opts.train is false), MSE loss against target [B, pred_len, c_out]
  // and the gradient of every trainable parameter into grads() (the parameter prefix of the float
  // arena, same offsets; frozen tables get zero). out (optional) receives the forecast.
  Status LossAndGrad(const ForwardInput& in, const float* target, const ForwardOptions& opts, double* loss, float* out);
  // On the host (a GPU model copies them back at the end of LossAndGrad).
  const std::vector<float>& grads() const { return grads_; }

  // One optimisation step: LossAndGrad, then Adam on every trainable parameter.
  Status TrainStep(const ForwardInput& in, const float* target, const ForwardOptions& opts, const AdamConfig& adam,
                   double* loss);
  int64_t adam_step() const { return adam_step_; }
  // Adam moments (empty until the first step) and the step count, for checkpoints.
  const std::vector<float>& adam_m() const { return adam_m_; }
  const std::vector<float>& adam_v() const { return adam_v_; }
  Status SetAdamState(int64_t step, const float* m, const float* v, size_t n);
  void ResetOptimizer();

  // Activation memory, the split-batch replicas' included.
  size_t workspace_bytes() const {
    size_t n = arena_.capacity_bytes();
    for (const std::unique_ptr<Model>& r : replicas_) n += r->arena_.capacity_bytes();
    return n;
  }
  // Packed weights and other copies the backend keeps (the replicas share this model's).
  size_t derived_weight_bytes() const {
    size_t n = ops_->DerivedWeightBytes();
    for (const std::unique_ptr<Model>& r : replicas_) n += r->ops_->DerivedWeightBytes();
    return n;
  }
  void set_batch_split(BatchSplit s) { batch_split_ = s; }
  void Reseed(uint64_t seed) { rng_.Seed(seed); }

 private:
  // Parameter views of each layer, bound once so the forward pass does no name look-ups.
  struct Linear {
    const float *w, *b;
  };
  struct NormW {
    const float *w, *b;
  };
  struct Attention {
    Linear q, k, v, o;
  };
  struct Embedding {
    std::string name;
    const float *conv_w, *conv_b, *pe;
    Linear time;                       // timeF
    std::vector<const float*> tables;  // fixed / learned, in TemporalTables() order
  };
  struct EncoderLayerW {
    std::string name;
    Attention attn;
    Linear ff1, ff2;
    NormW norm1, norm2;
  };
  struct DistilW {
    std::string name;
    const float *w, *b;
    NormW bn;
    float *running_mean, *running_var;
    int64_t* num_batches_tracked;
  };
  struct EncoderW {
    std::string name;
    std::vector<EncoderLayerW> layers;
    std::vector<DistilW> distil;
    NormW norm;
  };
  struct DecoderLayerW {
    std::string name;
    Attention self_attn, cross_attn;
    Linear ff1, ff2;
    NormW norm1, norm2, norm3;
  };

  explicit Model(const ModelConfig& c);
  // Points every layer view into the parameters on the model's device (param_base_).
  void Bind();
  struct Pass;
  Status CheckInputs(const ForwardInput& in, const ForwardOptions& opts) const;
  Status CheckForecast(const ForwardInput& in, const float* out) const;
  Status CheckMarkIndices(const std::string& layer, const float* marks, int64_t N, int64_t L) const;
  Status RunForward(Pass& p, const ForwardInput& in);
  // The forecast rows (the last pred_len decoder positions) of the last pass, [B, pred_len, c_out]:
  // into device memory (ForecastRows) or host memory (CopyForecast).
  void ForecastRows(int64_t B, float* out);
  void CopyForecast(int64_t B, float* out);
  Status ComputeLossAndGrad(const ForwardInput& in, const float* target, const ForwardOptions& opts, double* loss,
                            float* out);
  // One recorded pass, the loss and the backward pass over `in` (validated). d_scale multiplies the
  // loss gradient: a part's share of the whole batch's mean.
  Status PassLossAndGrad(const ForwardInput& in, const float* target, const ForwardOptions& opts, float d_scale,
                         double* loss, float* out);
  // One pass over `in` (validated) into out [B, pred_len, c_out].
  Status PassForward(const ForwardInput& in, const ForwardOptions& opts, float* out);
  // Batch splitting (model_split.cc): the number of parts for this call (1: no split), the split
  // forward pass and training step, and what they share.
  int64_t SplitParts(const ForwardInput& in, const ForwardOptions& opts) const;
  Status SplitForward(const ForwardInput& in, const ForwardOptions& opts, int64_t parts, float* out);
  Status SplitLossAndGrad(const ForwardInput& in, const float* target, const ForwardOptions& opts, int64_t parts,
                          double* loss, float* out);
  // Runs part(model, index, first sample, samples, options) for each part on the pool, part 0 on this
  // model and the others on replicas that start from this model's generator state; the first failure.
  // *ran is false when the pool was taken (another model's call) and nothing ran: the caller then
  // makes the unsplit pass, unless the mode is kAlways, where the parts run in turn here.
  using PartFn = std::function<Status(Model& m, int64_t part, int64_t first, int64_t count, const ForwardOptions& o)>;
  Status RunParts(const ForwardInput& in, const ForwardOptions& opts, int64_t parts, const PartFn& part, bool* ran);
  BatchSplit EffectiveSplitMode() const;  // batch_split_, or INFORMER_SPLIT_BATCH for kAuto
  // One pass (dropout as the options say) into an arena the caller has reset.
  Status RunPass(const ForwardOptions& opts, const ForwardInput& in);
  float* Embed(Pass& p, const Embedding& e, EmbeddingCache& cache, const float* x, const float* marks, int64_t L,
               int64_t C_in);
  // Lo: output rows per sample, the last Lo of the Lq queries (Lq except in the last decoder layer).
  float* AttentionLayer(Pass& p, const Attention& a, AttentionCache& cache, const float* xq, const float* xkv,
                        int64_t Lq, int64_t Lk, bool sparse, bool masked, bool mix, int64_t Lo, Status* st);
  float* FeedForward(Pass& p, const Linear& ff1, const Linear& ff2, FeedForwardCache& cache, const float* x,
                     int64_t rows);
  float* ApplyLayerNorm(const NormW& w, LayerNormCache& cache, const float* x, int64_t rows);
  float* EncoderLayer(Pass& p, const EncoderLayerW& w, EncoderLayerCache& cache, const float* x, int64_t L, Status* st);
  float* DistilLayer(Pass& p, const DistilW& w, DistilCache& cache, const float* x, int64_t L);
  float* RunEncoder(Pass& p, const EncoderW& e, EncoderCache& cache, const float* x, int64_t L, Status* st);
  float* DecoderLayer(Pass& p, const DecoderLayerW& w, DecoderLayerCache& cache, const float* x, const float* enc,
                      int64_t L, int64_t L_enc, Status* st);
  uint8_t* Dropout(Pass& p, float* x, int64_t n);
  const int32_t* NextSample(Pass& p, Status* st);
  void Emit(Pass& p, const std::string& name, const float* data, int64_t L, int64_t C);

  // Instance normalisation around the network (model_normalize.cc); no-ops for normalize 'none'.
  // Start of the forward: the inputs the network sees (normalised copies in the arena, or `in`).
  ForwardInput NormalizeInputs(const ForwardInput& in);
  // End of the forward: tape_.projection de-normalised in place (the raw one kept for the backward).
  void DenormalizeOutput();
  // Start of the backward: the gradient of the raw projection, given that of the de-normalised one.
  const float* DenormalizeBackward(const float* d_out);
  // Scratch for the gradients of the normalised inputs (zeroed), or nullptr when nothing needs them.
  float* NormalizedInputGrad(int64_t n);
  // End of the backward: the affine parameters' gradients from those of the normalised inputs.
  void NormalizeBackward(const float* d_enc_in, const float* d_dec_in);

  // Backward (model_backward.cc): d_out [B, tape_.L_dec_out, c_out] of the projection, grads into grads_.
  void Backward(const float* d_projection);
  float* Zeros(size_t n);
  float* G(const float* param);  // the gradient slot of a parameter view
  // d_x (optional) [B, L, C_in] += the gradient of the embedding's input.
  void EmbedBackward(const Embedding& e, const EmbeddingCache& c, const float* dy, float* d_x = nullptr);
  void AttentionBackward(const Attention& a, const AttentionCache& c, float* d_out, float* d_xq, float* d_xkv);
  void FeedForwardBackward(const Linear& ff1, const Linear& ff2, const FeedForwardCache& c, float* d_out, float* d_x);
  void NormBackward(const NormW& w, const LayerNormCache& c, const float* d_out, float* d_x);
  void EncoderBackward(const EncoderW& e, const EncoderCache& c, const float* d_out, float* d_x);
  void DistilBackward(const DistilW& w, const DistilCache& c, const float* d_out, float* d_x);

  void UseOps(std::unique_ptr<Ops> ops);
  // What the backend derived from the weights is stale (ops_->ParamsChanged; the split-batch replicas
  // share this model's packed weights).
  void WeightsChanged() { ops_->ParamsChanged(); }
  Status EnsureDeviceGrads();

  ModelConfig config_;
  ParamTable params_;
  Device device_ = Device::kCpu;
  std::unique_ptr<Ops> ops_;
  // Bases the bound views point into: the host arrays on the CPU, the device buffers on a GPU.
  float* param_base_ = nullptr;
  float* grad_base_ = nullptr;
  // Memory the model keeps on its device (parameters, gradients, Adam moments of a GPU model).
  DeviceBuffer device_params_, device_grads_, device_adam_m_, device_adam_v_;
  bool host_stale_ = false;  // the device copy changed since the last SyncHost
  std::vector<int32_t> sample_scratch_;
  Embedding enc_embedding_, dec_embedding_;
  std::vector<EncoderW> encoders_;  // one, or one per stacked encoder
  std::vector<DecoderLayerW> decoder_layers_;
  NormW decoder_norm_;
  Linear projection_;
  NormW revin_;  // revin.affine_weight / affine_bias (normalize 'revin'), else null
  Rng rng_;
  Arena arena_;
  Tape tape_;
  std::vector<float> grads_;
  std::vector<float> adam_m_, adam_v_;
  int64_t adam_step_ = 0;
  std::vector<SampleDraw> draws_;
  std::vector<std::vector<int32_t>> deterministic_;
  BatchSplit batch_split_ = BatchSplit::kAuto;
  // Parts 1.. of a split batch run on these replicas: their own arena, tape, generator and
  // gradients, this model's parameters (created on the first split step).
  std::vector<std::unique_ptr<Model>> replicas_;
};

// Reference initialisation (PyTorch defaults, Kaiming-normal token conv, sinusoid tables).
void InitParams(const ModelConfig& c, ParamTable* params, Rng* rng);

}  // namespace informer
