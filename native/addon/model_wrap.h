// The JavaScript `NativeModel` class: a thin wrapper over informer::Model. It validates arguments,
// runs forward passes synchronously or on the libuv pool (AsyncWorker + Promise), and maps core
// Status codes to the typed errors registered by lib/native.ts.
#pragma once
#include <napi.h>

#include <deque>
#include <memory>
#include <mutex>

#include "model/model.h"

namespace informer_addon {

class ModelTask;

// Owned jointly by the wrapper and any in-flight worker, so dispose() during an async call is safe.
struct ModelHandle {
  std::unique_ptr<informer::Model> model;
  std::mutex mutex;  // one pass at a time: the activation arena and generator are per model
  // Async calls run one at a time in the order they were made (a training step queued after another
  // must see its update). Only the JS thread touches these two, so they need no lock; waiting calls
  // sit here instead of blocking a libuv pool thread on the mutex.
  std::deque<ModelTask*> waiting;
  bool running = false;
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value ParamInfo(const Napi::CallbackInfo& info);
  Napi::Value ReadState(const Napi::CallbackInfo& info);
  Napi::Value LoadState(const Napi::CallbackInfo& info);
  Napi::Value SampleDraws(const Napi::CallbackInfo& info);
  Napi::Value DeterministicSamples(const Napi::CallbackInfo& info);
  Napi::Value ForwardSync(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value LossAndGrad(const Napi::CallbackInfo& info);
  Napi::Value LossAndGradSync(const Napi::CallbackInfo& info);
  Napi::Value TrainStep(const Napi::CallbackInfo& info);
  Napi::Value TrainStepSync(const Napi::CallbackInfo& info);
  Napi::Value Train(const Napi::CallbackInfo& info, bool step, bool async);
  Napi::Value GetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value SetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value ResetOptimizer(const Napi::CallbackInfo& info);
  Napi::Value WorkspaceBytes(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value SetDevice(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  // nullptr (with a DisposedError thrown) once disposed.
  std::shared_ptr<ModelHandle> Handle(Napi::Env env);

  std::shared_ptr<ModelHandle> handle_;
};

}  // namespace informer_addon
