// Direct access to two kernel families for benchmarks and tests: GEMM and attention. Every size
// is checked against the typed arrays before the kernel runs.
#include "addon/kernels_wrap.h"

#include <cmath>
#include <string>

#include "addon/convert.h"
#include "addon/errors.h"
#include "base/config.h"
#include "cpu/gemm.h"
#include "cpu/thread_pool.h"
#include "cpu/attention.h"

namespace informer_addon {

namespace {

bool Dim(Napi::Env env, Napi::Value v, const char* name, int64_t* out) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 1 && d <= (1 << 20) && d == std::floor(d))) {
    ThrowShape(env, std::string(name) + " must be an integer in [1, 2^20]");
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// sgemm(transA, transB, M, N, K, A, B, C, threaded): C = op(A) op(B), row-major, dense.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 9) return ThrowShape(env, "sgemm(transA, transB, M, N, K, A, B, C, threaded)");
  const bool ta = info[0].ToBoolean(), tb = info[1].ToBoolean(), threaded = info[8].ToBoolean();
  int64_t M, N, K;
  if (!Dim(env, info[2], "M", &M) || !Dim(env, info[3], "N", &N) || !Dim(env, info[4], "K", &K)) return env.Undefined();
  float *A, *B, *C;
  if (!GetFloat32(env, info[5], "A", M * K, &A) || !GetFloat32(env, info[6], "B", K * N, &B) ||
      !GetFloat32(env, info[7], "C", M * N, &C))
    return env.Undefined();
  informer::sgemm(ta, tb, M, N, K, 1.f, A, ta ? M : K, B, tb ? K : N, 0.f, C, N, informer::GemmEpilogue(),
                  threaded ? &informer::ThreadPool::global() : nullptr);
  return env.Undefined();
}

// attention(kind 'prob'|'full', B, H, L, d, q, k, v, out, masked): q/k/v/out [B, L, H*d]; prob
// draws its key samples from a fixed generator (the benchmark measures the kernel, not the draw).
Napi::Value Attention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 10 || !info[0].IsString())
    return ThrowShape(env, "attention(kind, B, H, L, d, q, k, v, out, masked)");
  const std::string kind = info[0].As<Napi::String>().Utf8Value();
  if (kind != "prob" && kind != "full") return ThrowConfig(env, "attention kind must be 'prob' or 'full'");
  int64_t B, H, L, d;
  if (!Dim(env, info[1], "B", &B) || !Dim(env, info[2], "H", &H) || !Dim(env, info[3], "L", &L) ||
      !Dim(env, info[4], "d", &d))
    return env.Undefined();
  const size_t n = static_cast<size_t>(B * L * H * d);
  float *q, *k, *v, *out;
  if (!GetFloat32(env, info[5], "q", n, &q) || !GetFloat32(env, info[6], "k", n, &k) ||
      !GetFloat32(env, info[7], "v", n, &v) || !GetFloat32(env, info[8], "out", n, &out))
    return env.Undefined();
  const bool masked = info[9].ToBoolean();
  const informer::AttentionShape s{B, H, L, L, d};
  const informer::HeadLayout lay = informer::HeadLayout::RowMajor(L, H, d);
  const float scale = 1.f / std::sqrt(static_cast<float>(d));
  if (kind == "full") {
    informer::FullAttentionForward(s, q, k, v, lay, lay, out, lay, masked, scale, 0.f, nullptr, nullptr, nullptr);
    return env.Undefined();
  }
  const int64_t U = informer::ProbBudget(5, static_cast<int>(L)), u = U;
  thread_local std::vector<int32_t> sample;
  sample.resize(static_cast<size_t>(L * U));
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int32_t& i : sample) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    i = static_cast<int32_t>(x % static_cast<uint64_t>(L));
  }
  informer::ProbAttentionForward(s, q, k, v, lay, lay, out, lay, masked, scale, sample.data(), U, u, nullptr, nullptr);
  return env.Undefined();
}

}  // namespace

Napi::Object KernelFunctions(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("sgemm", Napi::Function::New(env, Sgemm, "sgemm"));
  o.Set("attention", Napi::Function::New(env, Attention, "attention"));
  return o;
}

}  // namespace informer_addon
