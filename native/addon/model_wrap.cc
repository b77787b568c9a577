#include "addon/model_wrap.h"

#include <cstring>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/forward_args.h"

namespace informer_addon {

namespace {

constexpr int kDisposedCode = 100;  // lib/native.ts maps it to DisposedError

const char* KindName(informer::ParamKind k) {
  switch (k) {
    case informer::ParamKind::kTrainable: return "trainable";
    case informer::ParamKind::kFrozen: return "frozen";
    case informer::ParamKind::kBuffer: return "buffer";
    case informer::ParamKind::kIntBuffer: return "int_buffer";
  }
  return "unknown";
}

class ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, std::shared_ptr<ModelHandle> handle, ForwardArgs args)
      : Napi::AsyncWorker(env, "informer.forward"),
        deferred_(Napi::Promise::Deferred::New(env)),
        handle_(std::move(handle)),
        args_(std::move(args)) {
    // The sample views point into args_.samples, which moved with args: rebuild them.
    args_.sample_views.clear();
    const auto& draws = handle_->model->sample_draws();
    for (size_t i = 0; i < args_.samples.size(); ++i)
      args_.sample_views.push_back({args_.samples[i].data(), draws[i].Lq, draws[i].U});
    for (int i = 0; i < 4; ++i) args_.x[i] = args_.owned[i].data();
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::lock_guard<std::mutex> lock(handle_->mutex);
    status_ = RunForward(*handle_->model, args_, &output_, &activations_, nullptr);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!status_.ok()) {
      deferred_.Reject(MakeError(env, status_));
      return;
    }
    deferred_.Resolve(ForwardResult(env, output_, activations_, args_.capture));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ModelHandle> handle_;
  ForwardArgs args_;
  informer::Status status_;
  std::vector<float> output_;
  std::vector<Activation> activations_;
};

}  // namespace

Napi::Function ModelWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {
                         InstanceMethod<&ModelWrap::ParamInfo>("paramInfo"),
                         InstanceMethod<&ModelWrap::ReadState>("readState"),
                         InstanceMethod<&ModelWrap::LoadState>("loadState"),
                         InstanceMethod<&ModelWrap::SampleDraws>("sampleDraws"),
                         InstanceMethod<&ModelWrap::DeterministicSamples>("deterministicSamples"),
                         InstanceMethod<&ModelWrap::ForwardSync>("forwardSync"),
                         InstanceMethod<&ModelWrap::Forward>("forward"),
                         InstanceMethod<&ModelWrap::WorkspaceBytes>("workspaceBytes"),
                         InstanceMethod<&ModelWrap::Dispose>("dispose"),
                     });
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  Napi::Env env = info.Env();
  informer::ModelConfig config;
  if (info.Length() < 1 || !ParseConfig(env, info[0], &config)) {
    if (!env.IsExceptionPending()) ThrowConfig(env, "NativeModel expects a config object");
    return;
  }
  auto handle = std::make_shared<ModelHandle>();
  const informer::Status st = informer::Model::Create(config, &handle->model);
  if (!st.ok()) {
    ThrowStatus(env, st);
    return;
  }
  handle_ = std::move(handle);
  const int64_t bytes = static_cast<int64_t>(handle_->model->params().float_count() * sizeof(float));
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
}

std::shared_ptr<ModelHandle> ModelWrap::Handle(Napi::Env env) {
  if (!handle_) ThrowStatus(env, informer::Status(static_cast<informer::StatusCode>(kDisposedCode),
                                                  "the model has been disposed"));
  return handle_;
}

Napi::Value ModelWrap::ParamInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  const auto& entries = h->model->params().entries();
  Napi::Array arr = Napi::Array::New(env, entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const informer::ParamInfo& p = entries[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", p.name);
    Napi::Array shape = Napi::Array::New(env, p.shape.size());
    for (size_t j = 0; j < p.shape.size(); ++j) shape.Set(static_cast<uint32_t>(j), static_cast<double>(p.shape[j]));
    o.Set("shape", shape);
    o.Set("kind", KindName(p.kind));
    o.Set("offset", static_cast<double>(p.offset));
    o.Set("numel", static_cast<double>(p.numel));
    arr.Set(static_cast<uint32_t>(i), o);
  }
  return arr;
}

// Copies of the float arena and the int64 table: {floats: Float32Array, ints: BigInt64Array}.
Napi::Value ModelWrap::ReadState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  std::lock_guard<std::mutex> lock(h->mutex);
  const auto& floats = h->model->params().floats();
  const auto& ints = h->model->params().ints();
  Napi::Float32Array f = Napi::Float32Array::New(env, floats.size());
  std::memcpy(f.Data(), floats.data(), floats.size() * sizeof(float));
  Napi::BigInt64Array i = Napi::BigInt64Array::New(env, ints.size());
  if (!ints.empty()) std::memcpy(i.Data(), ints.data(), ints.size() * sizeof(int64_t));
  Napi::Object o = Napi::Object::New(env);
  o.Set("floats", f);
  o.Set("ints", i);
  return o;
}

// loadState([{name, shape, data: Float32Array | BigInt64Array}]): all-or-nothing replacement.
Napi::Value ModelWrap::LoadState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsArray()) return ThrowShape(env, "loadState expects an array of tensors");
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<informer::NamedTensor> tensors(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    if (!e.IsObject()) return ThrowShape(env, "loadState entry " + std::to_string(i) + " is not an object");
    Napi::Object o = e.As<Napi::Object>();
    Napi::Value name = o.Get("name"), shape = o.Get("shape"), data = o.Get("data");
    if (!name.IsString() || !shape.IsArray() || !data.IsTypedArray())
      return ThrowShape(env, "loadState entry " + std::to_string(i) + " needs {name, shape, data}");
    informer::NamedTensor& t = tensors[i];
    t.name = name.As<Napi::String>().Utf8Value();
    Napi::Array s = shape.As<Napi::Array>();
    size_t numel = 1;
    for (uint32_t j = 0; j < s.Length(); ++j) {
      Napi::Value d = s.Get(j);
      const double v = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1;
      if (!(v >= 0 && v <= 1e9 && v == static_cast<int64_t>(v)))
        return ThrowShape(env, "tensor '" + t.name + "' has an invalid shape");
      t.shape.push_back(static_cast<int64_t>(v));
      numel *= static_cast<size_t>(v);
    }
    Napi::TypedArray ta = data.As<Napi::TypedArray>();
    if (ta.TypedArrayType() == napi_float32_array) {
      t.is_int64 = false;
      t.data = ta.As<Napi::Float32Array>().Data();
    } else if (ta.TypedArrayType() == napi_bigint64_array) {
      t.is_int64 = true;
      t.data = ta.As<Napi::BigInt64Array>().Data();
    } else {
      return ThrowShape(env, "tensor '" + t.name + "' must be a Float32Array or BigInt64Array");
    }
    if (ta.ElementLength() != numel)
      return ThrowShape(env, "tensor '" + t.name + "' has " + std::to_string(ta.ElementLength()) +
                                 " elements but its shape holds " + std::to_string(numel));
  }
  std::lock_guard<std::mutex> lock(h->mutex);
  const informer::Status st = h->model->LoadState(tensors);
  if (!st.ok()) return ThrowStatus(env, st);
  return env.Undefined();
}

Napi::Value ModelWrap::SampleDraws(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  const auto& draws = h->model->sample_draws();
  Napi::Array arr = Napi::Array::New(env, draws.size());
  for (size_t i = 0; i < draws.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("layer", draws[i].layer);
    o.Set("lq", static_cast<double>(draws[i].Lq));
    o.Set("sampleK", static_cast<double>(draws[i].U));
    o.Set("lk", static_cast<double>(draws[i].Lk));
    arr.Set(static_cast<uint32_t>(i), o);
  }
  return arr;
}

Napi::Value ModelWrap::DeterministicSamples(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  const size_t n = h->model->sample_draws().size();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowShape(env, "deterministicSamples expects a draw index");
  const double i = info[0].As<Napi::Number>().DoubleValue();
  if (!(i >= 0 && i < static_cast<double>(n) && i == static_cast<int64_t>(i)))
    return ThrowValue(env, "draw index must be an integer in [0, " + std::to_string(n) + ")");
  std::lock_guard<std::mutex> lock(h->mutex);
  const std::vector<int32_t>& s = h->model->deterministic_samples(static_cast<size_t>(i));
  Napi::Int32Array out = Napi::Int32Array::New(env, s.size());
  std::memcpy(out.Data(), s.data(), s.size() * sizeof(int32_t));
  return out;
}

Napi::Value ModelWrap::ForwardSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  ForwardArgs args;
  if (!ParseForwardArgs(info, *h->model, false, &args)) return env.Undefined();
  std::vector<float> output;
  std::vector<Activation> activations;
  const informer::ModelConfig& c = h->model->config();
  std::lock_guard<std::mutex> lock(h->mutex);
  if (!args.capture) {
    // Write straight into the result array.
    Napi::Float32Array out = Napi::Float32Array::New(env, static_cast<size_t>(args.batch * c.pred_len * c.c_out));
    const informer::Status st = RunForward(*h->model, args, &output, &activations, out.Data());
    if (!st.ok()) return ThrowStatus(env, st);
    return out;
  }
  const informer::Status st = RunForward(*h->model, args, &output, &activations, nullptr);
  if (!st.ok()) return ThrowStatus(env, st);
  return ForwardResult(env, output, activations, true);
}

Napi::Value ModelWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  ForwardArgs args;
  if (!ParseForwardArgs(info, *h->model, true, &args)) return env.Undefined();
  auto* worker = new ForwardWorker(env, h, std::move(args));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value ModelWrap::WorkspaceBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  std::lock_guard<std::mutex> lock(h->mutex);
  return Napi::Number::New(env, static_cast<double>(h->model->workspace_bytes()));
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (handle_) {
    const int64_t bytes = static_cast<int64_t>(handle_->model->params().float_count() * sizeof(float));
    Napi::MemoryManagement::AdjustExternalMemory(env, -bytes);
    handle_.reset();  // an in-flight worker keeps its own reference until it finishes
  }
  return env.Undefined();
}

}  // namespace informer_addon
