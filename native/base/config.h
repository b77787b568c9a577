// Model hyper-parameters as the native core sees them (the TypeScript layer resolves defaults,
// frequencies and names; see lib/config.ts toNativeConfig).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace informer {

enum class AttnKind : int { kProb = 0, kFull = 1 };
enum class EmbedKind : int { kTimeF = 0, kFixed = 1, kLearned = 2 };
enum class FfnActivation : int { kGelu = 0, kRelu = 1 };
// Instance normalisation of each input window, reversed on the output (model_normalize.cc).
enum class NormalizeKind : int { kNone = 0, kRevin = 1, kLast = 2 };

struct ModelConfig {
  int seq_len = 96, label_len = 48, pred_len = 24;
  int enc_in = 7, dec_in = 7, c_out = 7;
  int d_model = 512, n_heads = 8, e_layers = 2, d_layers = 1, d_ff = 2048;
  std::vector<int> s_layers = {3, 2, 1};  // encoder depths of the stack (model 'informerstack')
  int factor = 5;
  int padding = 0;  // value of the decoder input padding steps: 0 or 1 (the batch's x_dec carries it; kept for export)
  bool distil = true;
  float dropout = 0.05f;
  AttnKind attn = AttnKind::kProb;
  EmbedKind embed = EmbedKind::kTimeF;
  int n_mark = 4;             // time-feature columns of x_mark
  bool minute_embed = false;  // fixed/learned tables include the minute table (freq 't')
  FfnActivation activation = FfnActivation::kGelu;
  bool mix = true;
  bool stack = false;  // EncoderStack (InformerStack) instead of one Encoder
  uint64_t seed = 0;
  NormalizeKind normalize = NormalizeKind::kNone;

  int dec_len() const { return label_len + pred_len; }
  int head_dim() const { return d_model / n_heads; }
};

constexpr int kMaxPositions = 5000;  // rows of the sinusoid position table, as in the reference

// Bounds of an integer setting (reference snake_case name).
struct IntLimit {
  const char* name;
  int ModelConfig::*field;  // nullptr for the s_layers entries
  int lo, hi;
};
// The one table of integer bounds: ValidateConfig checks against it, and the TypeScript layer reads it
// through the addon (info().configLimits) for its own, friendlier checks in front of the core. The
// "s_layers" row bounds each entry; kMaxStackedEncoders bounds how many entries there are.
inline constexpr IntLimit kConfigLimits[] = {
    {"seq_len", &ModelConfig::seq_len, 1, kMaxPositions},
    {"label_len", &ModelConfig::label_len, 0, kMaxPositions},
    {"pred_len", &ModelConfig::pred_len, 1, kMaxPositions},
    {"enc_in", &ModelConfig::enc_in, 1, 1 << 20},
    {"dec_in", &ModelConfig::dec_in, 1, 1 << 20},
    {"c_out", &ModelConfig::c_out, 1, 1 << 20},
    {"d_model", &ModelConfig::d_model, 1, 1 << 20},
    {"n_heads", &ModelConfig::n_heads, 1, 1 << 20},
    {"e_layers", &ModelConfig::e_layers, 1, 1024},
    {"d_layers", &ModelConfig::d_layers, 1, 1024},
    {"d_ff", &ModelConfig::d_ff, 1, 1 << 20},
    {"factor", &ModelConfig::factor, 1, 1 << 16},
    {"padding", &ModelConfig::padding, 0, 1},
    {"n_mark", &ModelConfig::n_mark, 1, 64},
    {"s_layers", nullptr, 1, 1024},
};
inline constexpr int kMaxStackedEncoders = 64;

// Every bound of kConfigLimits, then the relations between settings (label_len <= seq_len, d_model
// divisible by n_heads, ...).
Status ValidateConfig(const ModelConfig& c);

// Length after one distilling ConvLayer: MaxPool1d(k=3, s=2, p=1) -> floor((L - 1) / 2) + 1.
inline int DistilledLength(int L) { return (L - 1) / 2 + 1; }

// ProbSparse budget factor * ceil(ln L), clipped to L (the reference computes it with numpy).
int ProbBudget(int factor, int L);

}  // namespace informer
