// The Informer model (REFERENCE.md): parameter table, seeded generator, activation arena and the
// forward pass as one native call. No N-API here; every failure is a Status.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/config.h"
#include "core/params.h"
#include "core/rng.h"
#include "core/status.h"

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
  Sampling sampling = Sampling::kDeterministic;  // eval mode only; train mode always draws fresh
  const std::vector<IndexMatrix>* sample_indices = nullptr;  // replaces every draw when given
  const ActivationSink* sink = nullptr;
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

  const ModelConfig& config() const { return config_; }
  ParamTable& params() { return params_; }
  const ParamTable& params() const { return params_; }

  // Replaces every parameter and buffer; all-or-nothing. Missing, extra, misshaped or non-finite
  // tensors are a kStateDict / kInvalidValue error naming the tensor.
  Status LoadState(const std::vector<NamedTensor>& tensors);

  // The ProbSparse draws of one forward pass, in execution order (empty for attn 'full').
  const std::vector<SampleDraw>& sample_draws() const { return draws_; }
  // The deterministic inference indices of draw i ([Lq, U]).
  const std::vector<int32_t>& deterministic_samples(size_t i);

  // out [B, pred_len, c_out].
  Status Forward(const ForwardInput& in, const ForwardOptions& opts, float* out);

  size_t workspace_bytes() const { return arena_.capacity_bytes(); }
  void Reseed(uint64_t seed) { rng_.Seed(seed); }

  // Parameter views of each layer, bound once so the forward pass does no name look-ups.
  struct Linear { const float *w, *b; };
  struct Norm { const float *w, *b; };
  struct Attention { Linear q, k, v, o; };
  struct Embedding {
    std::string name;
    const float *conv_w, *conv_b, *pe;
    Linear time;                        // timeF
    std::vector<const float*> tables;   // fixed / learned, in TemporalTables() order
  };
  struct EncoderLayerW { std::string name; Attention attn; Linear ff1, ff2; Norm norm1, norm2; };
  struct DistilW {
    std::string name;
    const float *w, *b;
    Norm bn;
    float *running_mean, *running_var;
    int64_t* num_batches_tracked;
  };
  struct EncoderW { std::string name; std::vector<EncoderLayerW> layers; std::vector<DistilW> distil; Norm norm; };
  struct DecoderLayerW { std::string name; Attention self_attn, cross_attn; Linear ff1, ff2; Norm norm1, norm2, norm3; };

  explicit Model(const ModelConfig& c);
  void Bind();
  struct Pass;
  float* Embed(Pass& p, const Embedding& e, const float* x, const float* marks, int64_t L, int64_t C_in,
               Status* st);
  float* AttentionLayer(Pass& p, const Attention& a, const float* xq, const float* xkv, int64_t Lq, int64_t Lk,
                        bool sparse, bool masked, bool mix, Status* st);
  float* FeedForward(Pass& p, const Linear& ff1, const Linear& ff2, const float* x, int64_t rows);
  float* EncoderLayer(Pass& p, const EncoderLayerW& w, const float* x, int64_t L, Status* st);
  float* DistilLayer(Pass& p, const DistilW& w, const float* x, int64_t L);
  float* RunEncoder(Pass& p, const EncoderW& e, const float* x, int64_t L, int64_t* L_out, Status* st);
  float* DecoderLayer(Pass& p, const DecoderLayerW& w, const float* x, const float* enc, int64_t L, int64_t L_enc,
                      Status* st);
  void Dropout(Pass& p, float* x, int64_t n);
  const int32_t* NextSample(Pass& p, Status* st);
  void Emit(Pass& p, const std::string& name, const float* data, int64_t L, int64_t C);

  ModelConfig config_;
  ParamTable params_;
  Embedding enc_embedding_, dec_embedding_;
  std::vector<EncoderW> encoders_;  // one, or one per stacked encoder
  std::vector<DecoderLayerW> decoder_layers_;
  Norm decoder_norm_;
  Linear projection_;
  Rng rng_;
  Arena arena_;
  std::vector<SampleDraw> draws_;
  std::vector<std::vector<int32_t>> deterministic_;
};

// Reference initialisation (PyTorch defaults, Kaiming-normal token conv, sinusoid tables).
void InitParams(const ModelConfig& c, ParamTable* params, Rng* rng);

}  // namespace informer
