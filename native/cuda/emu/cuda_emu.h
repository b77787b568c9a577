// A CPU emulator of the small part of CUDA the package's kernels use, so the very same kernel
// source is tested on machines without a GPU (the default CI). Each block runs on its own: every
// thread of the block is a fiber (ucontext) that yields at __syncthreads / __syncwarp / warp
// shuffles, so barriers, shared memory and warp exchanges behave as on the GPU (without the
// concurrency: it checks logic, indexing and synchronisation points, not speed). Between barriers
// the threads run in a shuffled order (INFORMER_EMU_SCHEDULE=<seed>, or in-order), so a missing
// barrier or a reliance on implicit warp lock-step shows up as a wrong result. Launch
// limits are enforced like the driver does (1024 threads per block, 48 KiB of dynamic shared
// memory unless raised), dynamic shared memory starts as NaN bytes so reads before writes show up,
// and a barrier that can never complete aborts with a message instead of hanging.
// Only the kernel tests compile against it (INFORMER_CUDA_EMULATION); the addon never does.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __shared__ static
#define __constant__ static
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};

// Defined here (inline, constant-initialised) rather than `extern`: a thread_local defined in another
// translation unit is read through a TLS wrapper, and GCC 12's UndefinedBehaviorSanitizer null check
// after that wrapper tests stale flags and reports a null pointer that is not there.
inline thread_local uint3 threadIdx{};
inline thread_local uint3 blockIdx{};
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;
constexpr int warpSize = 32;

// ---- runtime API ----
enum cudaError_t : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
};
enum cudaMemcpyKind : int {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaFuncAttribute : int { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
struct CUstream_st;
typedef CUstream_st* cudaStream_t;
struct CUevent_st;
typedef CUevent_st* cudaEvent_t;

cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemset(void* ptr, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t s = nullptr);
cudaError_t cudaStreamCreate(cudaStream_t* s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t e);
const char* cudaGetErrorName(cudaError_t e);
template <typename F>
cudaError_t cudaFuncSetAttribute(F*, cudaFuncAttribute attr, int value);

// ---- device intrinsics ----
namespace informer_emu {
void SyncThreads();
void SyncWarp();
// Lane `lane` of the calling warp publishes `bytes` at `value`; returns lane src's published bytes
// into out after every lane of the warp has published.
void WarpExchange(const void* value, int src_lane, void* out, size_t bytes);
unsigned char* DynamicShared();
int LaneId();
void SetMaxDynamicShared(const void* kernel, int bytes);
void RunGrid(const void* kernel, dim3 grid, dim3 block, size_t smem_bytes, const std::function<void()>& body);
void SetLastError(cudaError_t e);
}  // namespace informer_emu

template <typename F>
cudaError_t cudaFuncSetAttribute(F* f, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize)
    informer_emu::SetMaxDynamicShared(reinterpret_cast<const void*>(f), value);
  return cudaSuccess;
}

inline void __syncthreads() { informer_emu::SyncThreads(); }
inline void __syncwarp(unsigned = 0xffffffffu) { informer_emu::SyncWarp(); }
inline unsigned __activemask() { return 0xffffffffu; }

template <typename T>
T __shfl_sync(unsigned, T v, int src, int width = 32) {
  const int lane = informer_emu::LaneId();
  const int base = lane - lane % width;
  T out;
  informer_emu::WarpExchange(&v, base + ((src % width) + width) % width, &out, sizeof(T));
  return out;
}
template <typename T>
T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
  const int lane = informer_emu::LaneId();
  const int base = lane - lane % width;
  const int src = base + ((lane % width) ^ mask);
  T out;
  informer_emu::WarpExchange(&v, src < base + width ? src : lane, &out, sizeof(T));
  return out;
}
template <typename T>
T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  const int lane = informer_emu::LaneId();
  const int in_seg = lane % width;
  const int src = in_seg + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  T out;
  informer_emu::WarpExchange(&v, src, &out, sizeof(T));
  return out;
}
template <typename T>
T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  const int lane = informer_emu::LaneId();
  const int in_seg = lane % width;
  const int src = in_seg >= static_cast<int>(delta) ? lane - static_cast<int>(delta) : lane;
  T out;
  informer_emu::WarpExchange(&v, src, &out, sizeof(T));
  return out;
}
unsigned __ballot_sync(unsigned mask, int predicate);
inline int __any_sync(unsigned mask, int p) { return __ballot_sync(mask, p) != 0; }
inline int __all_sync(unsigned mask, int p) { return __ballot_sync(mask, p) == 0xffffffffu; }

// Fibers only switch at barriers, so read-modify-write is atomic here.
template <typename T>
T atomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
template <typename T>
T atomicMax(T* p, T v) {
  const T old = *p;
  *p = old > v ? old : v;
  return old;
}
template <typename T>
T atomicMin(T* p, T v) {
  const T old = *p;
  *p = old < v ? old : v;
  return old;
}
template <typename T>
T atomicExch(T* p, T v) {
  const T old = *p;
  *p = v;
  return old;
}
template <typename T>
T atomicCAS(T* p, T compare, T v) {
  const T old = *p;
  if (old == compare) *p = v;
  return old;
}

template <typename T>
inline T __ldg(const T* p) {
  return *p;
}
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
inline int __float_as_int(float f) {
  int i;
  std::memcpy(&i, &f, 4);
  return i;
}
inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
inline unsigned __float_as_uint(float f) {
  unsigned i;
  std::memcpy(&i, &f, 4);
  return i;
}
inline float __uint_as_float(unsigned i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
using std::max;
using std::min;

struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline float2 make_float2(float x, float y) { return {x, y}; }

#define INFORMER_DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(::informer_emu::DynamicShared())

namespace informer::cuda {
template <typename... KArgs, typename... Args>
inline void Launch(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem_bytes, cudaStream_t, Args&&... args) {
  auto body = [kernel, args...]() { kernel(static_cast<KArgs>(args)...); };
  informer_emu::RunGrid(reinterpret_cast<const void*>(kernel), grid, block, smem_bytes, body);
}
}  // namespace informer::cuda
