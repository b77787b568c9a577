#include "core/config.h"

#include <cmath>

namespace informer {

int ProbBudget(int factor, int L) {
  if (L <= 0) return 0;
  const int u = factor * static_cast<int>(std::ceil(std::log(static_cast<double>(L))));
  return u < L ? u : L;
}

static bool Positive(int v) { return v >= 1; }

Status ValidateConfig(const ModelConfig& c) {
  struct Field { const char* name; int value; };
  const Field positive[] = {{"seq_len", c.seq_len},   {"pred_len", c.pred_len}, {"enc_in", c.enc_in},
                            {"dec_in", c.dec_in},     {"c_out", c.c_out},       {"d_model", c.d_model},
                            {"n_heads", c.n_heads},   {"d_ff", c.d_ff},         {"factor", c.factor},
                            {"d_layers", c.d_layers}, {"n_mark", c.n_mark}};
  for (const Field& f : positive)
    if (!Positive(f.value)) return InvalidConfig(std::string(f.name) + " must be >= 1, got " + std::to_string(f.value));
  if (c.label_len < 0 || c.label_len > c.seq_len)
    return InvalidConfig("label_len must be in [0, seq_len], got " + std::to_string(c.label_len));
  if (!c.stack && c.e_layers < 1) return InvalidConfig("e_layers must be >= 1, got " + std::to_string(c.e_layers));
  if (c.stack) {
    if (c.s_layers.empty()) return InvalidConfig("s_layers must not be empty for informerstack");
    for (size_t i = 0; i < c.s_layers.size(); ++i)
      if (c.s_layers[i] < 1) return InvalidConfig("s_layers[" + std::to_string(i) + "] must be >= 1");
    if ((c.seq_len >> (c.s_layers.size() - 1)) < 1)
      return InvalidConfig("seq_len " + std::to_string(c.seq_len) + " is too short for " +
                           std::to_string(c.s_layers.size()) + " stacked encoders");
  }
  if (c.d_model % c.n_heads != 0)
    return InvalidConfig("d_model " + std::to_string(c.d_model) + " is not divisible by n_heads " +
                         std::to_string(c.n_heads));
  if (c.d_model % 2 != 0) return InvalidConfig("d_model must be even (sinusoid position table)");
  if (c.seq_len > kMaxPositions || c.dec_len() > kMaxPositions)
    return InvalidConfig("sequence lengths must be at most 5000 (position table size)");
  if (c.padding != 0 && c.padding != 1) return InvalidConfig("padding must be 0 or 1");
  if (!(c.dropout >= 0.f && c.dropout < 1.f)) return InvalidConfig("dropout must be in [0, 1)");
  if (c.normalize != NormalizeKind::kNone) {
    if (c.dec_in != c.enc_in)
      return InvalidConfig("normalize needs dec_in = enc_in (the decoder input is normalised with the encoder "
                           "window's statistics)");
    if (c.c_out > c.enc_in)
      return InvalidConfig("normalize needs c_out <= enc_in (each output channel is de-normalised with an input "
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
