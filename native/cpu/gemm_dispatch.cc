// Run-time choice of the GEMM kernel set: CPUID and XCR0 checks, the INFORMER_GEMM_KERNEL override
// and gemm_force_kernel() for tests. Portable code: it only compares feature bits and hands out the
// ISA files' kernel tables, it never calls into them.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cpu/gemm.h"
#include "cpu/gemm_internal.h"

#if defined(_MSC_VER) && !defined(__clang__) && defined(_M_X64)
#include <intrin.h>
#elif (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

namespace informer {
namespace gemm_internal {
namespace {

struct X86Features {
  bool avx2_fma = false;
  bool avx512f = false;
};

// CPUID feature bits plus XCR0, so a kernel is used only where the OS also saves its registers:
// XMM|YMM state (bits 1, 2) for AVX2, and additionally opmask|ZMM_Hi256|Hi16_ZMM (bits 5-7) for
// AVX-512.
X86Features detect_x86() {
  X86Features f;
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__) || defined(_MSC_VER))
  unsigned r1[4] = {0, 0, 0, 0}, r7[4] = {0, 0, 0, 0};
#if defined(_MSC_VER) && !defined(__clang__)
  int r[4];
  __cpuid(r, 0);
  const unsigned max_leaf = static_cast<unsigned>(r[0]);
  __cpuid(r, 1);
  for (int i = 0; i < 4; ++i) r1[i] = static_cast<unsigned>(r[i]);
  if (max_leaf >= 7) {
    __cpuidex(r, 7, 0);
    for (int i = 0; i < 4; ++i) r7[i] = static_cast<unsigned>(r[i]);
  }
#else
  const unsigned max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 1) return f;
  __cpuid(1, r1[0], r1[1], r1[2], r1[3]);
  if (max_leaf >= 7) __cpuid_count(7, 0, r7[0], r7[1], r7[2], r7[3]);
#endif
  const bool osxsave = (r1[2] & (1u << 27)) != 0;
  if (!osxsave) return f;
#if defined(_MSC_VER) && !defined(__clang__)
  const unsigned long long xcr0 = _xgetbv(0);
#else
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));  // no -mxsave needed for asm
  const unsigned long long xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
  const bool avx = (r1[2] & (1u << 28)) != 0, fma = (r1[2] & (1u << 12)) != 0;
  const bool avx2 = (r7[1] & (1u << 5)) != 0, avx512f = (r7[1] & (1u << 16)) != 0;
  f.avx2_fma = avx && fma && avx2 && (xcr0 & 0x6) == 0x6;
  f.avx512f = f.avx2_fma && avx512f && (xcr0 & 0xE6) == 0xE6;  // the AVX-512 file also uses AVX2
#endif
  return f;
}

const X86Features& x86() {
  static const X86Features f = detect_x86();
  return f;
}

// The kernel set called `name` if this build and CPU can run it, else nullptr.
const CpuKernels* kernels_named(const char* name) {
  const std::string n = name;
  if (n == "portable") return portable_kernels();
  if (n == "avx2" || n == "avx2-fma") return x86().avx2_fma ? avx2_kernels() : nullptr;
  if (n == "avx512") return x86().avx512f ? avx512_kernels() : nullptr;
  return nullptr;
}

// The best kernel set for this CPU, unless INFORMER_GEMM_KERNEL names another one it can run.
const CpuKernels* choose_kernels() {
  if (const char* env = std::getenv("INFORMER_GEMM_KERNEL"); env && *env) {
    if (const CpuKernels* k = kernels_named(env)) return k;
    std::fprintf(stderr, "informer: INFORMER_GEMM_KERNEL=%s is not available here; choosing automatically\n", env);
  }
  for (const char* name : {"avx512", "avx2", "portable"}) {
    if (const CpuKernels* k = kernels_named(name)) return k;
  }
  return portable_kernels();
}

std::atomic<const CpuKernels*> g_forced{nullptr};

}  // namespace

const CpuKernels& active_kernels() {
  static const CpuKernels* const chosen = choose_kernels();
  const CpuKernels* forced = g_forced.load(std::memory_order_relaxed);
  return forced ? *forced : *chosen;
}

bool gemm_force_kernel(const char* name) {
  if (!name || !*name) {
    g_forced.store(nullptr, std::memory_order_relaxed);
    return true;
  }
  const CpuKernels* k = kernels_named(name);
  if (k) g_forced.store(k, std::memory_order_relaxed);
  return k != nullptr;
}

}  // namespace gemm_internal

const char* gemm_kernel_name() { return gemm_internal::active_kernels().name; }

}  // namespace informer
