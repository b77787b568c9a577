// Reference initialisation: what a freshly constructed PyTorch Informer holds (distributions, not
// values: the generator is ours). Linear/Conv1d use PyTorch's default kaiming_uniform(a=sqrt(5)),
// i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases; the token conv weight is
// Kaiming-normal (fan_in, leaky_relu slope 0); norms start at 1/0; learned temporal tables N(0, 1);
// the position table and the 'fixed' temporal tables are sinusoids; RevIN's affine starts at 1/0.
#include <cmath>
#include <string>

#include "model/model.h"
#include "cpu/embedding.h"

namespace informer {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Last dotted component before the final one: "encoder.norm.weight" -> "norm".
std::string ModuleName(const std::string& name) {
  const size_t last = name.rfind('.');
  const size_t prev = name.rfind('.', last - 1);
  return name.substr(prev == std::string::npos ? 0 : prev + 1, last - (prev == std::string::npos ? 0 : prev + 1));
}

int64_t FanIn(const std::vector<int64_t>& shape) {
  int64_t f = 1;
  for (size_t i = 1; i < shape.size(); ++i) f *= shape[i];
  return f;
}

}  // namespace

void InitParams(const ModelConfig& c, ParamTable* params, Rng* rng) {
  float* data = params->floats().data();
  int64_t last_fan_in = 1;
  for (const ParamInfo& p : params->entries()) {
    float* w = data + p.offset;
    const std::string module = ModuleName(p.name);
    const bool is_norm = module.rfind("norm", 0) == 0;
    if (p.kind == ParamKind::kIntBuffer) {
      params->ints()[p.offset] = 0;
    } else if (EndsWith(p.name, "position_embedding.pe")) {
      FillSinusoidTable(p.shape[1], p.shape[2], w);
    } else if (p.kind == ParamKind::kFrozen) {
      FillSinusoidTable(p.shape[0], p.shape[1], w);
    } else if (EndsWith(p.name, ".running_mean")) {
      for (size_t i = 0; i < p.numel; ++i) w[i] = 0.f;
    } else if (EndsWith(p.name, ".running_var")) {
      for (size_t i = 0; i < p.numel; ++i) w[i] = 1.f;
    } else if (p.name.rfind("revin.", 0) == 0) {  // RevIN starts as the identity affine
      const float v = EndsWith(p.name, ".affine_weight") ? 1.f : 0.f;
      for (size_t i = 0; i < p.numel; ++i) w[i] = v;
    } else if (is_norm) {
      const float v = EndsWith(p.name, ".weight") ? 1.f : 0.f;
      for (size_t i = 0; i < p.numel; ++i) w[i] = v;
    } else if (c.embed == EmbedKind::kLearned && module.find("_embed") != std::string::npos) {
      for (size_t i = 0; i < p.numel; ++i) w[i] = static_cast<float>(rng->Normal());
    } else if (EndsWith(p.name, "tokenConv.weight")) {
      last_fan_in = FanIn(p.shape);
      const double std = std::sqrt(2.0) / std::sqrt(static_cast<double>(last_fan_in));
      for (size_t i = 0; i < p.numel; ++i) w[i] = static_cast<float>(rng->Normal() * std);
    } else {
      // Weights set the fan-in their following bias uses (registration order: weight, then bias).
      if (EndsWith(p.name, ".weight")) last_fan_in = FanIn(p.shape);
      const double bound = 1.0 / std::sqrt(static_cast<double>(last_fan_in));
      for (size_t i = 0; i < p.numel; ++i) w[i] = static_cast<float>((rng->UniformDouble() * 2.0 - 1.0) * bound);
    }
  }
}

}  // namespace informer
