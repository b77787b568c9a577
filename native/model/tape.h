// What the forward pass keeps for the backward pass, layer by layer (pointers into the activation
// arena; llm.c style: the forward writes, the backward reads). The vectors keep their capacity
// across steps, so a training step allocates nothing once warmed up.
#pragma once
#include <cstdint>
#include <vector>

namespace informer {

struct LayerNormCache {
  const float* x = nullptr;  // [rows, D] input
  float* mean = nullptr;     // [rows]
  float* rstd = nullptr;     // [rows]
  float* out = nullptr;      // [rows, D]
  int64_t rows = 0;
};

// One AttentionLayer: projections, inner attention and the residual output r = xq + Dropout(o).
struct AttentionCache {
  const float* xq = nullptr;                       // [B, Lq, D]
  const float* xkv = nullptr;                      // [B, Lk, D]
  float *q = nullptr, *k = nullptr, *v = nullptr;  // projections of heads h0.., [B, L, (H - h0) * d]
  float* ctx = nullptr;                            // inner attention output, row-major or head-major (mix)
  float* probs = nullptr;                          // full: [B, H - h0, Lq, Lk]; prob: [B, H - h0, u, Lk]
  uint8_t* attn_keep = nullptr;                    // full attention dropout mask (train, dropout > 0)
  int32_t* top = nullptr;                          // prob: selected queries [B, H - h0, u]
  uint8_t* out_keep = nullptr;                     // dropout mask of the output projection
  // The last Lo query rows get an output (Lo < Lq: the last decoder layer, model_forward.cc);
  // ctx_rows is the output projection's input, those rows of ctx read as [B, Lq, D].
  const float* ctx_rows = nullptr;  // [B, Lo, D]
  float* out = nullptr;             // r = xq + Dropout(o), [B, Lo, D]
  int64_t Lq = 0, Lk = 0, Lo = 0, u = 0;
  int64_t h0 = 0;  // heads before h0 hold none of the Lo rows (mix): not computed, zero gradients
  bool sparse = false, masked = false, mix = false;
};

// Position-wise feed-forward with the residual: out = x + Dropout(W2 Dropout(act(W1 x + b1)) + b2).
struct FeedForwardCache {
  const float* x = nullptr;  // [rows, D]
  float* pre = nullptr;      // [rows, F] before the activation
  float* hidden = nullptr;   // [rows, F] conv2's input Dropout(act(pre)) when kept; else recomputed from pre
  uint8_t *keep1 = nullptr, *keep2 = nullptr;
  float* out = nullptr;  // [rows, D]
  int64_t rows = 0;
};

struct EncoderLayerCache {
  AttentionCache attn;
  LayerNormCache norm1;
  FeedForwardCache ffn;
  LayerNormCache norm2;
};

// Distilling ConvLayer: conv -> BatchNorm -> ELU -> MaxPool.
struct DistilCache {
  const float* x = nullptr;   // [B, L, D] (im2col is recomputed from it)
  float* conv = nullptr;      // [B, L, D] conv output (BatchNorm input)
  float* bn_mean = nullptr;   // [D] statistics used (batch in train, running in eval)
  float* bn_rstd = nullptr;   // [D]
  float* bn = nullptr;        // [B, L, D] BatchNorm output (ELU input)
  int32_t* argmax = nullptr;  // [B, L', D]
  float* out = nullptr;       // [B, L', D]
  int64_t L = 0, Lo = 0;
};

struct EncoderCache {
  const float* x = nullptr;  // [B, L, D] input
  std::vector<EncoderLayerCache> layers;
  std::vector<DistilCache> distil;
  LayerNormCache norm;
  std::vector<int64_t> lengths;  // input length of each layer
  int64_t L_in = 0, L_out = 0;
};

struct EmbeddingCache {
  const float* x = nullptr;      // [B, L, C_in]
  const float* marks = nullptr;  // [B, L, n_mark]
  uint8_t* keep = nullptr;
  float* out = nullptr;  // [B, L, D]
  int64_t L = 0, C_in = 0;
};

struct DecoderLayerCache {
  AttentionCache self_attn;
  LayerNormCache norm1;
  AttentionCache cross_attn;
  LayerNormCache norm2;
  FeedForwardCache ffn;
  LayerNormCache norm3;
};

// Instance normalisation around the network (normalize 'revin' / 'last'; model_normalize.cc).
struct NormalizeCache {
  const float* x_enc = nullptr;  // the raw inputs [B, seq_len, enc_in] and [B, dec_len, dec_in]
  const float* x_dec = nullptr;
  float* center = nullptr;  // [B, enc_in] statistics of each encoder window
  float* scale = nullptr;   // [B, enc_in]
  float* raw = nullptr;     // [B, L_dec_out, c_out] the projection before de-normalisation
};

struct Tape {
  int64_t B = 0;
  NormalizeCache normalize;
  bool train = false;
  EmbeddingCache enc_embedding, dec_embedding;
  std::vector<EncoderCache> encoders;  // one, or one per stacked encoder
  float* enc_out = nullptr;            // [B, L_enc, D] (the stack's outputs concatenated in time)
  int64_t L_enc = 0;
  std::vector<DecoderLayerCache> decoder;
  int64_t L_dec_out = 0;  // rows per sample out of the last decoder layer: pred_len, or L_dec with a sink
  LayerNormCache decoder_norm;
  float* projection = nullptr;  // [B, L_dec_out, c_out] (de-normalised when the model normalises)
};

}  // namespace informer
