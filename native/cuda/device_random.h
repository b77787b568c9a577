// The stateless hash behind GPU dropout (see DropoutRng in pointwise.h). Host and device share it, so
// tests can rebuild on the CPU exactly the mask a kernel drew.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define INFORMER_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define INFORMER_HOST_DEVICE inline
#endif

namespace informer::cuda {

// splitmix64's finaliser over seed and counter: well mixed, no state, any thread any order.
INFORMER_HOST_DEVICE uint64_t HashCounter(uint64_t seed, uint64_t counter) {
  uint64_t z = seed + (counter + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 random bits.
INFORMER_HOST_DEVICE float UniformAt(uint64_t seed, uint64_t counter) {
  return static_cast<float>(HashCounter(seed, counter) >> 40) * (1.0f / 16777216.0f);
}

// Whether element `counter` survives dropout with probability p.
INFORMER_HOST_DEVICE bool DropoutKeep(uint64_t seed, uint64_t counter, float p) {
  return UniformAt(seed, counter) >= p;
}

}  // namespace informer::cuda
