#include "model/model.h"

#include <cmath>
#include <cstring>
#include <new>

namespace informer {

namespace {

std::string Str(int64_t v) { return std::to_string(v); }

// Mixes the model seed with the draw's position so every layer has its own fixed indices.
uint64_t DrawSeed(uint64_t seed, size_t draw) {
  uint64_t x = seed ^ (0x5851F42D4C957F2Dull * (draw + 1));
  return Rng::SplitMix(&x);
}

}  // namespace

Model::Model(const ModelConfig& c) : config_(c), params_(c), rng_(c.seed) {}
Model::~Model() = default;

Status Model::Create(const ModelConfig& config, std::unique_ptr<Model>* out) {
  INFORMER_RETURN_IF_ERROR(ValidateConfig(config));
  std::unique_ptr<Model> m;
  try {
    m.reset(new Model(config));
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "out of memory allocating the parameters");
  }
  InitParams(m->config_, &m->params_, &m->rng_);
  m->UseOps(MakeCpuOps(&m->arena_));
  m->param_base_ = m->params_.floats().data();
  m->Bind();
  *out = std::move(m);
  return Status::Ok();
}

void Model::Bind() {
  ops_->SetParams(param_base_, params_.float_count());
  ParamTable& P = params_;
  const ModelConfig& c = config_;
  // The host table's offsets, on the model's device (or, for a split batch's replica, in the model
  // it serves: the replica's own table holds no values).
  auto F = [&](const std::string& n) -> float* {
    const ParamInfo* e = P.Find(n);
    return e && e->kind != ParamKind::kIntBuffer ? param_base_ + e->offset : nullptr;
  };
  auto linear = [&](const std::string& n) { return Linear{F(n + ".weight"), F(n + ".bias")}; };
  auto norm = [&](const std::string& n) { return NormW{F(n + ".weight"), F(n + ".bias")}; };
  auto attention = [&](const std::string& n) {
    return Attention{linear(n + ".query_projection"), linear(n + ".key_projection"), linear(n + ".value_projection"),
                     linear(n + ".out_projection")};
  };
  auto embedding = [&](const std::string& n) {
    Embedding e;
    e.name = n;
    e.conv_w = F(n + ".value_embedding.tokenConv.weight");
    e.conv_b = F(n + ".value_embedding.tokenConv.bias");
    e.pe = F(n + ".position_embedding.pe");
    if (c.embed == EmbedKind::kTimeF) {
      e.time = linear(n + ".temporal_embedding.embed");
    } else {
      const std::string suffix = c.embed == EmbedKind::kFixed ? ".emb.weight" : ".weight";
      for (const TemporalTable& t : TemporalTables(c.minute_embed))
        e.tables.push_back(F(n + ".temporal_embedding." + t.name + suffix));
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
        e.distil.push_back({l, F(l + ".downConv.weight"), F(l + ".downConv.bias"), norm(l + ".norm"),
                            F(l + ".norm.running_mean"), F(l + ".norm.running_var"),
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
      draws_.push_back(
          {l + ".self_attention.inner_attention", c.dec_len(), ProbBudget(c.factor, c.dec_len()), c.dec_len()});
  }
  decoder_norm_ = norm("decoder.norm");
  projection_ = linear("projection");
  revin_ = NormW{F("revin.affine_weight"), F("revin.affine_bias")};
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
  host_stale_ = false;
  return PushParams();
}

}  // namespace informer
