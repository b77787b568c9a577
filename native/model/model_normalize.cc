// Instance normalisation around the network (config normalize 'revin' or 'last'): the hooks at the
// start and end of the forward and backward passes.
//
// Each encoder window x_enc [B, seq_len, C] gives per-channel statistics (center, scale): RevIN's mean
// and std, or the last value and 1. The network sees x_enc normalised with them, and the decoder input
// with its label steps normalised with the SAME statistics (they are the encoder window's last steps)
// and its pred_len placeholder steps passed through unchanged (zeros stay zeros: "no change from the
// window's level"), as the Non-stationary Transformer builds its decoder input. RevIN's affine
// (revin.affine_weight / affine_bias [enc_in]) applies to both. The projection is mapped back with the
// inverse; output channel j uses input channel enc_in - c_out + j.
#include "model/model.h"

namespace informer {

namespace {
WindowStatsKind StatsKind(NormalizeKind k) {
  return k == NormalizeKind::kRevin ? WindowStatsKind::kMeanStd : WindowStatsKind::kLast;
}
}  // namespace

ForwardInput Model::NormalizeInputs(const ForwardInput& in) {
  const ModelConfig& c = config_;
  NormalizeCache& n = tape_.normalize;
  n = NormalizeCache{};
  if (c.normalize == NormalizeKind::kNone) return in;
  const int64_t B = in.batch, Le = c.seq_len, Ld = c.dec_len(), C = c.enc_in;
  n.x_enc = in.x_enc;
  n.x_dec = in.x_dec;
  n.center = arena_.Alloc(B * C);
  n.scale = arena_.Alloc(B * C);
  ops_->WindowStatsForward(StatsKind(c.normalize), B, Le, C, in.x_enc, n.center, n.scale);
  float* x_enc = arena_.Alloc(B * Le * C);
  float* x_dec = arena_.Alloc(B * Ld * C);
  ops_->InstanceNormForward(B, Le, Le, C, in.x_enc, n.center, n.scale, revin_.w, revin_.b, x_enc);
  ops_->InstanceNormForward(B, Ld, c.label_len, C, in.x_dec, n.center, n.scale, revin_.w, revin_.b, x_dec);
  ForwardInput out = in;
  out.x_enc = x_enc;
  out.x_dec = x_dec;
  return out;
}

void Model::DenormalizeOutput() {
  const ModelConfig& c = config_;
  NormalizeCache& n = tape_.normalize;
  if (c.normalize == NormalizeKind::kNone) return;
  const int64_t B = tape_.B, L = tape_.L_dec_out, count = B * L * c.c_out;
  n.raw = arena_.Alloc(count);
  ops_->Copy(n.raw, tape_.projection, count);
  ops_->InstanceDenormForward(B, L, c.c_out, c.enc_in, n.raw, n.center, n.scale, revin_.w, revin_.b, tape_.projection);
}

const float* Model::DenormalizeBackward(const float* d_out) {
  const ModelConfig& c = config_;
  // 'last' adds a constant: the gradient passes through unchanged.
  if (c.normalize != NormalizeKind::kRevin) return d_out;
  const NormalizeCache& n = tape_.normalize;
  const int64_t B = tape_.B, L = tape_.L_dec_out;
  float* d_raw = arena_.Alloc(B * L * c.c_out);
  ops_->InstanceDenormBackward(B, L, c.c_out, c.enc_in, n.raw, n.center, n.scale, revin_.w, revin_.b, d_out, d_raw,
                               G(revin_.w), G(revin_.b));
  return d_raw;
}

float* Model::NormalizedInputGrad(int64_t count) {
  return config_.normalize == NormalizeKind::kRevin ? Zeros(count) : nullptr;
}

void Model::NormalizeBackward(const float* d_enc_in, const float* d_dec_in) {
  const ModelConfig& c = config_;
  if (c.normalize != NormalizeKind::kRevin) return;
  const NormalizeCache& n = tape_.normalize;
  const int64_t B = tape_.B, C = c.enc_in;
  ops_->InstanceNormBackward(B, c.seq_len, c.seq_len, C, n.x_enc, n.center, n.scale, d_enc_in, G(revin_.w),
                             G(revin_.b));
  ops_->InstanceNormBackward(B, c.dec_len(), c.label_len, C, n.x_dec, n.center, n.scale, d_dec_in, G(revin_.w),
                             G(revin_.b));
}

}  // namespace informer
