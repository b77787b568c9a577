// Internal contract between the GEMM driver (gemm.cc, portable code) and the ISA-specific kernels
// (gemm_avx2.cc with -mavx2 -mfma, gemm_avx512.cc with -mavx512f -mfma). Only plain declarations
// live here: an inline function or template instantiated in several translation units could be
// merged by the linker into the AVX2 or AVX-512 copy and then run on a CPU without that ISA.
#pragma once
#include <cstdint>

#include "cpu/gemm.h"

namespace informer {
namespace gemm_internal {

// Largest register tile of any micro-kernel (sizes the driver's staging buffers).
constexpr int kMaxMR = 16;
constexpr int kMaxNR = 32;

// What a micro-kernel does with its mr x nr accumulator tile `acc` (= op(A) * op(B) over kc):
//   v = alpha * acc + (load_c ? beta * C : 0)
//   v = act(v + bias) + residual          (bias, residual may be null; act is kNone when unused)
//   C = v
// The driver passes bias/act/residual only with the last K block, and beta = 1 for later blocks.
struct TileArgs {
  float alpha = 1.0f;
  float beta = 0.0f;
  bool load_c = false;
  Activation act = Activation::kNone;
  const float* bias = nullptr;      // [nr], the tile's first column
  const float* residual = nullptr;  // [mr, ldr], the tile's top-left element
  int64_t ldr = 0;
  // Memory the kernel should start fetching into L2 while it computes: one 64-byte line per k step
  // from here (kc lines in all), or null. The driver points it at the next packed op(B) panel when
  // the weights stream from DRAM (see gemm_blocked).
  const float* prefetch = nullptr;
};

// Full-tile micro-kernel (tile mr x nr of its CpuKernels).
//   a: op(A) rows, element (i, k) at a[i * a_rs + k * a_cs]; packed panels use a_rs = 1, a_cs = mr
//   b: op(B) rows, row k is the nr contiguous floats at b + k * b_rs; packed panels use b_rs = nr
//   c: [mr, ldc]
using MicroKernelFn = void (*)(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t b_rs,
                               float* c, int64_t ldc, const TileArgs& t);

// Packs op(B)[0:kc, 0:nr_used] for trans_b (B stored N x K, row stride ldb, starting at the panel's
// first column and k) into one kc x nr panel, zero-filling columns nr_used..nr-1.
using PackBTransFn = void (*)(int64_t kc, int nr_used, const float* b, int64_t ldb, float* dst);

// Packs a full mr-row panel of op(A) = A (not transposed: rows of lda floats, contiguous in k) into
// kc x mr, k-major: dst[k * mr + r] = a[r * lda + k]. Optional (null: the driver's scalar loop).
using PackARowsFn = void (*)(int64_t kc, const float* a, int64_t lda, float* dst);

// In-place activation over x[0:n].
using ActivationFn = void (*)(Activation act, float* x, int64_t n);

struct CpuKernels {
  const char* name;
  MicroKernelFn micro_kernel;
  PackBTransFn pack_b_trans;
  ActivationFn activation;
  PackARowsFn pack_a_rows;  // may be null
  int mr, nr;               // register tile; mr <= kMaxMR, nr <= kMaxNR
  int64_t mc, kc, nc;       // cache blocking: mc a multiple of mr, nc of nr
};

// The ISA kernels, or nullptr when this build has none (non-x86). The caller checks the CPU.
const CpuKernels* avx2_kernels();
const CpuKernels* avx512_kernels();
const CpuKernels* portable_kernels();

// The kernel set sgemm uses now (gemm_dispatch.cc).
const CpuKernels& active_kernels();

// Forces one kernel set process-wide ("portable", "avx2" or "avx512"; nullptr or "" restores the
// automatic choice). Returns false, changing nothing, when this CPU or build cannot run it. The
// INFORMER_GEMM_KERNEL environment variable does the same once at start-up.
bool gemm_force_kernel(const char* name);

}  // namespace gemm_internal
}  // namespace informer
