// The forward pass: every layer writes its output and what its backward pass needs into the
// activation arena and records the pointers in tape_. Kernels run through ops_, on the model's device.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>

#include "cpu/gemm.h"
#include "model/model.h"
#include "base/ops.h"
#include "cpu/embedding.h"

namespace informer {

struct Model::Pass {
  const ForwardOptions& opts;
  int64_t B;
  size_t draw = 0;  // next ProbSparse draw of this pass
  bool dropout = false;
  // Past its self-attention (which needs every row as keys) the last decoder layer computes only
  // the pred_len forecast rows: the label rows' outputs never reach the forecast or the loss. With
  // mix, its self-attention also computes only the heads those rows are read from.
  bool forecast_rows_only = false;
  // Where a mask over n elements of this pass starts in the whole batch's mask (a part of a split
  // batch starts after the samples of the parts before it).
  int64_t MaskFirst(int64_t n) const { return opts.batch_offset * (n / B); }
};

namespace {
std::string Str(int64_t v) { return std::to_string(v); }

// Feed-forward hidden layers up to this size (1 MiB) are kept for the backward pass rather than
// recomputed: for small models re-running the activation costs more time than the memory is worth.
constexpr int64_t kKeptHiddenMaxFloats = int64_t{1} << 18;
}  // namespace

void Model::Emit(Pass& p, const std::string& name, const float* data, int64_t L, int64_t C) {
  if (!p.opts.sink) return;
  if (device_ == Device::kCpu) return (*p.opts.sink)(name, data, {p.B, L, C});
  std::vector<float> host(static_cast<size_t>(p.B * L * C));
  ops_->Download(host.data(), data, host.size() * sizeof(float));
  (*p.opts.sink)(name, host.data(), {p.B, L, C});
}

uint8_t* Model::Dropout(Pass& p, float* x, int64_t n) {
  if (!p.dropout) return nullptr;
  uint8_t* keep = reinterpret_cast<uint8_t*>(arena_.Alloc((n + 3) / 4));
  ops_->DropoutForward(n, config_.dropout, &rng_, x, keep, p.MaskFirst(n));
  return keep;
}

const int32_t* Model::NextSample(Pass& p, Status* st) {
  const size_t i = p.draw++;
  if (i >= draws_.size()) {
    *st = Status(StatusCode::kInternal, "more ProbSparse draws than planned");
    return nullptr;
  }
  const SampleDraw& d = draws_[i];
  const size_t n = static_cast<size_t>(d.Lq * d.U);
  if (p.opts.sample_indices) return ops_->ToDevice((*p.opts.sample_indices)[i].data, n);  // validated in CheckInputs
  if (!p.opts.train && p.opts.sampling == Sampling::kDeterministic)
    return ops_->ToDevice(deterministic_samples(i).data(), n);
  // Drawn on the host from the model's generator (the same stream on every device); the attention
  // kernel consumes it before the next draw reuses the buffer.
  sample_scratch_.resize(n);
  for (int32_t& v : sample_scratch_) v = static_cast<int32_t>(rng_.UniformInt(static_cast<uint32_t>(d.Lk)));
  return ops_->ToDevice(sample_scratch_.data(), n);
}

float* Model::ApplyLayerNorm(const NormW& w, LayerNormCache& c, const float* x, int64_t rows) {
  const int64_t D = config_.d_model;
  c.x = x;
  c.rows = rows;
  c.mean = arena_.Alloc(rows);
  c.rstd = arena_.Alloc(rows);
  c.out = arena_.Alloc(rows * D);
  ops_->LayerNormForward(rows, D, x, w.w, w.b, c.out, c.mean, c.rstd);
  return c.out;
}

// Dropout(TokenEmbedding(x) + PositionalEmbedding + TemporalEmbedding(marks)).
float* Model::Embed(Pass& p, const Embedding& e, EmbeddingCache& c, const float* x, const float* marks, int64_t L,
                    int64_t C_in) {
  const ModelConfig& cfg = config_;
  const int64_t B = p.B, D = cfg.d_model, N = B * L;
  c.x = x;
  c.marks = marks;
  c.L = L;
  c.C_in = C_in;
  c.out = arena_.Alloc(N * D);
  const Arena::Mark scratch = arena_.mark();
  float* cols = arena_.Alloc(N * 3 * C_in);  // recomputed by the backward pass
  ops_->CircularConv3Forward(B, L, C_in, D, x, e.conv_w, e.conv_b, cols, c.out);
  arena_.rewind(scratch);
  ops_->Add2D(B, L * D, e.pe, 0, c.out, L * D);  // the positional table, broadcast over the batch
  if (cfg.embed == EmbedKind::kTimeF) {
    GemmEpilogue ep;
    ep.bias = e.time.b;
    ops_->Sgemm(false, true, N, D, cfg.n_mark, 1.f, marks, cfg.n_mark, e.time.w, cfg.n_mark, 1.f, c.out, D, ep);
  } else {
    // Mark indices were range-checked on the host (CheckInputs).
    const std::vector<TemporalTable> tabs = TemporalTables(cfg.minute_embed);
    for (size_t i = 0; i < tabs.size(); ++i)
      ops_->TemporalLookupAdd(N, cfg.n_mark, marks, tabs[i].column, e.tables[i], tabs[i].rows, D, c.out);
  }
  c.keep = Dropout(p, c.out, N * D);
  return c.out;
}

// Q/K/V projections, the inner attention and the output projection, with the residual added:
// returns xq + Dropout(out_projection(attention)).
float* Model::AttentionLayer(Pass& p, const Attention& a, AttentionCache& c, const float* xq, const float* xkv,
                             int64_t Lq, int64_t Lk, bool sparse, bool masked, bool mix, int64_t Lo, Status* st) {
  const ModelConfig& cfg = config_;
  const int64_t B = p.B, D = cfg.d_model, H = cfg.n_heads, d = cfg.head_dim();
  c.xq = xq;
  c.xkv = xkv;
  c.Lq = Lq;
  c.Lk = Lk;
  c.sparse = sparse;
  c.masked = masked;
  c.mix = mix;
  c.Lo = Lo;
  c.out = arena_.Alloc(B * Lo * D);
  // Without a backward pass to feed, the projections and context are temporaries.
  const Arena::Mark scratch = arena_.mark();
  // mix: the reference transposes the context to [B, H, L, d] and reads that memory as [B, L, D], so
  // the last Lo rows of that view lie in heads h0.. only, and the heads before h0 are not computed:
  // their projections are the weights' rows before h0 * d, each head's attention is independent of
  // the others', and their gradients are zero. Not with full attention's dropout, whose mask is drawn
  // over every head.
  const int64_t h0 = mix && Lo < Lq && (sparse || !p.dropout) ? (Lq - Lo) * H / Lq : 0;
  const int64_t Hs = H - h0, Ds = Hs * d, w0 = h0 * d;
  c.h0 = h0;
  c.q = arena_.Alloc(B * Lq * Ds);
  c.k = arena_.Alloc(B * Lk * Ds);
  c.v = arena_.Alloc(B * Lk * Ds);
  auto project = [&](const Linear& l, int64_t rows, const float* x, float* y) {
    ops_->LinearForward(rows, D, Ds, x, l.w + w0 * D, l.b ? l.b + w0 : nullptr, y, Activation::kNone, nullptr);
  };
  project(a.q, B * Lq, xq, c.q);
  project(a.k, B * Lk, xkv, c.k);
  project(a.v, B * Lk, xkv, c.v);
  c.ctx = arena_.Alloc(B * Lq * D);
  const HeadLayout out_layout = mix ? HeadLayout::HeadMajor(Lq, H, d) : HeadLayout::RowMajor(Lq, H, d);
  float* const ctx_heads = c.ctx + h0 * out_layout.head;
  const AttentionShape shape{B, Hs, Lq, Lk, d};
  const float scale = 1.f / std::sqrt(static_cast<float>(d));
  c.probs = nullptr;
  c.top = nullptr;
  c.attn_keep = nullptr;
  if (sparse) {
    const int32_t* sample = NextSample(p, st);
    if (!sample) return nullptr;
    const int64_t U = ProbBudget(cfg.factor, Lk);
    c.u = ProbBudget(cfg.factor, Lq);
    if (p.opts.record) {
      c.top = reinterpret_cast<int32_t*>(arena_.Alloc(B * Hs * c.u));
      c.probs = arena_.Alloc(B * Hs * c.u * Lk);
    }
    ops_->ProbAttentionForward(shape, c.q, c.k, c.v, HeadLayout::RowMajor(Lq, Hs, d), HeadLayout::RowMajor(Lk, Hs, d),
                               ctx_heads, out_layout, masked, scale, sample, U, c.u, c.top, c.probs);
  } else {
    if (p.opts.record || p.dropout) c.probs = arena_.Alloc(B * Hs * Lq * Lk);
    if (p.dropout) c.attn_keep = reinterpret_cast<uint8_t*>(arena_.Alloc((B * Hs * Lq * Lk + 3) / 4));
    ops_->FullAttentionForward(shape, c.q, c.k, c.v, HeadLayout::RowMajor(Lq, Hs, d), HeadLayout::RowMajor(Lk, Hs, d),
                               ctx_heads, out_layout, masked, scale, p.dropout ? cfg.dropout : 0.f, &rng_, c.probs,
                               c.attn_keep, p.MaskFirst(B * H * Lq * Lk));
  }
  // The output projection and residual of the last Lo query rows (all of them but in the last
  // decoder layer); with mix, rows of the head-major context read as [B, Lq, D].
  const float *ctx = c.ctx, *res = xq;
  if (Lo < Lq && B == 1) {
    ctx += (Lq - Lo) * D, res += (Lq - Lo) * D;
  } else if (Lo < Lq) {
    float* rows = arena_.Alloc(2 * B * Lo * D);
    ops_->CopyRows(rows, Lo * D, c.ctx + (Lq - Lo) * D, Lq * D, Lo * D, B);
    ops_->CopyRows(rows + B * Lo * D, Lo * D, xq + (Lq - Lo) * D, Lq * D, Lo * D, B);
    ctx = rows, res = rows + B * Lo * D;
  }
  c.ctx_rows = ctx;
  ops_->LinearForward(B * Lo, D, D, ctx, a.o.w, a.o.b, c.out, Activation::kNone, p.dropout ? nullptr : res);
  c.out_keep = Dropout(p, c.out, B * Lo * D);
  if (p.dropout) ops_->Add(B * Lo * D, res, c.out);
  if (!p.opts.record) arena_.rewind(scratch);
  return c.out;
}

// x + Dropout(conv2(Dropout(act(conv1(x))))) on [rows, D] (the kernel-1 convs are Linears).
float* Model::FeedForward(Pass& p, const Linear& ff1, const Linear& ff2, FeedForwardCache& c, const float* x,
                          int64_t rows) {
  const ModelConfig& cfg = config_;
  const int64_t D = cfg.d_model, F = cfg.d_ff;
  const Activation act = cfg.activation == FfnActivation::kGelu ? Activation::kGelu : Activation::kRelu;
  c.x = x;
  c.rows = rows;
  c.out = arena_.Alloc(rows * D);
  c.pre = nullptr;
  c.hidden = nullptr;
  c.keep1 = nullptr;
  if (p.opts.record) {
    // Keep the pre-activation and the dropout mask. The activated hidden layer (conv2's input) is
    // kept too when small; large ones are recomputed by the backward pass, which saves rows * d_ff
    // floats per layer where that matters.
    c.pre = arena_.Alloc(rows * F);
    ops_->LinearForward(rows, D, F, x, ff1.w, ff1.b, c.pre, Activation::kNone, nullptr);
    if (p.dropout) c.keep1 = reinterpret_cast<uint8_t*>(arena_.Alloc((rows * F + 3) / 4));
    if (rows * F <= kKeptHiddenMaxFloats) c.hidden = arena_.Alloc(rows * F);
  }
  const Arena::Mark scratch = arena_.mark();
  if (!p.opts.record && !p.dropout) {
    // Inference: the backend lays the hidden layer out (Ops::HiddenStride).
    float* hidden = arena_.Alloc(rows * ops_->HiddenStride(F));
    ops_->FeedForwardForward(rows, D, F, x, ff1.w, ff1.b, ff2.w, ff2.b, act, hidden, c.out, x);
  } else {
    float* h = c.hidden ? c.hidden : arena_.Alloc(rows * F);
    if (c.pre) {
      ops_->Copy(h, c.pre, rows * F);
      ops_->ActivationForward(act, rows * F, h);
    } else {
      ops_->LinearForward(rows, D, F, x, ff1.w, ff1.b, h, act, nullptr);
    }
    if (p.dropout) {
      uint8_t* keep = c.keep1 ? c.keep1 : reinterpret_cast<uint8_t*>(arena_.Alloc((rows * F + 3) / 4));
      ops_->DropoutForward(rows * F, cfg.dropout, &rng_, h, keep, p.MaskFirst(rows * F));
    }
    ops_->LinearForward(rows, F, D, h, ff2.w, ff2.b, c.out, Activation::kNone, p.dropout ? nullptr : x);
  }
  arena_.rewind(scratch);
  c.keep2 = Dropout(p, c.out, rows * D);
  if (p.dropout) ops_->Add(rows * D, x, c.out);
  return c.out;
}

float* Model::EncoderLayer(Pass& p, const EncoderLayerW& w, EncoderLayerCache& c, const float* x, int64_t L,
                           Status* st) {
  const int64_t rows = p.B * L;
  float* a = AttentionLayer(p, w.attn, c.attn, x, x, L, L, config_.attn == AttnKind::kProb, false, false, L, st);
  if (!a) return nullptr;
  float* n1 = ApplyLayerNorm(w.norm1, c.norm1, a, rows);
  float* y = FeedForward(p, w.ff1, w.ff2, c.ffn, n1, rows);
  float* out = ApplyLayerNorm(w.norm2, c.norm2, y, rows);
  Emit(p, w.name, out, L, config_.d_model);
  return out;
}

// Self-attention distilling: circular Conv1d(D, D, 3) -> BatchNorm1d -> ELU -> MaxPool1d(3, 2, 1).
// Kept for the backward pass: the conv output, BatchNorm statistics and output, and the pooling
// argmax; im2col and the ELU output are recomputed or not needed.
float* Model::DistilLayer(Pass& p, const DistilW& w, DistilCache& c, const float* x, int64_t L) {
  const int64_t B = p.B, D = config_.d_model, N = B * L;
  c.x = x;
  c.L = L;
  c.Lo = DistilledLength(static_cast<int>(L));
  c.out = arena_.Alloc(B * c.Lo * D);
  const Arena::Mark scratch = arena_.mark();
  c.conv = arena_.Alloc(N * D);
  c.bn_mean = arena_.Alloc(D);
  c.bn_rstd = arena_.Alloc(D);
  c.bn = arena_.Alloc(N * D);
  c.argmax = reinterpret_cast<int32_t*>(arena_.Alloc(B * c.Lo * D));
  const Arena::Mark kept = arena_.mark();
  float* cols = arena_.Alloc(N * 3 * D);
  ops_->CircularConv3Forward(B, L, D, D, x, w.w, w.b, cols, c.conv);
  ops_->BatchNormForward(N, D, c.conv, w.bn.w, w.bn.b, w.running_mean, w.running_var, w.num_batches_tracked,
                         p.opts.train, c.bn, c.bn_mean, c.bn_rstd);
  float* elu = cols;  // im2col is dead once the conv ran; reuse its space
  ops_->EluForward(N * D, c.bn, elu);
  ops_->MaxPool3s2Forward(B, L, D, elu, c.out, p.opts.record ? c.argmax : nullptr);  // argmax: backward only
  arena_.rewind(p.opts.record ? kept : scratch);
  Emit(p, w.name, c.out, c.Lo, D);
  return c.out;
}

float* Model::RunEncoder(Pass& p, const EncoderW& e, EncoderCache& c, const float* x, int64_t L, Status* st) {
  c.x = x;
  c.L_in = L;
  c.layers.resize(e.layers.size());
  c.distil.resize(e.distil.size());
  c.lengths.assign(e.layers.size(), 0);
  const float* h = x;
  for (size_t i = 0; i < e.layers.size(); ++i) {
    c.lengths[i] = L;
    float* y = EncoderLayer(p, e.layers[i], c.layers[i], h, L, st);
    if (!y) return nullptr;
    if (i < e.distil.size()) {
      y = DistilLayer(p, e.distil[i], c.distil[i], y, L);
      L = c.distil[i].Lo;
    }
    h = y;
  }
  c.L_out = L;
  return ApplyLayerNorm(e.norm, c.norm, h, p.B * L);
}

float* Model::DecoderLayer(Pass& p, const DecoderLayerW& w, DecoderLayerCache& c, const float* x, const float* enc,
                           int64_t L, int64_t L_enc, Status* st) {
  const ModelConfig& cfg = config_;
  // Rows per sample this layer outputs: the forecast rows only, for the last layer.
  const int64_t Lo = p.forecast_rows_only && &w == &decoder_layers_.back() ? cfg.pred_len : L, rows = p.B * Lo;
  float* a =
      AttentionLayer(p, w.self_attn, c.self_attn, x, x, L, L, cfg.attn == AttnKind::kProb, true, cfg.mix, Lo, st);
  if (!a) return nullptr;
  float* n1 = ApplyLayerNorm(w.norm1, c.norm1, a, rows);
  float* b = AttentionLayer(p, w.cross_attn, c.cross_attn, n1, enc, Lo, L_enc, false, false, false, Lo, st);
  if (!b) return nullptr;
  float* n2 = ApplyLayerNorm(w.norm2, c.norm2, b, rows);
  float* y = FeedForward(p, w.ff1, w.ff2, c.ffn, n2, rows);
  float* out = ApplyLayerNorm(w.norm3, c.norm3, y, rows);
  Emit(p, w.name, out, Lo, cfg.d_model);
  return out;
}

Status Model::RunForward(Pass& p, const ForwardInput& raw) {
  const ForwardInput in = NormalizeInputs(raw);
  const ModelConfig& c = config_;
  const int64_t B = in.batch, Le = c.seq_len, Ld = c.dec_len(), D = c.d_model;
  Tape& tape = tape_;
  tape.B = B;
  tape.train = p.opts.train;
  Status st;
  float* enc_x = Embed(p, enc_embedding_, tape.enc_embedding, in.x_enc, in.x_mark_enc, Le, c.enc_in);
  Emit(p, "enc_embedding", enc_x, Le, D);
  tape.encoders.resize(encoders_.size());
  if (!c.stack) {
    tape.enc_out = RunEncoder(p, encoders_[0], tape.encoders[0], enc_x, Le, &st);
    if (!tape.enc_out) return st;
    tape.L_enc = tape.encoders[0].L_out;
  } else {
    // EncoderStack: encoder i sees the last floor(L / 2^i) steps; outputs are concatenated in time.
    tape.L_enc = 0;
    std::vector<float*> outs(encoders_.size());
    for (size_t i = 0; i < encoders_.size(); ++i) {
      const int64_t Li = Le >> i;
      float* xi = arena_.Alloc(B * Li * D);
      ops_->CopyRows(xi, Li * D, enc_x + (Le - Li) * D, Le * D, Li * D, B);
      outs[i] = RunEncoder(p, encoders_[i], tape.encoders[i], xi, Li, &st);
      if (!outs[i]) return st;
      tape.L_enc += tape.encoders[i].L_out;
    }
    tape.enc_out = arena_.Alloc(B * tape.L_enc * D);
    int64_t t0 = 0;
    for (size_t i = 0; i < encoders_.size(); ++i) {
      const int64_t Lo = tape.encoders[i].L_out;
      ops_->CopyRows(tape.enc_out + t0 * D, tape.L_enc * D, outs[i], Lo * D, Lo * D, B);
      t0 += Lo;
    }
  }
  Emit(p, "encoder", tape.enc_out, tape.L_enc, D);

  float* h = Embed(p, dec_embedding_, tape.dec_embedding, in.x_dec, in.x_mark_dec, Ld, c.dec_in);
  Emit(p, "dec_embedding", h, Ld, D);
  tape.decoder.resize(decoder_layers_.size());
  for (size_t i = 0; i < decoder_layers_.size(); ++i) {
    h = DecoderLayer(p, decoder_layers_[i], tape.decoder[i], h, tape.enc_out, Ld, tape.L_enc, &st);
    if (!h) return st;
  }
  const int64_t Lo = p.forecast_rows_only ? c.pred_len : Ld;  // rows per sample out of the decoder
  tape.L_dec_out = Lo;
  h = ApplyLayerNorm(decoder_norm_, tape.decoder_norm, h, B * Lo);
  Emit(p, "decoder", h, Lo, D);
  tape.projection = arena_.Alloc(B * Lo * c.c_out);
  ops_->LinearForward(B * Lo, D, c.c_out, h, projection_.w, projection_.b, tape.projection, Activation::kNone, nullptr);
  Emit(p, "projection", tape.projection, Lo, c.c_out);
  DenormalizeOutput();
  return Status::Ok();
}

void Model::ForecastRows(int64_t B, float* out) {
  const ModelConfig& c = config_;
  const int64_t Lo = tape_.L_dec_out, n = c.pred_len * c.c_out;
  ops_->CopyRows(out, n, tape_.projection + (Lo - c.pred_len) * c.c_out, Lo * c.c_out, n, B);
}

void Model::CopyForecast(int64_t B, float* out) {
  const int64_t n = B * config_.pred_len * config_.c_out;
  if (device_ == Device::kCpu) return ForecastRows(B, out);
  float* rows = arena_.Alloc(n);
  ForecastRows(B, rows);
  ops_->Download(out, rows, n * sizeof(float));
}

Status Model::RunPass(const ForwardOptions& opts, const ForwardInput& host_in) {
  Pass p{opts, host_in.batch};
  p.dropout = opts.train && config_.dropout > 0.f;
  p.forecast_rows_only = !opts.sink;  // a sink is shown every row
  const ModelConfig& c = config_;
  const int64_t B = host_in.batch, Le = c.seq_len, Ld = c.dec_len();
  ForwardInput in = host_in;  // the same pointers on the CPU; device copies elsewhere
  in.x_enc = ops_->ToDevice(host_in.x_enc, B * Le * c.enc_in);
  in.x_mark_enc = ops_->ToDevice(host_in.x_mark_enc, B * Le * c.n_mark);
  in.x_dec = ops_->ToDevice(host_in.x_dec, B * Ld * c.dec_in);
  in.x_mark_dec = ops_->ToDevice(host_in.x_mark_dec, B * Ld * c.n_mark);
  INFORMER_RETURN_IF_ERROR(RunForward(p, in));
  if (opts.train && device_ != Device::kCpu) host_stale_ = true;  // BatchNorm running statistics moved
  return ops_->Check("the forward pass");
}

static Status CheckFinite(const char* name, const float* x, int64_t n, int64_t L, int64_t C) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      return InvalidValue(std::string(name) + " has a non-finite value (" + std::to_string(x[i]) + ") at batch " +
                          std::to_string(i / (L * C)) + ", step " + std::to_string((i / C) % L) + ", column " +
                          std::to_string(i % C));
  return Status::Ok();
}

// Integer-mark embeddings index their tables with truncated marks: every index must be in range.
Status Model::CheckMarkIndices(const std::string& layer, const float* marks, int64_t N, int64_t L) const {
  const int64_t n_mark = config_.n_mark;
  for (const TemporalTable& t : TemporalTables(config_.minute_embed)) {
    const int64_t r = FirstMarkOutOfRange(N, n_mark, marks, t.column, t.rows);
    if (r >= 0)
      return InvalidValue(layer + " time mark column " + Str(t.column) + " (" + t.name + ") at batch " + Str(r / L) +
                          ", step " + Str(r % L) + " is " + std::to_string(marks[r * n_mark + t.column]) +
                          ", outside [0, " + Str(t.rows) + ")");
  }
  return Status::Ok();
}

Status Model::CheckInputs(const ForwardInput& in, const ForwardOptions& opts) const {
  const ModelConfig& c = config_;
  const int64_t B = in.batch, Le = c.seq_len, Ld = c.dec_len();
  if (B < 1) return ShapeMismatch("batch size must be >= 1, got " + Str(B));
  if (!in.x_enc || !in.x_mark_enc || !in.x_dec || !in.x_mark_dec)
    return ShapeMismatch("forward needs x_enc, x_mark_enc, x_dec and x_mark_dec");
  INFORMER_RETURN_IF_ERROR(CheckFinite("x_enc", in.x_enc, B * Le * c.enc_in, Le, c.enc_in));
  INFORMER_RETURN_IF_ERROR(CheckFinite("x_mark_enc", in.x_mark_enc, B * Le * c.n_mark, Le, c.n_mark));
  INFORMER_RETURN_IF_ERROR(CheckFinite("x_dec", in.x_dec, B * Ld * c.dec_in, Ld, c.dec_in));
  INFORMER_RETURN_IF_ERROR(CheckFinite("x_mark_dec", in.x_mark_dec, B * Ld * c.n_mark, Ld, c.n_mark));
  if (c.embed != EmbedKind::kTimeF) {
    INFORMER_RETURN_IF_ERROR(CheckMarkIndices(enc_embedding_.name, in.x_mark_enc, B * Le, Le));
    INFORMER_RETURN_IF_ERROR(CheckMarkIndices(dec_embedding_.name, in.x_mark_dec, B * Ld, Ld));
  }
  if (opts.sample_indices) {
    const std::vector<IndexMatrix>& s = *opts.sample_indices;
    if (s.size() != draws_.size())
      return ShapeMismatch("sampleIndices has " + Str(static_cast<int64_t>(s.size())) + " matrices, this model draws " +
                           Str(static_cast<int64_t>(draws_.size())) + " per pass");
    for (size_t i = 0; i < s.size(); ++i) {
      const SampleDraw& d = draws_[i];
      if (s[i].rows != d.Lq || s[i].cols != d.U || !s[i].data)
        return ShapeMismatch("sampleIndices[" + Str(static_cast<int64_t>(i)) + "] (" + d.layer + ") must be [" +
                             Str(d.Lq) + ", " + Str(d.U) + "], got [" + Str(s[i].rows) + ", " + Str(s[i].cols) + "]");
      for (int64_t j = 0; j < d.Lq * d.U; ++j)
        if (s[i].data[j] < 0 || s[i].data[j] >= d.Lk)
          return InvalidValue("sampleIndices[" + Str(static_cast<int64_t>(i)) + "] has index " + Str(s[i].data[j]) +
                              " at flat position " + Str(j) + ", outside [0, " + Str(d.Lk) + ")");
    }
  }
  return Status::Ok();
}

// The largest |x[i]|, formatted like 3.4e+38.
static std::string MaxAbs(const float* x, int64_t n) {
  float m = 0.f;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", static_cast<double>(m));
  return buf;
}

// Finite inputs near the float range (|x| ~ 1e38) overflow inside the network and the forecast
// comes out NaN or Inf: report that, naming the inputs' magnitudes, rather than return it.
Status Model::CheckForecast(const ForwardInput& in, const float* out) const {
  const ModelConfig& c = config_;
  const int64_t n = in.batch * c.pred_len * c.c_out;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isfinite(out[i])) continue;
    const int64_t b = i / (c.pred_len * c.c_out);
    const int64_t Le = c.seq_len, Ld = c.dec_len();
    return InvalidValue("the forecast of batch " + Str(b) + " is not finite (" + (std::isnan(out[i]) ? "NaN" : "Inf") +
                        "): the inputs are outside the range the model can compute with (largest |value|: x_enc " +
                        MaxAbs(in.x_enc + b * Le * c.enc_in, Le * c.enc_in) + ", x_dec " +
                        MaxAbs(in.x_dec + b * Ld * c.dec_in, Ld * c.dec_in) +
                        "); scale the data (e.g. with the dataset's StandardScaler)");
  }
  return Status::Ok();
}

Status Model::Forward(const ForwardInput& in, const ForwardOptions& opts, float* out) {
  if (!out) return ShapeMismatch("forward needs an output buffer");
  INFORMER_RETURN_IF_ERROR(CheckInputs(in, opts));
  const int64_t parts = SplitParts(in, opts);
  INFORMER_RETURN_IF_ERROR(parts > 1 ? SplitForward(in, opts, parts, out) : PassForward(in, opts, out));
  return CheckForecast(in, out);
}

Status Model::PassForward(const ForwardInput& in, const ForwardOptions& opts, float* out) {
  try {
    arena_.Reset();
    INFORMER_RETURN_IF_ERROR(RunPass(opts, in));
    CopyForecast(in.batch, out);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "out of memory in the forward pass (batch " + Str(in.batch) + ")");
  }
  return Status::Ok();
}

}  // namespace informer
