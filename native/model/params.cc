#include "model/params.h"

namespace informer {

std::vector<TemporalTable> TemporalTables(bool minute_embed) {
  // Registration order in the reference: minute (freq 't' only), hour, weekday, day, month.
  // x_mark columns: 0 month, 1 day, 2 weekday, 3 hour, 4 minute // 15.
  std::vector<TemporalTable> t;
  if (minute_embed) t.push_back({"minute_embed", 4, 4});
  t.push_back({"hour_embed", 24, 3});
  t.push_back({"weekday_embed", 7, 2});
  t.push_back({"day_embed", 32, 1});
  t.push_back({"month_embed", 13, 0});
  return t;
}

void ParamTable::Add(const std::string& name, std::vector<int64_t> shape, ParamKind kind) {
  size_t n = 1;
  for (int64_t s : shape) n *= static_cast<size_t>(s);
  ParamInfo p{name, std::move(shape), kind, 0, n};
  if (kind == ParamKind::kIntBuffer) {
    p.offset = int_count_;
    int_count_ += n;
  } else {
    p.offset = float_count_;
    float_count_ += n;
  }
  index_[name] = entries_.size();
  entries_.push_back(std::move(p));
}

void ParamTable::AddLinear(const std::string& prefix, int out, int in) {
  Add(prefix + ".weight", {out, in}, ParamKind::kTrainable);
  Add(prefix + ".bias", {out}, ParamKind::kTrainable);
}

void ParamTable::AddConv1(const std::string& prefix, int out, int in) {
  Add(prefix + ".weight", {out, in, 1}, ParamKind::kTrainable);
  Add(prefix + ".bias", {out}, ParamKind::kTrainable);
}

void ParamTable::AddNorm(const std::string& prefix, int d) {
  Add(prefix + ".weight", {d}, ParamKind::kTrainable);
  Add(prefix + ".bias", {d}, ParamKind::kTrainable);
}

void ParamTable::AddBatchNorm(const std::string& prefix, int d) {
  AddNorm(prefix, d);
  Add(prefix + ".running_mean", {d}, ParamKind::kBuffer);
  Add(prefix + ".running_var", {d}, ParamKind::kBuffer);
  Add(prefix + ".num_batches_tracked", {}, ParamKind::kIntBuffer);
}

void ParamTable::AddEmbedding(const std::string& prefix, const ModelConfig& c, int c_in) {
  Add(prefix + ".value_embedding.tokenConv.weight", {c.d_model, c_in, 3}, ParamKind::kTrainable);
  Add(prefix + ".value_embedding.tokenConv.bias", {c.d_model}, ParamKind::kTrainable);
  Add(prefix + ".position_embedding.pe", {1, kMaxPositions, c.d_model}, ParamKind::kBuffer);
  const std::string t = prefix + ".temporal_embedding.";
  if (c.embed == EmbedKind::kTimeF) {
    AddLinear(t + "embed", c.d_model, c.n_mark);
    return;
  }
  for (const TemporalTable& tab : TemporalTables(c.minute_embed)) {
    if (c.embed == EmbedKind::kFixed)
      Add(t + tab.name + ".emb.weight", {tab.rows, c.d_model}, ParamKind::kFrozen);
    else
      Add(t + tab.name + ".weight", {tab.rows, c.d_model}, ParamKind::kTrainable);
  }
}

void ParamTable::AddAttention(const std::string& prefix, int d) {
  AddLinear(prefix + ".query_projection", d, d);
  AddLinear(prefix + ".key_projection", d, d);
  AddLinear(prefix + ".value_projection", d, d);
  AddLinear(prefix + ".out_projection", d, d);
}

void ParamTable::AddEncoder(const std::string& prefix, const ModelConfig& c, int layers) {
  for (int i = 0; i < layers; ++i) {
    const std::string l = prefix + ".attn_layers." + std::to_string(i);
    AddAttention(l + ".attention", c.d_model);
    AddConv1(l + ".conv1", c.d_ff, c.d_model);
    AddConv1(l + ".conv2", c.d_model, c.d_ff);
    AddNorm(l + ".norm1", c.d_model);
    AddNorm(l + ".norm2", c.d_model);
  }
  if (c.distil) {
    for (int i = 0; i + 1 < layers; ++i) {
      const std::string l = prefix + ".conv_layers." + std::to_string(i);
      Add(l + ".downConv.weight", {c.d_model, c.d_model, 3}, ParamKind::kTrainable);
      Add(l + ".downConv.bias", {c.d_model}, ParamKind::kTrainable);
      AddBatchNorm(l + ".norm", c.d_model);
    }
  }
  AddNorm(prefix + ".norm", c.d_model);
}

ParamTable::ParamTable(const ModelConfig& c) {
  AddEmbedding("enc_embedding", c, c.enc_in);
  AddEmbedding("dec_embedding", c, c.dec_in);
  if (c.stack) {
    for (size_t i = 0; i < c.s_layers.size(); ++i)
      AddEncoder("encoder.encoders." + std::to_string(i), c, c.s_layers[i]);
  } else {
    AddEncoder("encoder", c, c.e_layers);
  }
  for (int i = 0; i < c.d_layers; ++i) {
    const std::string l = "decoder.layers." + std::to_string(i);
    AddAttention(l + ".self_attention", c.d_model);
    AddAttention(l + ".cross_attention", c.d_model);
    AddConv1(l + ".conv1", c.d_ff, c.d_model);
    AddConv1(l + ".conv2", c.d_model, c.d_ff);
    AddNorm(l + ".norm1", c.d_model);
    AddNorm(l + ".norm2", c.d_model);
    AddNorm(l + ".norm3", c.d_model);
  }
  AddNorm("decoder.norm", c.d_model);
  AddLinear("projection", c.c_out, c.d_model);
  // RevIN's affine (named as the RevIN reference code's module attributes), after every reference
  // parameter so their layout does not depend on the normalisation.
  if (c.normalize == NormalizeKind::kRevin) {
    Add("revin.affine_weight", {c.enc_in}, ParamKind::kTrainable);
    Add("revin.affine_bias", {c.enc_in}, ParamKind::kTrainable);
  }
  // Parameters (trainable and frozen) first, float buffers after them: gradients and Adam moments
  // then cover just the prefix [0, param_float_count) instead of also shadowing the position tables.
  size_t offset = 0;
  for (ParamInfo& p : entries_)
    if (p.kind == ParamKind::kTrainable || p.kind == ParamKind::kFrozen) {
      p.offset = offset;
      offset += p.numel;
    }
  param_float_count_ = offset;
  for (ParamInfo& p : entries_)
    if (p.kind == ParamKind::kBuffer) {
      p.offset = offset;
      offset += p.numel;
    }
  floats_.assign(float_count_, 0.f);
  ints_.assign(int_count_, 0);
}

const ParamInfo* ParamTable::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

float* ParamTable::F(const std::string& name) {
  const ParamInfo* p = Find(name);
  return (p && p->kind != ParamKind::kIntBuffer) ? floats_.data() + p->offset : nullptr;
}

const float* ParamTable::F(const std::string& name) const {
  const ParamInfo* p = Find(name);
  return (p && p->kind != ParamKind::kIntBuffer) ? floats_.data() + p->offset : nullptr;
}

int64_t* ParamTable::I(const std::string& name) {
  const ParamInfo* p = Find(name);
  return (p && p->kind == ParamKind::kIntBuffer) ? ints_.data() + p->offset : nullptr;
}

}  // namespace informer
