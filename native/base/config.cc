#include "base/config.h"

#include <cmath>
#include <string>

namespace informer {

int ProbBudget(int factor, int L) {
  if (L <= 0) return 0;
  const int u = factor * static_cast<int>(std::ceil(std::log(static_cast<double>(L))));
  return u < L ? u : L;
}

static Status CheckLimit(const IntLimit& l, int v, const std::string& what) {
  if (v < l.lo || v > l.hi)
    return InvalidConfig(what + " must be in [" + std::to_string(l.lo) + ", " + std::to_string(l.hi) + "], got " +
                         std::to_string(v));
  return Status::Ok();
}

Status ValidateConfig(const ModelConfig& c) {
  for (const IntLimit& l : kConfigLimits) {
    if (l.field == nullptr) {  // the s_layers entries
      if (c.s_layers.size() > static_cast<size_t>(kMaxStackedEncoders))
        return InvalidConfig("s_layers has " + std::to_string(c.s_layers.size()) + " entries, at most " +
                             std::to_string(kMaxStackedEncoders));
      for (size_t i = 0; i < c.s_layers.size(); ++i)
        INFORMER_RETURN_IF_ERROR(CheckLimit(l, c.s_layers[i], "s_layers[" + std::to_string(i) + "]"));
    } else if (l.field != &ModelConfig::e_layers || !c.stack) {  // e_layers is unused by informerstack
      INFORMER_RETURN_IF_ERROR(CheckLimit(l, c.*l.field, l.name));
    }
  }
  if (c.label_len > c.seq_len)
    return InvalidConfig("label_len must be in [0, seq_len], got " + std::to_string(c.label_len));
  if (c.stack) {
    if (c.s_layers.empty()) return InvalidConfig("s_layers must not be empty for informerstack");
    if ((c.seq_len >> (c.s_layers.size() - 1)) < 1)
      return InvalidConfig("seq_len " + std::to_string(c.seq_len) + " is too short for " +
                           std::to_string(c.s_layers.size()) + " stacked encoders");
  }
  if (c.d_model % c.n_heads != 0)
    return InvalidConfig("d_model " + std::to_string(c.d_model) + " is not divisible by n_heads " +
                         std::to_string(c.n_heads));
  if (c.d_model % 2 != 0) return InvalidConfig("d_model must be even (sinusoid position table)");
  if (c.dec_len() > kMaxPositions)
    return InvalidConfig("label_len + pred_len must be at most " + std::to_string(kMaxPositions) +
                         " (position table size)");
  if (!(c.dropout >= 0.f && c.dropout < 1.f)) return InvalidConfig("dropout must be in [0, 1)");
  if (c.normalize != NormalizeKind::kNone) {
    if (c.dec_in != c.enc_in)
      return InvalidConfig(
          "normalize needs dec_in = enc_in (the decoder input is normalised with the encoder "
          "window's statistics)");
    if (c.c_out > c.enc_in)
      return InvalidConfig(
          "normalize needs c_out <= enc_in (each output channel is de-normalised with an input "
          "channel's statistics)");
  }
  if (c.embed != EmbedKind::kTimeF) {
    const int need = c.minute_embed ? 5 : 4;
    if (c.n_mark != need)
      return InvalidConfig("fixed/learned temporal embeddings need " + std::to_string(need) + " mark columns, got " +
                           std::to_string(c.n_mark));
  }
  return Status::Ok();
}

}  // namespace informer
