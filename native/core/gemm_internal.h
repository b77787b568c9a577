// Internal contract between the GEMM driver (gemm.cc, portable code) and the ISA-specific kernels
// (gemm_avx2.cc, compiled with -mavx2 -mfma). Only plain declarations live here: an inline function
// or template instantiated in both translation units could be merged by the linker into the AVX2
// copy and then run on a CPU without AVX2.
#pragma once
#include <cstdint>

#include "core/gemm.h"

namespace informer {
namespace gemm_internal {

// Register tile of every micro-kernel: kMR rows of op(A) x kNR columns of op(B).
constexpr int kMR = 6;
constexpr int kNR = 16;

// What a micro-kernel does with its kMR x kNR accumulator tile `acc` (= op(A) * op(B) over kc):
//   v = alpha * acc + (load_c ? beta * C : 0)
//   v = act(v + bias) + residual          (bias, residual may be null; act is kNone when unused)
//   C = v
// The driver passes bias/act/residual only with the last K block, and beta = 1 for later blocks.
struct TileArgs {
  float alpha = 1.0f;
  float beta = 0.0f;
  bool load_c = false;
  Activation act = Activation::kNone;
  const float* bias = nullptr;      // [kNR], the tile's first column
  const float* residual = nullptr;  // [kMR, ldr], the tile's top-left element
  int64_t ldr = 0;
};

// Full-tile micro-kernel.
//   a: op(A) rows, element (i, k) at a[i * a_rs + k * a_cs]; packed panels use a_rs = 1, a_cs = kMR
//   b: op(B) rows, row k is the kNR contiguous floats at b + k * b_rs; packed panels use b_rs = kNR
//   c: [kMR, ldc]
using MicroKernelFn = void (*)(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                               int64_t b_rs, float* c, int64_t ldc, const TileArgs& t);

// Packs op(B)[0:kc, 0:nr] for trans_b (B stored N x K, row stride ldb, starting at the panel's first
// column and k) into one kc x kNR panel, zero-filling columns nr..kNR-1.
using PackBTransFn = void (*)(int64_t kc, int nr, const float* b, int64_t ldb, float* dst);

// In-place activation over x[0:n].
using ActivationFn = void (*)(Activation act, float* x, int64_t n);

struct CpuKernels {
  const char* name;
  MicroKernelFn micro_kernel;
  PackBTransFn pack_b_trans;
  ActivationFn activation;
};

// The AVX2/FMA kernels, or nullptr when this build has none (non-x86). The caller checks the CPU.
const CpuKernels* avx2_kernels();

// Tests only: force the portable kernels even where AVX2/FMA is available (process-wide).
void gemm_force_portable(bool on);

}  // namespace gemm_internal
}  // namespace informer
