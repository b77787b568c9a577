// Single-precision GEMM on the GPU with the same contract as informer::sgemm (core/gemm.h):
//   C[M,N] = act(alpha * op(A) op(B) + beta * C + bias[N]) + residual[M,N], row-major,
// op(X) = X or X^T (X stored transposed, ld >= its row length). beta == 0 never reads C; the
// residual may be C itself. cuBLAS does the product when the toolkit has it (INFORMER_HAVE_CUBLAS),
// followed by one fused epilogue kernel; otherwise the package's own tiled kernel fuses everything.
#pragma once
#include <cstdint>

#include "base/op_types.h"
#include "cuda/runtime.h"

namespace informer::cuda {

void Sgemm(Stream stream, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
           const GemmEpilogue& epilogue = GemmEpilogue());

// `batch` independent products C_i = alpha op(A_i) op(B_i) + beta C_i with A_i = A + i * stride_a etc.
// (no epilogue).
void SgemmStridedBatched(Stream stream, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b,
                         float beta, float* C, int64_t ldc, int64_t stride_c, int64_t batch);

// fp32 is exact single precision; tf32 / bf16 let the tensor cores round the inputs (cuBLAS only;
// the tiled kernel always computes in fp32). Process-wide.
enum class GemmPrecision : int { kFp32 = 0, kTf32 = 1, kBf16 = 2 };
void SetGemmPrecision(GemmPrecision p);
GemmPrecision GetGemmPrecision();

// "cublas" or "tiled".
const char* GemmBackendName();

}  // namespace informer::cuda
