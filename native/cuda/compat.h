// What every CUDA source (.cu) includes instead of <cuda_runtime.h>: the same kernel source builds
// with nvcc for the GPU, or as plain C++ against the CPU emulator (native/cuda/emu) so the kernel
// tests run on machines without a GPU. Kernels use only what is portable between the two:
//   - informer::cuda::Launch(kernel, grid, block, smem_bytes, stream, args...) instead of <<< >>>
//   - INFORMER_DYNAMIC_SHARED(T, name) instead of `extern __shared__ T name[]`
//   - __shared__ arrays, __syncthreads, __syncwarp, __shfl_*_sync with all 32 lanes, atomics.
#pragma once

#if defined(__CUDACC__)
#include <cuda_runtime.h>

#include <utility>

// One raw byte array per translation unit, so kernels of different element types can share it.
#define INFORMER_DYNAMIC_SHARED(T, name)                                  \
  extern __shared__ __align__(16) unsigned char informer_dynamic_smem_[]; \
  T* name = reinterpret_cast<T*>(informer_dynamic_smem_)

namespace informer::cuda {
template <typename... KArgs, typename... Args>
inline void Launch(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem_bytes, cudaStream_t stream,
                   Args&&... args) {
  kernel<<<grid, block, smem_bytes, stream>>>(static_cast<KArgs>(std::forward<Args>(args))...);
}
}  // namespace informer::cuda

#else
#include "cuda/emu/cuda_emu.h"
#endif

namespace informer::cuda {
constexpr int kWarpSize = 32;
constexpr unsigned kFullMask = 0xffffffffu;
inline unsigned CeilDiv(int64_t n, int64_t d) { return static_cast<unsigned>((n + d - 1) / d); }
}  // namespace informer::cuda
