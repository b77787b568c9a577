// Module entry point: the NativeModel class and process-level facts (kernels, threads, backends).
#include <napi.h>

#include "addon/errors.h"
#include "addon/kernels_wrap.h"
#include "addon/model_wrap.h"
#include "core/gemm.h"
#include "core/thread_pool.h"

namespace informer_addon {

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("gemmKernel", informer::gemm_kernel_name());
  o.Set("threads", informer::ThreadPool::global().size());
  Napi::Array backends = Napi::Array::New(env);
  backends.Set(0u, "cpu");
  o.Set("backends", backends);
#ifdef INFORMER_HAS_CUDA
  o.Set("cudaBuilt", true);
#else
  o.Set("cudaBuilt", false);
#endif
  return o;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeModel", ModelWrap::Define(env));
  exports.Set("setErrorClasses", Napi::Function::New(env, SetErrorClasses, "setErrorClasses"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("kernels", KernelFunctions(env));
  return exports;
}

}  // namespace informer_addon

static Napi::Object InitInformer(Napi::Env env, Napi::Object exports) { return informer_addon::Init(env, exports); }

NODE_API_MODULE(informer, InitInformer)
