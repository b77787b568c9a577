// The backward pass: walks tape_ in reverse. Parameter gradients accumulate (+=) into grads_;
// activation gradients live in the arena, zeroed where several paths add into them (residuals,
// the encoder output read by every cross-attention, self-attention's shared input).
#include <cmath>
#include <cstring>

#include "cpu/gemm.h"
#include "model/model.h"
#include "base/ops.h"

namespace informer {

float* Model::Zeros(size_t n) {
  float* p = arena_.Alloc(n);
  ops_->Zero(p, n);
  return p;
}

float* Model::G(const float* param) { return grad_base_ + (param - param_base_); }

void Model::NormBackward(const NormW& w, const LayerNormCache& c, const float* d_out, float* d_x) {
  ops_->LayerNormBackward(c.rows, config_.d_model, c.x, w.w, c.mean, c.rstd, d_out, d_x, G(w.w), G(w.b));
}

void Model::EmbedBackward(const Embedding& e, const EmbeddingCache& c, const float* dy, float* d_x) {
  const ModelConfig& cfg = config_;
  const int64_t N = tape_.B * c.L, D = cfg.d_model;
  const Arena::Mark scratch = arena_.mark();
  const float* d = dy;
  if (c.keep) {
    float* masked = arena_.Alloc(N * D);
    ops_->Copy(masked, dy, N * D);
    ops_->DropoutBackward(N * D, cfg.dropout, c.keep, masked);
    d = masked;
  }
  // The inputs are data: only the weights get gradients (and the input, when a normalisation with
  // parameters sits before it). pe and 'fixed' tables are constants.
  float* cols = arena_.Alloc(N * 3 * c.C_in);
  ops_->CircularIm2Col3(tape_.B, c.L, c.C_in, c.x, cols);
  float* d_cols = d_x ? arena_.Alloc(N * 3 * c.C_in) : nullptr;
  ops_->CircularConv3Backward(tape_.B, c.L, c.C_in, D, cols, e.conv_w, d, d_cols, d_x, G(e.conv_w), G(e.conv_b));
  if (cfg.embed == EmbedKind::kTimeF) {
    ops_->LinearBackward(N, cfg.n_mark, D, c.marks, e.time.w, d, nullptr, false, G(e.time.w), G(e.time.b));
  } else if (cfg.embed == EmbedKind::kLearned) {
    const std::vector<TemporalTable> tabs = TemporalTables(cfg.minute_embed);
    for (size_t i = 0; i < tabs.size(); ++i)
      ops_->TemporalLookupBackward(N, cfg.n_mark, c.marks, tabs[i].column, d, tabs[i].rows, D, G(e.tables[i]));
  }
  arena_.rewind(scratch);
}

// d_out is the gradient of r = xq + Dropout(o); d_xq and d_xkv are accumulated into (and may be
// the same buffer for self-attention). d_out is consumed (used as scratch).
void Model::AttentionBackward(const Attention& a, const AttentionCache& c, float* d_out, float* d_xq, float* d_xkv) {
  const ModelConfig& cfg = config_;
  const int64_t B = tape_.B, D = cfg.d_model, H = cfg.n_heads, d = cfg.head_dim();
  const int64_t nq = B * c.Lq * D, no = B * c.Lo * D;
  // d_out covers the last Lo query rows (all Lq but in the last decoder layer): skip = the rows before.
  const int64_t skip = (c.Lq - c.Lo) * D;
  if (skip == 0)
    ops_->Add(nq, d_out, d_xq);
  else
    ops_->Add2D(B, c.Lo * D, d_out, c.Lo * D, d_xq + skip, c.Lq * D);
  if (c.out_keep) ops_->DropoutBackward(no, cfg.dropout, c.out_keep, d_out);
  const Arena::Mark scratch = arena_.mark();
  float* d_ctx = skip ? Zeros(nq) : arena_.Alloc(nq);
  if (skip == 0 || B == 1) {
    ops_->LinearBackward(B * c.Lo, D, D, c.ctx_rows, a.o.w, d_out, d_ctx + skip, false, G(a.o.w), G(a.o.b));
  } else {
    float* d_rows = arena_.Alloc(no);
    ops_->LinearBackward(B * c.Lo, D, D, c.ctx_rows, a.o.w, d_out, d_rows, false, G(a.o.w), G(a.o.b));
    ops_->Add2D(B, c.Lo * D, d_rows, c.Lo * D, d_ctx + skip, c.Lq * D);
  }
  // Only heads h0.. were computed (model_forward.cc): the other heads' projection weights and biases
  // get zeros, written here like every other gradient.
  const int64_t h0 = c.h0, Hs = H - h0, w0 = h0 * d, Ds = D - w0;
  float* dq = Zeros(B * c.Lq * Ds);
  float* dk = Zeros(B * c.Lk * Ds);
  float* dv = Zeros(B * c.Lk * Ds);
  const HeadLayout out_layout = c.mix ? HeadLayout::HeadMajor(c.Lq, H, d) : HeadLayout::RowMajor(c.Lq, H, d);
  const float* d_ctx_heads = d_ctx + h0 * out_layout.head;
  const AttentionShape shape{B, Hs, c.Lq, c.Lk, d};
  const float scale = 1.f / std::sqrt(static_cast<float>(d));
  if (c.sparse)
    ops_->ProbAttentionBackward(shape, c.q, c.k, c.v, HeadLayout::RowMajor(c.Lq, Hs, d),
                                HeadLayout::RowMajor(c.Lk, Hs, d), d_ctx_heads, out_layout, c.masked, scale, c.u, c.top,
                                c.probs, dq, dk, dv);
  else
    ops_->FullAttentionBackward(shape, c.q, c.k, c.v, HeadLayout::RowMajor(c.Lq, Hs, d),
                                HeadLayout::RowMajor(c.Lk, Hs, d), d_ctx_heads, out_layout, scale,
                                c.attn_keep ? cfg.dropout : 0.f, c.probs, c.attn_keep, dq, dk, dv);
  auto project_back = [&](const Linear& l, int64_t rows, const float* x, const float* dy, float* dx) {
    float *dw = G(l.w), *db = l.b ? G(l.b) : nullptr;
    if (w0 > 0) {
      ops_->Zero(dw, w0 * D);
      if (db) ops_->Zero(db, w0);
    }
    ops_->LinearBackward(rows, D, Ds, x, l.w + w0 * D, dy, dx, true, dw + w0 * D, db ? db + w0 : nullptr);
  };
  project_back(a.q, B * c.Lq, c.xq, dq, d_xq);
  project_back(a.k, B * c.Lk, c.xkv, dk, d_xkv);
  project_back(a.v, B * c.Lk, c.xkv, dv, d_xkv);
  arena_.rewind(scratch);
}

// d_out is the gradient of x + Dropout(W2 Dropout(act(W1 x))); d_x is accumulated into.
void Model::FeedForwardBackward(const Linear& ff1, const Linear& ff2, const FeedForwardCache& c, float* d_out,
                                float* d_x) {
  const ModelConfig& cfg = config_;
  const int64_t rows = c.rows, D = cfg.d_model, F = cfg.d_ff;
  ops_->Add(rows * D, d_out, d_x);
  if (c.keep2) ops_->DropoutBackward(rows * D, cfg.dropout, c.keep2, d_out);
  const Arena::Mark scratch = arena_.mark();
  const Activation act = cfg.activation == FfnActivation::kGelu ? Activation::kGelu : Activation::kRelu;
  float* d_h = arena_.Alloc(rows * F);
  const float* h = c.hidden;
  if (!h) {
    // conv2's input, recomputed: Dropout(act(pre)). Its gradient then overwrites it: LinearBackward
    // reads x for dW before it writes dx.
    ops_->Copy(d_h, c.pre, rows * F);
    ops_->ActivationForward(act, rows * F, d_h);
    if (c.keep1) ops_->DropoutBackward(rows * F, cfg.dropout, c.keep1, d_h);  // same mask and scale as the forward
    h = d_h;
  }
  ops_->LinearBackward(rows, F, D, h, ff2.w, d_out, d_h, false, G(ff2.w), G(ff2.b));
  if (c.keep1) ops_->DropoutBackward(rows * F, cfg.dropout, c.keep1, d_h);
  ops_->ActivationBackward(act, rows * F, c.pre, d_h, d_h);
  ops_->LinearBackward(rows, D, F, c.x, ff1.w, d_h, d_x, true, G(ff1.w), G(ff1.b));
  arena_.rewind(scratch);
}

void Model::DistilBackward(const DistilW& w, const DistilCache& c, const float* d_out, float* d_x) {
  const int64_t B = tape_.B, D = config_.d_model, N = B * c.L;
  const Arena::Mark scratch = arena_.mark();
  float* d_elu = Zeros(N * D);
  ops_->MaxPool3s2Backward(B, c.L, D, c.argmax, d_out, d_elu);
  float* d_bn = Zeros(N * D);
  ops_->EluBackward(N * D, c.bn, d_elu, d_bn);
  float* d_conv = Zeros(N * D);
  ops_->BatchNormBackward(N, D, c.conv, w.bn.w, c.bn_mean, c.bn_rstd, tape_.train, d_bn, d_conv, G(w.bn.w), G(w.bn.b));
  float* cols = arena_.Alloc(N * 3 * D);
  ops_->CircularIm2Col3(B, c.L, D, c.x, cols);
  float* d_cols = arena_.Alloc(N * 3 * D);
  ops_->CircularConv3Backward(B, c.L, D, D, cols, w.w, d_conv, d_cols, d_x, G(w.w), G(w.b));
  arena_.rewind(scratch);
}

// d_out [B, L_out, D] of the encoder's final LayerNorm; d_x [B, L_in, D] is accumulated into.
void Model::EncoderBackward(const EncoderW& e, const EncoderCache& c, const float* d_out, float* d_x) {
  const int64_t B = tape_.B, D = config_.d_model;
  float* d = Zeros(B * c.L_out * D);
  NormBackward(e.norm, c.norm, d_out, d);
  for (size_t i = e.layers.size(); i-- > 0;) {
    const int64_t L = c.lengths[i], n = B * L * D;
    if (i < e.distil.size()) {
      float* d_pre = Zeros(n);
      DistilBackward(e.distil[i], c.distil[i], d, d_pre);
      d = d_pre;
    }
    const EncoderLayerW& w = e.layers[i];
    const EncoderLayerCache& lc = c.layers[i];
    float* d_in = i == 0 ? d_x : Zeros(n);
    // Two scratch buffers take turns along the layer's chain: norm2 -> FFN -> norm1 -> attention.
    const Arena::Mark scratch = arena_.mark();
    float* a = Zeros(n);
    float* b = Zeros(n);
    NormBackward(w.norm2, lc.norm2, d, a);
    FeedForwardBackward(w.ff1, w.ff2, lc.ffn, a, b);
    ops_->Zero(a, n);
    NormBackward(w.norm1, lc.norm1, b, a);
    AttentionBackward(w.attn, lc.attn, a, d_in, d_in);
    arena_.rewind(scratch);
    d = d_in;
  }
}

void Model::Backward(const float* d_projection) {
  const ModelConfig& cfg = config_;
  const Tape& t = tape_;
  const int64_t B = t.B, D = cfg.d_model, Ld = cfg.dec_len(), Le = cfg.seq_len, n_dec = B * Ld * D;
  const int64_t Lo = t.L_dec_out, c_out = cfg.c_out;  // rows per sample out of the last decoder layer
  d_projection = DenormalizeBackward(d_projection);
  float* d_h = arena_.Alloc(B * Lo * D);
  ops_->LinearBackward(B * Lo, D, c_out, t.decoder_norm.out, projection_.w, d_projection, d_h, false, G(projection_.w),
                       G(projection_.b));
  float* d_x = Zeros(B * Lo * D);
  NormBackward(decoder_norm_, t.decoder_norm, d_h, d_x);
  float* d_enc = Zeros(B * t.L_enc * D);
  for (size_t i = decoder_layers_.size(); i-- > 0;) {
    const DecoderLayerW& w = decoder_layers_[i];
    const DecoderLayerCache& c = t.decoder[i];
    const int64_t n_out = B * (i + 1 == decoder_layers_.size() ? Lo : Ld) * D;  // past the self-attention
    float* d_in = Zeros(n_dec);
    // Two scratch buffers take turns along the chain norm3 -> FFN -> norm2 -> cross -> norm1 -> self.
    const Arena::Mark scratch = arena_.mark();
    float* a = Zeros(n_out);
    float* b = Zeros(n_out);
    NormBackward(w.norm3, c.norm3, d_x, a);
    FeedForwardBackward(w.ff1, w.ff2, c.ffn, a, b);
    ops_->Zero(a, n_out);
    NormBackward(w.norm2, c.norm2, b, a);
    ops_->Zero(b, n_out);
    AttentionBackward(w.cross_attn, c.cross_attn, a, b, d_enc);
    ops_->Zero(a, n_out);
    NormBackward(w.norm1, c.norm1, b, a);
    AttentionBackward(w.self_attn, c.self_attn, a, d_in, d_in);
    arena_.rewind(scratch);
    d_x = d_in;
  }
  float* d_dec_in = NormalizedInputGrad(B * Ld * cfg.dec_in);
  EmbedBackward(dec_embedding_, t.dec_embedding, d_x, d_dec_in);

  float* d_enc_x = Zeros(B * Le * D);
  if (!cfg.stack) {
    EncoderBackward(encoders_[0], t.encoders[0], d_enc, d_enc_x);
  } else {
    int64_t t0 = 0;
    for (size_t i = 0; i < encoders_.size(); ++i) {
      const EncoderCache& c = t.encoders[i];
      const int64_t Li = c.L_in, Lo = c.L_out;
      float* d_part = arena_.Alloc(B * Lo * D);
      ops_->CopyRows(d_part, Lo * D, d_enc + t0 * D, t.L_enc * D, Lo * D, B);
      t0 += Lo;
      float* d_xi = Zeros(B * Li * D);
      EncoderBackward(encoders_[i], c, d_part, d_xi);
      ops_->Add2D(B, Li * D, d_xi, Li * D, d_enc_x + (Le - Li) * D, Le * D);
    }
  }
  float* d_enc_in = NormalizedInputGrad(B * Le * cfg.enc_in);
  EmbedBackward(enc_embedding_, t.enc_embedding, d_enc_x, d_enc_in);
  NormalizeBackward(d_enc_in, d_dec_in);
}

}  // namespace informer
