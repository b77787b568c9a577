// Module entry point: the NativeModel class and process-level facts (kernels, threads, backends).
#include <napi.h>

#include "addon/errors.h"
#include "addon/kernels_wrap.h"
#include "addon/model_wrap.h"
#include "core/gemm.h"
#include "core/ops.h"
#include "core/thread_pool.h"
#ifdef INFORMER_HAS_CUDA
#include "cuda/backend.h"
#endif

namespace informer_addon {

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("gemmKernel", informer::gemm_kernel_name());
  o.Set("threads", informer::ThreadPool::global().size());
  Napi::Array backends = Napi::Array::New(env);
  backends.Set(0u, "cpu");
  const informer::BackendProvider* cuda = informer::FindBackend(informer::Device::kCuda);
  if (cuda && cuda->device_count() > 0) backends.Set(1u, "cuda");
  o.Set("backends", backends);
  o.Set("cudaBuilt", cuda != nullptr);
  // The GPU in use, or why there is none (null when the addon was built without CUDA).
  o.Set("cudaDevice", cuda ? Napi::Value(Napi::String::New(env, cuda->describe())) : env.Null());
  return o;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef INFORMER_HAS_CUDA
  informer::cuda::RegisterBackend();  // the core finds it through FindBackend(Device::kCuda)
#endif
  exports.Set("NativeModel", ModelWrap::Define(env));
  exports.Set("setErrorClasses", Napi::Function::New(env, SetErrorClasses, "setErrorClasses"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("kernels", KernelFunctions(env));
  return exports;
}

}  // namespace informer_addon

static Napi::Object InitInformer(Napi::Env env, Napi::Object exports) { return informer_addon::Init(env, exports); }

NODE_API_MODULE(informer, InitInformer)
