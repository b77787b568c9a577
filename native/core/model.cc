#include "core/model.h"

#include <cmath>
#include <cstring>
#include <new>

#include "core/gemm.h"
#include "core/thread_pool.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/pointwise.h"

namespace informer {

struct Model::Pass {
  const ForwardOptions& opts;
  int64_t B;
  size_t draw = 0;  // next ProbSparse draw of this pass
};

namespace {

std::string Str(int64_t v) { return std::to_string(v); }

// Mixes the model seed with the draw's position so every layer has its own fixed indices.
uint64_t DrawSeed(uint64_t seed, size_t draw) {
  uint64_t x = seed ^ (0x5851F42D4C957F2Dull * (draw + 1));
  return Rng::SplitMix(&x);
}

void LinearForward(int64_t rows, int64_t in, int64_t out_features, const float* x, const float* w, const float* b, float* y,
            Activation act = Activation::kNone, const float* residual = nullptr) {
  GemmEpilogue ep;
  ep.bias = b;
  ep.act = act;
  ep.residual = residual;
  ep.ldr = out_features;
  sgemm(false, true, rows, out_features, in, 1.f, x, in, w, in, 0.f, y, out_features, ep, &ThreadPool::global());
}

}  // namespace

Model::Model(const ModelConfig& c) : config_(c), params_(c), rng_(c.seed) {}

Status Model::Create(const ModelConfig& config, std::unique_ptr<Model>* out) {
  INFORMER_RETURN_IF_ERROR(ValidateConfig(config));
  std::unique_ptr<Model> m;
  try {
    m.reset(new Model(config));
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "out of memory allocating the parameters");
  }
  InitParams(m->config_, &m->params_, &m->rng_);
  m->Bind();
  *out = std::move(m);
  return Status::Ok();
}

void Model::Bind() {
  ParamTable& P = params_;
  const ModelConfig& c = config_;
  auto linear = [&](const std::string& n) { return Linear{P.F(n + ".weight"), P.F(n + ".bias")}; };
  auto norm = [&](const std::string& n) { return Norm{P.F(n + ".weight"), P.F(n + ".bias")}; };
  auto attention = [&](const std::string& n) {
    return Attention{linear(n + ".query_projection"), linear(n + ".key_projection"), linear(n + ".value_projection"),
                     linear(n + ".out_projection")};
  };
  auto embedding = [&](const std::string& n) {
    Embedding e;
    e.name = n;
    e.conv_w = P.F(n + ".value_embedding.tokenConv.weight");
    e.conv_b = P.F(n + ".value_embedding.tokenConv.bias");
    e.pe = P.F(n + ".position_embedding.pe");
    if (c.embed == EmbedKind::kTimeF) {
      e.time = linear(n + ".temporal_embedding.embed");
    } else {
      const std::string suffix = c.embed == EmbedKind::kFixed ? ".emb.weight" : ".weight";
      for (const TemporalTable& t : TemporalTables(c.minute_embed))
        e.tables.push_back(P.F(n + ".temporal_embedding." + t.name + suffix));
    }
    return e;
  };
  auto encoder = [&](const std::string& n, int layers) {
    EncoderW e;
    e.name = n;
    for (int i = 0; i < layers; ++i) {
      const std::string l = n + ".attn_layers." + Str(i);
      e.layers.push_back({l, attention(l + ".attention"), linear(l + ".conv1"), linear(l + ".conv2"),
                          norm(l + ".norm1"), norm(l + ".norm2")});
    }
    if (c.distil)
      for (int i = 0; i + 1 < layers; ++i) {
        const std::string l = n + ".conv_layers." + Str(i);
        e.distil.push_back({l, P.F(l + ".downConv.weight"), P.F(l + ".downConv.bias"), norm(l + ".norm"),
                            P.F(l + ".norm.running_mean"), P.F(l + ".norm.running_var"),
                            P.I(l + ".norm.num_batches_tracked")});
      }
    e.norm = norm(n + ".norm");
    return e;
  };

  enc_embedding_ = embedding("enc_embedding");
  dec_embedding_ = embedding("dec_embedding");
  encoders_.clear();
  draws_.clear();
  auto add_encoder_draws = [&](const EncoderW& e, int64_t L) {
    for (size_t i = 0; i < e.layers.size(); ++i) {
      if (c.attn == AttnKind::kProb)
        draws_.push_back({e.layers[i].name + ".attention.inner_attention", L, ProbBudget(c.factor, L), L});
      if (c.distil && i + 1 < e.layers.size()) L = DistilledLength(L);
    }
  };
  if (c.stack) {
    for (size_t i = 0; i < c.s_layers.size(); ++i) {
      encoders_.push_back(encoder("encoder.encoders." + Str(i), c.s_layers[i]));
      add_encoder_draws(encoders_.back(), c.seq_len >> i);
    }
  } else {
    encoders_.push_back(encoder("encoder", c.e_layers));
    add_encoder_draws(encoders_.back(), c.seq_len);
  }
  decoder_layers_.clear();
  for (int i = 0; i < c.d_layers; ++i) {
    const std::string l = "decoder.layers." + Str(i);
    decoder_layers_.push_back({l, attention(l + ".self_attention"), attention(l + ".cross_attention"),
                               linear(l + ".conv1"), linear(l + ".conv2"), norm(l + ".norm1"), norm(l + ".norm2"),
                               norm(l + ".norm3")});
    if (c.attn == AttnKind::kProb)
      draws_.push_back({l + ".self_attention.inner_attention", c.dec_len(), ProbBudget(c.factor, c.dec_len()),
                        c.dec_len()});
  }
  decoder_norm_ = norm("decoder.norm");
  projection_ = linear("projection");
  deterministic_.assign(draws_.size(), {});
}

const std::vector<int32_t>& Model::deterministic_samples(size_t i) {
  std::vector<int32_t>& s = deterministic_[i];
  if (s.empty()) {
    const SampleDraw& d = draws_[i];
    Rng r(DrawSeed(config_.seed, i));
    s.resize(d.Lq * d.U);
    for (int32_t& v : s) v = static_cast<int32_t>(r.UniformInt(static_cast<uint32_t>(d.Lk)));
  }
  return s;
}

Status Model::LoadState(const std::vector<NamedTensor>& tensors) {
  std::vector<const NamedTensor*> by_entry(params_.entries().size(), nullptr);
  for (const NamedTensor& t : tensors) {
    const ParamInfo* p = params_.Find(t.name);
    if (!p) return StateDictError("unexpected tensor '" + t.name + "': this configuration has no such parameter");
    const size_t idx = static_cast<size_t>(p - params_.entries().data());
    if (by_entry[idx]) return StateDictError("tensor '" + t.name + "' given twice");
    if (t.shape != p->shape) {
      auto fmt = [](const std::vector<int64_t>& s) {
        std::string r = "[";
        for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
        return r + "]";
      };
      return StateDictError("tensor '" + t.name + "' has shape " + fmt(t.shape) + ", expected " + fmt(p->shape));
    }
    const bool want_int = p->kind == ParamKind::kIntBuffer;
    if (t.is_int64 != want_int)
      return StateDictError("tensor '" + t.name + "' must be " + (want_int ? "int64" : "float32"));
    if (!t.data && p->numel) return StateDictError("tensor '" + t.name + "' has no data");
    if (!want_int) {
      const float* f = static_cast<const float*>(t.data);
      for (size_t i = 0; i < p->numel; ++i)
        if (!std::isfinite(f[i]))
          return InvalidValue("tensor '" + t.name + "' has a non-finite value at flat index " + std::to_string(i));
    }
    by_entry[idx] = &t;
  }
  for (size_t i = 0; i < by_entry.size(); ++i)
    if (!by_entry[i]) return StateDictError("missing tensor '" + params_.entries()[i].name + "'");
  for (size_t i = 0; i < by_entry.size(); ++i) {
    const ParamInfo& p = params_.entries()[i];
    if (p.kind == ParamKind::kIntBuffer)
      std::memcpy(params_.ints().data() + p.offset, by_entry[i]->data, p.numel * sizeof(int64_t));
    else
      std::memcpy(params_.floats().data() + p.offset, by_entry[i]->data, p.numel * sizeof(float));
  }
  return Status::Ok();
}

void Model::Emit(Pass& p, const std::string& name, const float* data, int64_t L, int64_t C) {
  if (p.opts.sink) (*p.opts.sink)(name, data, {p.B, L, C});
}

void Model::Dropout(Pass& p, float* x, int64_t n) {
  if (p.opts.train && config_.dropout > 0.f) DropoutForward(n, config_.dropout, &rng_, x, nullptr);
}

const int32_t* Model::NextSample(Pass& p, Status* st) {
  const size_t i = p.draw++;
  if (i >= draws_.size()) {
    *st = Status(StatusCode::kInternal, "more ProbSparse draws than planned");
    return nullptr;
  }
  const SampleDraw& d = draws_[i];
  if (p.opts.sample_indices) return (*p.opts.sample_indices)[i].data;  // validated in Forward
  if (!p.opts.train && p.opts.sampling == Sampling::kDeterministic) return deterministic_samples(i).data();
  int32_t* s = reinterpret_cast<int32_t*>(arena_.Alloc(d.Lq * d.U));
  for (int64_t j = 0; j < d.Lq * d.U; ++j) s[j] = static_cast<int32_t>(rng_.UniformInt(static_cast<uint32_t>(d.Lk)));
  return s;
}

float* Model::Embed(Pass& p, const Embedding& e, const float* x, const float* marks, int64_t L, int64_t C_in,
                    Status* st) {
  const ModelConfig& c = config_;
  const int64_t B = p.B, D = c.d_model, N = B * L;
  float* out = arena_.Alloc(N * D);
  float* cols = arena_.Alloc(N * 3 * C_in);
  CircularConv3Forward(B, L, C_in, D, x, e.conv_w, e.conv_b, cols, out);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      float* o = out + (b * L + t) * D;
      const float* pe = e.pe + t * D;
      for (int64_t j = 0; j < D; ++j) o[j] += pe[j];
    }
  if (c.embed == EmbedKind::kTimeF) {
    GemmEpilogue ep;
    ep.bias = e.time.b;
    sgemm(false, true, N, D, c.n_mark, 1.f, marks, c.n_mark, e.time.w, c.n_mark, 1.f, out, D, ep,
          &ThreadPool::global());
  } else {
    const std::vector<TemporalTable> tabs = TemporalTables(c.minute_embed);
    for (size_t i = 0; i < tabs.size(); ++i) {
      const int64_t bad = TemporalLookupAdd(N, c.n_mark, marks, tabs[i].column, e.tables[i], tabs[i].rows, D, out);
      if (bad >= 0) {
        *st = InvalidValue(e.name + " time mark column " + Str(tabs[i].column) + " (" + tabs[i].name +
                           ") at batch " + Str(bad / L) + ", step " + Str(bad % L) + " is " +
                           std::to_string(marks[bad * c.n_mark + tabs[i].column]) + ", outside [0, " +
                           Str(tabs[i].rows) + ")");
        return nullptr;
      }
    }
  }
  Dropout(p, out, N * D);
  return out;
}

// Q/K/V projections, the inner attention and the output projection, with the residual added:
// returns xq + Dropout(out_projection(attention)).
float* Model::AttentionLayer(Pass& p, const Attention& a, const float* xq, const float* xkv, int64_t Lq, int64_t Lk,
                             bool sparse, bool masked, bool mix, Status* st) {
  const ModelConfig& c = config_;
  const int64_t B = p.B, D = c.d_model, H = c.n_heads, d = c.head_dim();
  float* q = arena_.Alloc(B * Lq * D);
  float* k = arena_.Alloc(B * Lk * D);
  float* v = arena_.Alloc(B * Lk * D);
  LinearForward(B * Lq, D, D, xq, a.q.w, a.q.b, q);
  LinearForward(B * Lk, D, D, xkv, a.k.w, a.k.b, k);
  LinearForward(B * Lk, D, D, xkv, a.v.w, a.v.b, v);
  float* ctx = arena_.Alloc(B * Lq * D);
  // mix: the reference transposes the context to [B, H, L, d] and reads that memory as [B, L, D].
  const HeadLayout out_layout = mix ? HeadLayout::HeadMajor(Lq, H, d) : HeadLayout::RowMajor(Lq, H, d);
  const AttentionShape shape{B, H, Lq, Lk, d};
  const float scale = 1.f / std::sqrt(static_cast<float>(d));
  if (sparse) {
    const int32_t* sample = NextSample(p, st);
    if (!sample) return nullptr;
    const int64_t U = ProbBudget(c.factor, Lk), u = ProbBudget(c.factor, Lq);
    ProbAttentionForward(shape, q, k, v, HeadLayout::RowMajor(Lq, H, d), HeadLayout::RowMajor(Lk, H, d), ctx,
                         out_layout, masked, scale, sample, U, u, nullptr, nullptr);
  } else {
    float* probs = p.opts.train && c.dropout > 0.f ? arena_.Alloc(B * H * Lq * Lk) : nullptr;
    FullAttentionForward(shape, q, k, v, HeadLayout::RowMajor(Lq, H, d), HeadLayout::RowMajor(Lk, H, d), ctx,
                         out_layout, masked, scale, c.dropout, &rng_, probs);
  }
  float* out = arena_.Alloc(B * Lq * D);
  const bool drop = p.opts.train && c.dropout > 0.f;
  LinearForward(B * Lq, D, D, ctx, a.o.w, a.o.b, out, Activation::kNone, drop ? nullptr : xq);
  if (drop) {
    Dropout(p, out, B * Lq * D);
    for (int64_t i = 0; i < B * Lq * D; ++i) out[i] += xq[i];
  }
  return out;
}

// x + Dropout(conv2(Dropout(act(conv1(x))))) on [rows, D] (the kernel-1 convs are Linears).
float* Model::FeedForward(Pass& p, const Linear& ff1, const Linear& ff2, const float* x, int64_t rows) {
  const ModelConfig& c = config_;
  const int64_t D = c.d_model, F = c.d_ff;
  const Activation act = c.activation == FfnActivation::kGelu ? Activation::kGelu : Activation::kRelu;
  float* h = arena_.Alloc(rows * F);
  LinearForward(rows, D, F, x, ff1.w, ff1.b, h, act);
  Dropout(p, h, rows * F);
  float* out = arena_.Alloc(rows * D);
  const bool drop = p.opts.train && c.dropout > 0.f;
  LinearForward(rows, F, D, h, ff2.w, ff2.b, out, Activation::kNone, drop ? nullptr : x);
  if (drop) {
    Dropout(p, out, rows * D);
    for (int64_t i = 0; i < rows * D; ++i) out[i] += x[i];
  }
  return out;
}

float* Model::EncoderLayer(Pass& p, const EncoderLayerW& w, const float* x, int64_t L, Status* st) {
  const int64_t rows = p.B * L, D = config_.d_model;
  float* a = AttentionLayer(p, w.attn, x, x, L, L, config_.attn == AttnKind::kProb, false, false, st);
  if (!a) return nullptr;
  LayerNormForward(rows, D, a, w.norm1.w, w.norm1.b, a, nullptr, nullptr);
  float* y = FeedForward(p, w.ff1, w.ff2, a, rows);
  LayerNormForward(rows, D, y, w.norm2.w, w.norm2.b, y, nullptr, nullptr);
  Emit(p, w.name, y, L, D);
  return y;
}

// Self-attention distilling: circular Conv1d(D, D, 3) -> BatchNorm1d -> ELU -> MaxPool1d(3, 2, 1).
float* Model::DistilLayer(Pass& p, const DistilW& w, const float* x, int64_t L) {
  const int64_t B = p.B, D = config_.d_model, N = B * L;
  float* cols = arena_.Alloc(N * 3 * D);
  float* y = arena_.Alloc(N * D);
  CircularConv3Forward(B, L, D, D, x, w.w, w.b, cols, y);
  BatchNormForward(N, D, y, w.bn.w, w.bn.b, w.running_mean, w.running_var, w.num_batches_tracked, p.opts.train, y,
                   nullptr, nullptr);
  EluForward(N * D, y, y);
  const int64_t Lo = DistilledLength(static_cast<int>(L));
  float* out = arena_.Alloc(B * Lo * D);
  MaxPool3s2Forward(B, L, D, y, out, nullptr);
  Emit(p, w.name, out, Lo, D);
  return out;
}

float* Model::RunEncoder(Pass& p, const EncoderW& e, const float* x, int64_t L, int64_t* L_out, Status* st) {
  const float* h = x;
  for (size_t i = 0; i < e.layers.size(); ++i) {
    float* y = EncoderLayer(p, e.layers[i], h, L, st);
    if (!y) return nullptr;
    if (i < e.distil.size()) {
      y = DistilLayer(p, e.distil[i], y, L);
      L = DistilledLength(static_cast<int>(L));
    }
    h = y;
  }
  float* out = arena_.Alloc(p.B * L * config_.d_model);
  LayerNormForward(p.B * L, config_.d_model, h, e.norm.w, e.norm.b, out, nullptr, nullptr);
  *L_out = L;
  return out;
}

float* Model::DecoderLayer(Pass& p, const DecoderLayerW& w, const float* x, const float* enc, int64_t L,
                           int64_t L_enc, Status* st) {
  const ModelConfig& c = config_;
  const int64_t rows = p.B * L, D = c.d_model;
  float* a = AttentionLayer(p, w.self_attn, x, x, L, L, c.attn == AttnKind::kProb, true, c.mix, st);
  if (!a) return nullptr;
  LayerNormForward(rows, D, a, w.norm1.w, w.norm1.b, a, nullptr, nullptr);
  float* b = AttentionLayer(p, w.cross_attn, a, enc, L, L_enc, false, false, false, st);
  if (!b) return nullptr;
  LayerNormForward(rows, D, b, w.norm2.w, w.norm2.b, b, nullptr, nullptr);
  float* y = FeedForward(p, w.ff1, w.ff2, b, rows);
  LayerNormForward(rows, D, y, w.norm3.w, w.norm3.b, y, nullptr, nullptr);
  Emit(p, w.name, y, L, D);
  return y;
}

static Status CheckFinite(const char* name, const float* x, int64_t n, int64_t L, int64_t C) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      return InvalidValue(std::string(name) + " has a non-finite value (" + std::to_string(x[i]) + ") at batch " +
                          std::to_string(i / (L * C)) + ", step " + std::to_string((i / C) % L) + ", column " +
                          std::to_string(i % C));
  return Status::Ok();
}

Status Model::Forward(const ForwardInput& in, const ForwardOptions& opts, float* out) {
  const ModelConfig& c = config_;
  const int64_t B = in.batch, Le = c.seq_len, Ld = c.dec_len(), D = c.d_model;
  if (B < 1) return ShapeMismatch("batch size must be >= 1, got " + Str(B));
  if (!in.x_enc || !in.x_mark_enc || !in.x_dec || !in.x_mark_dec || !out)
    return ShapeMismatch("forward needs x_enc, x_mark_enc, x_dec and x_mark_dec");
  INFORMER_RETURN_IF_ERROR(CheckFinite("x_enc", in.x_enc, B * Le * c.enc_in, Le, c.enc_in));
  INFORMER_RETURN_IF_ERROR(CheckFinite("x_mark_enc", in.x_mark_enc, B * Le * c.n_mark, Le, c.n_mark));
  INFORMER_RETURN_IF_ERROR(CheckFinite("x_dec", in.x_dec, B * Ld * c.dec_in, Ld, c.dec_in));
  INFORMER_RETURN_IF_ERROR(CheckFinite("x_mark_dec", in.x_mark_dec, B * Ld * c.n_mark, Ld, c.n_mark));
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

  try {
    arena_.Reset();
    Pass p{opts, B};
    Status st;
    // Encoder input.
    float* enc_x = Embed(p, enc_embedding_, in.x_enc, in.x_mark_enc, Le, c.enc_in, &st);
    if (!enc_x) return st;
    Emit(p, "enc_embedding", enc_x, Le, D);
    float* enc_out;
    int64_t L_enc = 0;
    if (!c.stack) {
      enc_out = RunEncoder(p, encoders_[0], enc_x, Le, &L_enc, &st);
      if (!enc_out) return st;
    } else {
      // EncoderStack: encoder i sees the last floor(L / 2^i) steps; outputs are concatenated in time.
      std::vector<std::pair<float*, int64_t>> parts;
      for (size_t i = 0; i < encoders_.size(); ++i) {
        const int64_t Li = Le >> i;
        float* xi = arena_.Alloc(B * Li * D);
        for (int64_t b = 0; b < B; ++b)
          std::memcpy(xi + b * Li * D, enc_x + (b * Le + Le - Li) * D, Li * D * sizeof(float));
        int64_t Lo = 0;
        float* yi = RunEncoder(p, encoders_[i], xi, Li, &Lo, &st);
        if (!yi) return st;
        parts.push_back({yi, Lo});
        L_enc += Lo;
      }
      enc_out = arena_.Alloc(B * L_enc * D);
      for (int64_t b = 0; b < B; ++b) {
        int64_t t0 = 0;
        for (const auto& part : parts) {
          std::memcpy(enc_out + (b * L_enc + t0) * D, part.first + b * part.second * D, part.second * D * sizeof(float));
          t0 += part.second;
        }
      }
    }
    Emit(p, "encoder", enc_out, L_enc, D);

    float* dec_x = Embed(p, dec_embedding_, in.x_dec, in.x_mark_dec, Ld, c.dec_in, &st);
    if (!dec_x) return st;
    Emit(p, "dec_embedding", dec_x, Ld, D);
    float* h = dec_x;
    for (const DecoderLayerW& w : decoder_layers_) {
      h = DecoderLayer(p, w, h, enc_out, Ld, L_enc, &st);
      if (!h) return st;
    }
    LayerNormForward(B * Ld, D, h, decoder_norm_.w, decoder_norm_.b, h, nullptr, nullptr);
    Emit(p, "decoder", h, Ld, D);
    float* proj = arena_.Alloc(B * Ld * c.c_out);
    LinearForward(B * Ld, D, c.c_out, h, projection_.w, projection_.b, proj);
    Emit(p, "projection", proj, Ld, c.c_out);
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(out + b * c.pred_len * c.c_out, proj + (b * Ld + c.label_len) * c.c_out,
                  c.pred_len * c.c_out * sizeof(float));
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "out of memory in the forward pass (batch " + Str(B) + ")");
  }
  return Status::Ok();
}

}  // namespace informer
