// Module entry point: the NativeModel class and process-level facts (kernels, threads, backends).
#include <napi.h>

#include "addon/errors.h"
#include "addon/kernels_wrap.h"
#include "addon/model_wrap.h"
#include "base/config.h"
#include "cpu/gemm.h"
#include "base/ops.h"
#include "cpu/thread_pool.h"
#ifdef INFORMER_HAS_CUDA
#include "cuda/backend.h"
#include "cuda/gemm.h"
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
#ifdef INFORMER_HAS_CUDA
  static const char* const kPrecisions[] = {"fp32", "tf32", "bf16"};
  o.Set("gpuGemm", informer::cuda::GemmBackendName());
  o.Set("gpuMatmulPrecision", kPrecisions[static_cast<int>(informer::cuda::GetGemmPrecision())]);
#else
  o.Set("gpuGemm", env.Null());
  o.Set("gpuMatmulPrecision", env.Null());
#endif
  return o;
}

// configLimits(): {name: [lo, hi]} for every integer setting (the core's kConfigLimits), plus
// max_stacked_encoders, so the TypeScript checks in front of the core use the very same bounds.
static Napi::Value ConfigLimits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  for (const informer::IntLimit& l : informer::kConfigLimits) {
    Napi::Array range = Napi::Array::New(env, 2);
    range.Set(0u, l.lo);
    range.Set(1u, l.hi);
    o.Set(l.name, range);
  }
  o.Set("max_stacked_encoders", informer::kMaxStackedEncoders);
  return o;
}

// setGpuMatmulPrecision('fp32' | 'tf32' | 'bf16'): process-wide; tf32 / bf16 let cuBLAS round GEMM
// inputs on the tensor cores (the package's own GEMM kernel always computes in fp32).
static Napi::Value SetGpuMatmulPrecision(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string p = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (p != "fp32" && p != "tf32" && p != "bf16")
    return ThrowConfig(env, "GPU matmul precision must be 'fp32', 'tf32' or 'bf16', got '" + p + "'");
#ifdef INFORMER_HAS_CUDA
  informer::cuda::SetGemmPrecision(p == "tf32"   ? informer::cuda::GemmPrecision::kTf32
                                   : p == "bf16" ? informer::cuda::GemmPrecision::kBf16
                                                 : informer::cuda::GemmPrecision::kFp32);
  return env.Undefined();
#else
  return ThrowConfig(env, "this build of informer-node has no CUDA backend (built without the CUDA toolkit)");
#endif
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef INFORMER_HAS_CUDA
  informer::cuda::RegisterBackend();  // the core finds it through FindBackend(Device::kCuda)
#endif
  exports.Set("NativeModel", ModelWrap::Define(env));
  exports.Set("setErrorClasses", Napi::Function::New(env, SetErrorClasses, "setErrorClasses"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("configLimits", Napi::Function::New(env, ConfigLimits, "configLimits"));
  exports.Set("setGpuMatmulPrecision", Napi::Function::New(env, SetGpuMatmulPrecision, "setGpuMatmulPrecision"));
  exports.Set("kernels", KernelFunctions(env));
  return exports;
}

}  // namespace informer_addon

static Napi::Object InitInformer(Napi::Env env, Napi::Object exports) { return informer_addon::Init(env, exports); }

NODE_API_MODULE(informer, InitInformer)
