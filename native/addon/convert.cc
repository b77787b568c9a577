#include "addon/convert.h"

#include <cmath>

#include "addon/errors.h"

namespace informer_addon {

bool GetNumber(Napi::Env env, Napi::Object obj, const char* key, double* out) {
  Napi::Value v = obj.Get(key);
  if (!v.IsNumber()) {
    ThrowConfig(env, std::string("config.") + key + " must be a number");
    return false;
  }
  *out = v.As<Napi::Number>().DoubleValue();
  return true;
}

bool GetInt(Napi::Env env, Napi::Object obj, const char* key, int64_t lo, int64_t hi, int64_t* out) {
  double d;
  if (!GetNumber(env, obj, key, &d)) return false;
  if (!(d == std::floor(d)) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    ThrowConfig(env, std::string("config.") + key + " must be an integer in [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "], got " + std::to_string(d));
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool GetBool(Napi::Env env, Napi::Object obj, const char* key, bool* out) {
  Napi::Value v = obj.Get(key);
  if (!v.IsBoolean()) {
    ThrowConfig(env, std::string("config.") + key + " must be a boolean");
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool ParseConfig(Napi::Env env, Napi::Value value, informer::ModelConfig* c) {
  if (!value.IsObject()) {
    ThrowConfig(env, "config must be an object");
    return false;
  }
  Napi::Object o = value.As<Napi::Object>();
  // Integers are only checked to fit an int here; their bounds are ValidateConfig's (one table,
  // kConfigLimits), which Model::Create applies.
  int attn = 0, embed = 0, activation = 0, normalize = 0;
  constexpr int64_t kIntMin = -(int64_t{1} << 31), kIntMax = (int64_t{1} << 31) - 1;
  struct IntField {
    const char* key;
    int* dst;
    int64_t lo, hi;
  };
  const IntField ints[] = {
      {"seq_len", &c->seq_len, kIntMin, kIntMax},
      {"label_len", &c->label_len, kIntMin, kIntMax},
      {"pred_len", &c->pred_len, kIntMin, kIntMax},
      {"enc_in", &c->enc_in, kIntMin, kIntMax},
      {"dec_in", &c->dec_in, kIntMin, kIntMax},
      {"c_out", &c->c_out, kIntMin, kIntMax},
      {"d_model", &c->d_model, kIntMin, kIntMax},
      {"n_heads", &c->n_heads, kIntMin, kIntMax},
      {"e_layers", &c->e_layers, kIntMin, kIntMax},
      {"d_layers", &c->d_layers, kIntMin, kIntMax},
      {"d_ff", &c->d_ff, kIntMin, kIntMax},
      {"factor", &c->factor, kIntMin, kIntMax},
      {"padding", &c->padding, kIntMin, kIntMax},
      {"n_mark", &c->n_mark, kIntMin, kIntMax},
      {"attn", &attn, 0, 1},
      {"embed", &embed, 0, 2},
      {"activation", &activation, 0, 1},
      {"normalize", &normalize, 0, 2},
  };
  for (const IntField& f : ints) {
    int64_t v;
    if (!GetInt(env, o, f.key, f.lo, f.hi, &v)) return false;
    *f.dst = static_cast<int>(v);
  }
  c->attn = static_cast<informer::AttnKind>(attn);
  c->embed = static_cast<informer::EmbedKind>(embed);
  c->activation = static_cast<informer::FfnActivation>(activation);
  c->normalize = static_cast<informer::NormalizeKind>(normalize);
  if (!GetBool(env, o, "distil", &c->distil) || !GetBool(env, o, "mix", &c->mix) ||
      !GetBool(env, o, "stack", &c->stack) || !GetBool(env, o, "minute_embed", &c->minute_embed))
    return false;
  double dropout, seed;
  if (!GetNumber(env, o, "dropout", &dropout) || !GetNumber(env, o, "seed", &seed)) return false;
  if (!(seed >= 0 && seed <= 9007199254740991.0 && seed == std::floor(seed))) {
    ThrowConfig(env, "config.seed must be a non-negative safe integer");
    return false;
  }
  c->dropout = static_cast<float>(dropout);
  c->seed = static_cast<uint64_t>(seed);
  Napi::Value s = o.Get("s_layers");
  c->s_layers.clear();
  if (s.IsArray()) {
    Napi::Array arr = s.As<Napi::Array>();
    if (arr.Length() > static_cast<uint32_t>(informer::kMaxStackedEncoders)) {
      ThrowConfig(env, "config.s_layers has " + std::to_string(arr.Length()) + " entries, at most " +
                           std::to_string(informer::kMaxStackedEncoders));
      return false;
    }
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value e = arr.Get(i);
      const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
      if (!(d == std::floor(d) && d >= static_cast<double>(kIntMin) && d <= static_cast<double>(kIntMax))) {
        ThrowConfig(env, "config.s_layers[" + std::to_string(i) + "] must be an integer");
        return false;
      }
      c->s_layers.push_back(static_cast<int>(d));
    }
  } else if (c->stack) {
    ThrowConfig(env, "config.s_layers must be an array for informerstack");
    return false;
  }
  return true;
}

bool GetFloat32(Napi::Env env, Napi::Value value, const char* name, size_t expected, const float** data) {
  float* p = nullptr;
  if (!GetFloat32(env, value, name, expected, &p)) return false;
  *data = p;
  return true;
}

bool GetFloat32(Napi::Env env, Napi::Value value, const char* name, size_t expected, float** data) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowShape(env, std::string(name) + " must be a Float32Array");
    return false;
  }
  Napi::Float32Array a = value.As<Napi::Float32Array>();
  if (a.ElementLength() != expected) {
    ThrowShape(env, std::string(name) + " has " + std::to_string(a.ElementLength()) + " elements, expected " +
                        std::to_string(expected));
    return false;
  }
  *data = a.Data();
  return true;
}

}  // namespace informer_addon
