// Single-precision GEMM for the Informer kernels: packed, cache-blocked, with an AVX2/FMA
// micro-kernel chosen at run time (portable fallback otherwise) and a fused epilogue.
//
//   C[M,N] = act(alpha * op(A)[M,K] * op(B)[K,N] + beta * C + bias[N]) + residual[M,N]
// residual may be C itself (an in-place x = x + f(x)).
//
// Row-major throughout. op(A) = A (lda >= K) or A^T (A stored K x M, lda >= M); same for B.
// A Linear layer y = x W^T + b with W [out, in] is sgemm(false, true, rows, out, in, 1, x, in, W, in,
// 0, y, out, {b}). beta == 0 means C is not read (it may hold garbage or NaN).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/op_types.h"

namespace informer {

class ThreadPool;

// From this many multiply-adds (M * N * K) a product is split over the pool (gemm.cc says why).
constexpr double kGemmParallelWork = 1 << 22;

// pool == nullptr runs single-threaded. Problems under kGemmParallelWork run single-threaded regardless.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
           const GemmEpilogue& epilogue = GemmEpilogue(), ThreadPool* pool = nullptr);

// A weight W [N, K] (row-major, as a Linear's [out, in]) packed once into the micro-kernel's panels of
// op(B) = W^T, for GEMMs that reuse it with few rows: at batch 1 packing W on every call cost as much
// as a third of the multiply-adds. Tied to the kernel set active when packed; sgemm_packed_b falls
// back to packing per call if that changed.
class PackedB {
 public:
  // Floats a packing of W [n, k] takes with the kernel set active now.
  static size_t floats_for(int64_t n, int64_t k);

  void pack(const float* w, int64_t n, int64_t k, ThreadPool* pool);
  // As pack, into `storage` (at least floats_for(n, k) floats, 64-byte aligned, owned by the caller
  // and kept for as long as this packing is used) instead of memory of its own.
  void pack_into(float* storage, const float* w, int64_t n, int64_t k, ThreadPool* pool);
  bool usable(int64_t n, int64_t k) const;
  const float* data() const { return storage_ ? storage_ : own_.data(); }
  size_t bytes() const { return storage_ ? floats_ * sizeof(float) : own_.capacity() * sizeof(float); }

 private:
  void pack_to(float* dst, const float* w, int64_t n, int64_t k, ThreadPool* pool);
  std::vector<float> own_;
  float* storage_ = nullptr;  // the caller's memory (pack_into), else own_
  size_t floats_ = 0;
  int64_t N_ = 0, K_ = 0;
  const char* kernel_ = nullptr;
};

// sgemm(false, true, M, N, K, 1, A, lda, B, K, beta, C, ldc, epilogue, pool) with op(B) taken from
// `packed` (packed from this B) when it is usable.
void sgemm_packed_b(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, const PackedB& packed,
                    float beta, float* C, int64_t ldc, const GemmEpilogue& epilogue, ThreadPool* pool);

// Name of the micro-kernel chosen for this CPU: "avx2-fma" or "portable".
const char* gemm_kernel_name();

// Exact GELU (erf form, as torch.nn.functional.gelu) and the activation helper the epilogue uses.
float gelu(float x);
void apply_activation(Activation act, float* x, int64_t n);

}  // namespace informer
