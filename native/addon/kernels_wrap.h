// `kernels`: GEMM and attention exposed for benchmarks and tests.
#pragma once
#include <napi.h>

namespace informer_addon {

Napi::Object KernelFunctions(Napi::Env env);

}  // namespace informer_addon
