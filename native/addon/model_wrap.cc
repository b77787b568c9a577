#include "addon/model_wrap.h"

#include <cstring>
#include <functional>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/forward_args.h"

namespace informer_addon {

namespace {

const char* KindName(informer::ParamKind k) {
  switch (k) {
    case informer::ParamKind::kTrainable:
      return "trainable";
    case informer::ParamKind::kFrozen:
      return "frozen";
    case informer::ParamKind::kBuffer:
      return "buffer";
    case informer::ParamKind::kIntBuffer:
      return "int_buffer";
  }
  return "unknown";
}

}  // namespace

// Runs `work` on the libuv pool under the model's lock and settles a Promise with `result` (built on
// the JS thread from what `work` copied out) or with the typed error of the returned Status. Nothing
// is thrown off-thread. Tasks of one model start in call order: Submit() queues a task behind the
// running one, and each settled task starts the next.
class ModelTask : public Napi::AsyncWorker {
 public:
  using Work = std::function<informer::Status(informer::Model&)>;
  using Result = std::function<Napi::Value(Napi::Env)>;
  ModelTask(Napi::Env env, std::shared_ptr<ModelHandle> handle, Work work, Result result)
      : Napi::AsyncWorker(env, "informer.model"),
        deferred_(Napi::Promise::Deferred::New(env)),
        handle_(std::move(handle)),
        work_(std::move(work)),
        result_(std::move(result)) {}
  // Queues the task behind the model's running task, or starts it; returns its Promise.
  Napi::Promise Submit() {
    Napi::Promise promise = deferred_.Promise();
    if (handle_->running) {
      handle_->waiting.push_back(this);
    } else {
      handle_->running = true;
      Queue();
    }
    return promise;
  }

  void Execute() override {
    std::lock_guard<std::mutex> lock(handle_->mutex);
    status_ = work_(*handle_->model);
  }
  void OnOK() override {
    StartNext();
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!status_.ok()) {
      deferred_.Reject(MakeError(env, status_));
      return;
    }
    deferred_.Resolve(result_(env));
  }
  void OnError(const Napi::Error& e) override {
    StartNext();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ModelHandle> handle_;
  Work work_;
  Result result_;
  informer::Status status_;

  // Runs on the JS thread when this task settles: the next waiting task of the model starts now,
  // before this one's result is built, so the pool works while JavaScript handles the result.
  void StartNext() {
    if (handle_->waiting.empty()) {
      handle_->running = false;
      return;
    }
    ModelTask* next = handle_->waiting.front();
    handle_->waiting.pop_front();
    next->Queue();
  }
};

namespace {

// Arguments moved into a task: sample views are rebuilt so they point at the moved storage.
std::shared_ptr<ForwardArgs> Own(ForwardArgs&& args, const informer::Model& model) {
  auto a = std::make_shared<ForwardArgs>(std::move(args));
  a->sample_views.clear();
  const auto& draws = model.sample_draws();
  for (size_t i = 0; i < a->samples.size(); ++i)
    a->sample_views.push_back({a->samples[i].data(), draws[i].Lq, draws[i].U});
  for (int i = 0; i < 4; ++i)
    if (!a->owned[i].empty()) a->x[i] = a->owned[i].data();
  return a;
}

Napi::Value LossResult(Napi::Env env, double loss, const std::vector<float>& grads) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("loss", loss);
  Napi::Float32Array g = Napi::Float32Array::New(env, grads.size());
  std::memcpy(g.Data(), grads.data(), grads.size() * sizeof(float));
  o.Set("grads", g);
  return o;
}

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
                         InstanceMethod<&ModelWrap::LossAndGrad>("lossAndGrad"),
                         InstanceMethod<&ModelWrap::LossAndGradSync>("lossAndGradSync"),
                         InstanceMethod<&ModelWrap::TrainStep>("trainStep"),
                         InstanceMethod<&ModelWrap::TrainStepSync>("trainStepSync"),
                         InstanceMethod<&ModelWrap::GetOptimizerState>("getOptimizerState"),
                         InstanceMethod<&ModelWrap::SetOptimizerState>("setOptimizerState"),
                         InstanceMethod<&ModelWrap::ResetOptimizer>("resetOptimizer"),
                         InstanceMethod<&ModelWrap::WorkspaceBytes>("workspaceBytes"),
                         InstanceMethod<&ModelWrap::Device>("device"),
                         InstanceMethod<&ModelWrap::SetDevice>("setDevice"),
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
  if (!handle_) ThrowStatus(env, informer::Status(informer::StatusCode::kDisposed, "the model has been disposed"));
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
  const informer::Status synced = h->model->SyncHost();  // a GPU model's live copy is on the device
  if (!synced.ok()) return ThrowStatus(env, synced);
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
  ForwardArgs parsed;
  if (!ParseForwardArgs(info, *h->model, true, &parsed)) return env.Undefined();
  auto args = Own(std::move(parsed), *h->model);
  auto output = std::make_shared<std::vector<float>>();
  auto activations = std::make_shared<std::vector<Activation>>();
  auto* task = new ModelTask(
      env, h,
      [args, output, activations](informer::Model& m) {
        return RunForward(m, *args, output.get(), activations.get(), nullptr);
      },
      [args, output, activations](Napi::Env e) { return ForwardResult(e, *output, *activations, args->capture); });
  return task->Submit();
}

// lossAndGrad(inputs, batch, target, opts) and its Sync twin: {loss, grads: Float32Array (arena layout)}.
Napi::Value ModelWrap::LossAndGrad(const Napi::CallbackInfo& info) { return Train(info, false, true); }
Napi::Value ModelWrap::LossAndGradSync(const Napi::CallbackInfo& info) { return Train(info, false, false); }
// trainStep(inputs, batch, target, adam, opts) and its Sync twin: the loss before the update.
Napi::Value ModelWrap::TrainStep(const Napi::CallbackInfo& info) { return Train(info, true, true); }
Napi::Value ModelWrap::TrainStepSync(const Napi::CallbackInfo& info) { return Train(info, true, false); }

Napi::Value ModelWrap::Train(const Napi::CallbackInfo& info, bool step, bool async) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  ForwardArgs parsed;
  const size_t opts_index = step ? 4 : 3;
  if (!ParseForwardArgs(info, *h->model, true, &parsed, opts_index)) return env.Undefined();
  if (info.Length() <= opts_index || !info[opts_index].IsObject()) parsed.train = true;  // training by default
  if (!ParseTarget(info, 2, *h->model, &parsed)) return env.Undefined();
  if (step && !ParseAdam(info, 3, &parsed)) return env.Undefined();
  auto args = Own(std::move(parsed), *h->model);
  auto loss = std::make_shared<double>(0.0);
  // The gradients are copied out while the model is still held: once the lock is released, the next
  // queued call may overwrite the model's gradient buffer before the Promise settles on the JS thread.
  auto grads = std::make_shared<std::vector<float>>();
  auto work = [args, loss, grads, step](informer::Model& m) -> informer::Status {
    const informer::ForwardInput in = args->Input();
    const informer::ForwardOptions opts = args->Options();
    if (step) return m.TrainStep(in, args->target.data(), opts, args->adam, loss.get());
    INFORMER_RETURN_IF_ERROR(m.LossAndGrad(in, args->target.data(), opts, loss.get(), nullptr));
    try {
      *grads = m.grads();
    } catch (const std::bad_alloc&) {
      return informer::Status(informer::StatusCode::kOutOfMemory, "out of memory copying the gradients");
    }
    return informer::Status::Ok();
  };
  auto result = [loss, grads, step](Napi::Env e) -> Napi::Value {
    if (step) return Napi::Number::New(e, *loss);
    return LossResult(e, *loss, *grads);
  };
  if (async) {
    auto* task = new ModelTask(env, h, work, result);
    return task->Submit();
  }
  std::lock_guard<std::mutex> lock(h->mutex);
  const informer::Status st = work(*h->model);
  if (!st.ok()) return ThrowStatus(env, st);
  return result(env);
}

// {step, m, v} (m and v empty before the first step).
Napi::Value ModelWrap::GetOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  std::lock_guard<std::mutex> lock(h->mutex);
  informer::Model& m = *h->model;
  const informer::Status synced = m.SyncHost();
  if (!synced.ok()) return ThrowStatus(env, synced);
  Napi::Object o = Napi::Object::New(env);
  o.Set("step", static_cast<double>(m.adam_step()));
  Napi::Float32Array mm = Napi::Float32Array::New(env, m.adam_m().size());
  Napi::Float32Array vv = Napi::Float32Array::New(env, m.adam_v().size());
  if (!m.adam_m().empty()) {
    std::memcpy(mm.Data(), m.adam_m().data(), m.adam_m().size() * sizeof(float));
    std::memcpy(vv.Data(), m.adam_v().data(), m.adam_v().size() * sizeof(float));
  }
  o.Set("m", mm);
  o.Set("v", vv);
  return o;
}

Napi::Value ModelWrap::SetOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  if (info.Length() < 3 || !info[0].IsNumber()) return ThrowShape(env, "setOptimizerState expects (step, m, v)");
  const size_t n = h->model->params().param_float_count();
  const float *m = nullptr, *v = nullptr;
  if (!GetFloat32(env, info[1], "m", n, &m) || !GetFloat32(env, info[2], "v", n, &v)) return env.Undefined();
  const double step = info[0].As<Napi::Number>().DoubleValue();
  if (!(step >= 0 && step == static_cast<int64_t>(step))) return ThrowValue(env, "step must be a non-negative integer");
  std::lock_guard<std::mutex> lock(h->mutex);
  const informer::Status st = h->model->SetAdamState(static_cast<int64_t>(step), m, v, n);
  if (!st.ok()) return ThrowStatus(env, st);
  return env.Undefined();
}

Napi::Value ModelWrap::ResetOptimizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  std::lock_guard<std::mutex> lock(h->mutex);
  h->model->ResetOptimizer();
  return env.Undefined();
}

Napi::Value ModelWrap::Device(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  std::lock_guard<std::mutex> lock(h->mutex);
  return Napi::String::New(env, informer::DeviceName(h->model->device()));
}

// setDevice('cpu' | 'cuda'): moves parameters, buffers and optimiser state (synchronously).
Napi::Value ModelWrap::SetDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env);
  if (!h) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowConfig(env, "setDevice expects 'cpu' or 'cuda'");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name != "cpu" && name != "cuda")
    return ThrowConfig(env, "unknown device '" + name + "' (expected 'cpu' or 'cuda')");
  std::lock_guard<std::mutex> lock(h->mutex);
  const informer::Status st = h->model->SetDevice(name == "cuda" ? informer::Device::kCuda : informer::Device::kCpu);
  if (!st.ok()) return ThrowStatus(env, st);
  return env.Undefined();
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
