// Warp-level reductions shared by the kernels. Butterfly (xor) shuffles: every lane ends with the
// same bits, because each step adds or compares the same pair of values, commuted.
#pragma once
#include "cuda/compat.h"

namespace informer::cuda {

__device__ __forceinline__ float WarpSum(float v) {
  for (int o = kWarpSize / 2; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

__device__ __forceinline__ float WarpMax(float v) {
  for (int o = kWarpSize / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

}  // namespace informer::cuda
