#include "addon/forward_args.h"

#include <cstring>

#include "addon/convert.h"
#include "addon/errors.h"

namespace informer_addon {

bool ParseForwardArgs(const Napi::CallbackInfo& info, const informer::Model& model, bool copy_inputs, ForwardArgs* out,
                      size_t opts_index) {
  Napi::Env env = info.Env();
  const informer::ModelConfig& c = model.config();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsNumber()) {
    ThrowShape(env, "forward expects (inputs {xEnc, xMarkEnc, xDec, xMarkDec}, batchSize, options)");
    return false;
  }
  const double batch = info[1].As<Napi::Number>().DoubleValue();
  if (!(batch >= 1 && batch <= (1 << 24) && batch == static_cast<int64_t>(batch))) {
    ThrowShape(env, "batch size must be an integer >= 1");
    return false;
  }
  out->batch = static_cast<int64_t>(batch);
  Napi::Object in = info[0].As<Napi::Object>();
  const int64_t B = out->batch, Le = c.seq_len, Ld = c.dec_len();
  const char* names[4] = {"xEnc", "xMarkEnc", "xDec", "xMarkDec"};
  const size_t sizes[4] = {static_cast<size_t>(B * Le * c.enc_in), static_cast<size_t>(B * Le * c.n_mark),
                           static_cast<size_t>(B * Ld * c.dec_in), static_cast<size_t>(B * Ld * c.n_mark)};
  for (int i = 0; i < 4; ++i) {
    if (!GetFloat32(env, in.Get(names[i]), names[i], sizes[i], &out->x[i])) return false;
    if (copy_inputs) {
      out->owned[i].assign(out->x[i], out->x[i] + sizes[i]);
      out->x[i] = out->owned[i].data();
    }
  }
  if (info.Length() > opts_index && info[opts_index].IsObject()) {
    Napi::Object opts = info[opts_index].As<Napi::Object>();
    out->train = opts.Get("train").ToBoolean().Value();
    out->capture = opts.Get("capture").ToBoolean().Value();
    out->sampling =
        opts.Get("sampling").ToBoolean().Value() ? informer::Sampling::kRandom : informer::Sampling::kDeterministic;
    Napi::Value s = opts.Get("sampleIndices");
    if (!s.IsUndefined() && !s.IsNull()) {
      if (!s.IsArray()) {
        ThrowShape(env, "sampleIndices must be an array of Int32Array");
        return false;
      }
      Napi::Array arr = s.As<Napi::Array>();
      const auto& draws = model.sample_draws();
      if (arr.Length() != draws.size()) {
        ThrowShape(env, "sampleIndices has " + std::to_string(arr.Length()) + " matrices, this model draws " +
                            std::to_string(draws.size()) + " per pass");
        return false;
      }
      out->samples.resize(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        Napi::Value e = arr.Get(i);
        const size_t want = static_cast<size_t>(draws[i].Lq * draws[i].U);
        if (!e.IsTypedArray() || e.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
          ThrowShape(env, "sampleIndices[" + std::to_string(i) + "] must be an Int32Array");
          return false;
        }
        Napi::Int32Array a = e.As<Napi::Int32Array>();
        if (a.ElementLength() != want) {
          ThrowShape(env, "sampleIndices[" + std::to_string(i) + "] (" + draws[i].layer + ") has " +
                              std::to_string(a.ElementLength()) + " elements, expected [" +
                              std::to_string(draws[i].Lq) + ", " + std::to_string(draws[i].U) + "]");
          return false;
        }
        out->samples[i].assign(a.Data(), a.Data() + want);
        out->sample_views.push_back({out->samples[i].data(), draws[i].Lq, draws[i].U});
      }
      out->has_samples = true;
    }
  }
  return true;
}

informer::ForwardInput ForwardArgs::Input() const {
  informer::ForwardInput in;
  in.batch = batch;
  in.x_enc = x[0];
  in.x_mark_enc = x[1];
  in.x_dec = x[2];
  in.x_mark_dec = x[3];
  return in;
}

informer::ForwardOptions ForwardArgs::Options() const {
  informer::ForwardOptions opts;
  opts.train = train;
  opts.sampling = sampling;
  if (has_samples) opts.sample_indices = &sample_views;
  return opts;
}

bool ParseTarget(const Napi::CallbackInfo& info, size_t index, const informer::Model& model, ForwardArgs* args) {
  const informer::ModelConfig& c = model.config();
  const float* data = nullptr;
  const size_t n = static_cast<size_t>(args->batch * c.pred_len * c.c_out);
  if (info.Length() <= index || !GetFloat32(info.Env(), info[index], "target", n, &data)) {
    if (!info.Env().IsExceptionPending()) ThrowShape(info.Env(), "target must be a Float32Array");
    return false;
  }
  args->target.assign(data, data + n);
  return true;
}

bool ParseAdam(const Napi::CallbackInfo& info, size_t index, ForwardArgs* args) {
  Napi::Env env = info.Env();
  if (info.Length() <= index || !info[index].IsObject()) {
    ThrowConfig(env, "trainStep expects optimizer settings {lr, beta1, beta2, eps, weightDecay}");
    return false;
  }
  Napi::Object o = info[index].As<Napi::Object>();
  double lr, b1, b2, eps, wd;
  if (!GetNumber(env, o, "lr", &lr) || !GetNumber(env, o, "beta1", &b1) || !GetNumber(env, o, "beta2", &b2) ||
      !GetNumber(env, o, "eps", &eps) || !GetNumber(env, o, "weightDecay", &wd))
    return false;
  args->adam = {static_cast<float>(lr), static_cast<float>(b1), static_cast<float>(b2), static_cast<float>(eps),
                static_cast<float>(wd)};
  return true;
}

informer::Status RunForward(informer::Model& model, ForwardArgs& args, std::vector<float>* output,
                            std::vector<Activation>* activations, float* output_buffer) {
  const informer::ModelConfig& c = model.config();
  const informer::ForwardInput in = args.Input();
  informer::ForwardOptions opts = args.Options();
  informer::ActivationSink sink = [activations](const std::string& name, const float* data,
                                                const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    activations->push_back({name, shape, std::vector<float>(data, data + n)});
  };
  if (args.capture) opts.sink = &sink;
  float* dst = output_buffer;
  if (!dst) {
    output->resize(static_cast<size_t>(args.batch * c.pred_len * c.c_out));
    dst = output->data();
  }
  return model.Forward(in, opts, dst);
}

Napi::Value ForwardResult(Napi::Env env, std::vector<float>& output, std::vector<Activation>& activations,
                          bool capture) {
  Napi::Float32Array out = Napi::Float32Array::New(env, output.size());
  std::memcpy(out.Data(), output.data(), output.size() * sizeof(float));
  if (!capture) return out;
  Napi::Object result = Napi::Object::New(env);
  result.Set("output", out);
  Napi::Object acts = Napi::Object::New(env);
  for (Activation& a : activations) {
    Napi::Float32Array data = Napi::Float32Array::New(env, a.data.size());
    std::memcpy(data.Data(), a.data.data(), a.data.size() * sizeof(float));
    Napi::Array shape = Napi::Array::New(env, a.shape.size());
    for (size_t i = 0; i < a.shape.size(); ++i) shape.Set(static_cast<uint32_t>(i), static_cast<double>(a.shape[i]));
    Napi::Object t = Napi::Object::New(env);
    t.Set("data", data);
    t.Set("shape", shape);
    acts.Set(a.name, t);
  }
  result.Set("activations", acts);
  return result;
}

}  // namespace informer_addon
