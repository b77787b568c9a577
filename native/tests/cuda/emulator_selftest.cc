// Checks the CUDA emulator itself (only built against it): barriers, shared and dynamic shared
// memory, warp shuffles, early-exiting threads, and launch-limit errors, on kernels with known answers.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cuda/compat.h"
#include "cuda_test_util.h"

namespace {

// Block sum: warp shuffles, then one value per warp through shared memory.
__global__ void BlockSum(const float* x, int n, float* out) {
  __shared__ float partial[32];
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  float v = i < n ? x[i] : 0.f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : 0.f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) out[blockIdx.x] = v;
  }
}

// Reverses each block's slice through dynamic shared memory (needs the barrier to be right).
__global__ void ReverseBlock(const float* x, float* y) {
  INFORMER_DYNAMIC_SHARED(float, tile);
  const int base = blockIdx.x * blockDim.x;
  tile[threadIdx.x] = x[base + threadIdx.x];
  __syncthreads();
  y[base + threadIdx.x] = tile[blockDim.x - 1 - threadIdx.x];
}

// ReverseBlock with the barrier forgotten: a race the emulator's shuffled schedule must expose.
__global__ void ReverseBlockRacy(const float* x, float* y) {
  INFORMER_DYNAMIC_SHARED(float, tile);
  const int base = blockIdx.x * blockDim.x;
  tile[threadIdx.x] = x[base + threadIdx.x];
  y[base + threadIdx.x] = tile[blockDim.x - 1 - threadIdx.x];
}

// Threads past n return before a barrier the others still reach.
__global__ void EarlyExit(int n, int* count) {
  if (static_cast<int>(threadIdx.x) >= n) return;
  __syncthreads();
  atomicAdd(count, 1);
}

__global__ void Noop(float*) {}

}  // namespace

int main() {
  test::Rng rng(7);
  const int n = 1000, threads = 256, blocks = (n + threads - 1) / threads;
  std::vector<float> x = rng.uniform_vector(n);
  test::DeviceVec<float> dx(x), dsum(blocks);
  informer::cuda::Launch(BlockSum, dim3(blocks), dim3(threads), 0, nullptr, dx.get(), n, dsum.get());
  test::sync_ok("BlockSum");
  const std::vector<float> sums = dsum.host();
  for (int b = 0; b < blocks; ++b) {
    double want = 0;
    for (int i = b * threads; i < std::min(n, (b + 1) * threads); ++i) want += x[i];
    CHECK_NEAR(sums[b], want, 1e-4);
  }

  std::vector<float> r = rng.uniform_vector(4 * 128);
  test::DeviceVec<float> dr(r), dy(4 * 128);
  informer::cuda::Launch(ReverseBlock, dim3(4), dim3(128), 128 * sizeof(float), nullptr, dr.get(), dy.get());
  test::sync_ok("ReverseBlock");
  const std::vector<float> y = dy.host();
  bool reversed = true;
  for (int b = 0; b < 4; ++b)
    for (int t = 0; t < 128; ++t) reversed = reversed && y[b * 128 + t] == r[b * 128 + 127 - t];
  CHECK(reversed);

  // Without the barrier some thread reads its partner's slot before the partner wrote it (the NaN
  // bytes dynamic shared memory starts with), unless INFORMER_EMU_SCHEDULE=in-order.
  const char* schedule = std::getenv("INFORMER_EMU_SCHEDULE");
  if (!schedule || std::strcmp(schedule, "in-order") != 0) {
    test::DeviceVec<float> racy(4 * 128);
    informer::cuda::Launch(ReverseBlockRacy, dim3(4), dim3(128), 128 * sizeof(float), nullptr, dr.get(), racy.get());
    test::sync_ok("ReverseBlockRacy");
    const std::vector<float> got = racy.host();
    int64_t wrong = 0;
    for (int i = 0; i < 4 * 128; ++i) wrong += !(got[i] == y[i]);
    CHECK_MSG(wrong > 0, "a missing __syncthreads goes unnoticed");
  }

  test::DeviceVec<int> count(1, 0);
  informer::cuda::Launch(EarlyExit, dim3(1), dim3(96), 0, nullptr, 40, count.get());
  test::sync_ok("EarlyExit");
  CHECK_EQ(count.host()[0], 40);

  // Launch limits: too many threads, too much dynamic shared memory.
  informer::cuda::Launch(Noop, dim3(1), dim3(2048), 0, nullptr, dx.get());
  CHECK(!informer::cuda::LastError("oversized block").ok());
  informer::cuda::Launch(Noop, dim3(1), dim3(32), 64 * 1024, nullptr, dx.get());
  CHECK(!informer::cuda::LastError("oversized shared memory").ok());
  cudaFuncSetAttribute(Noop, cudaFuncAttributeMaxDynamicSharedMemorySize, 96 * 1024);
  informer::cuda::Launch(Noop, dim3(1), dim3(32), 64 * 1024, nullptr, dx.get());
  CHECK(informer::cuda::LastError("raised shared memory").ok());
  return test::finish("emulator_selftest");
}
