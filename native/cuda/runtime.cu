// The CUDA runtime behind runtime.h.
#include <cstdio>
#include <new>

#include "cuda/compat.h"
#include "cuda/runtime.h"

namespace informer::cuda {
namespace {
Status Fail(cudaError_t e, const char* where) {
  const StatusCode code = e == cudaErrorMemoryAllocation ? StatusCode::kOutOfMemory : StatusCode::kInternal;
  return Status(
      code, std::string("CUDA error in ") + where + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}
}  // namespace

int DeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // a missing driver is not an error for the caller
    return 0;
  }
  return n;
}

namespace {
// Why cudaGetDeviceCount failed, in words a user can act on.
std::string NoDeviceReason(cudaError_t e) {
#if defined(__CUDACC__)
  if (e == cudaErrorInsufficientDriver) {
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    cudaGetLastError();
    auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
    if (driver == 0) return "no NVIDIA driver is installed";
    return "the NVIDIA driver supports CUDA " + version(driver) + ", older than this build's CUDA " + version(runtime);
  }
#endif
  return cudaGetErrorString(e);
}
}  // namespace

std::string DeviceDescription(int device) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return "no usable CUDA device: " + NoDeviceReason(e);
  }
  if (device < 0 || device >= n) return "no CUDA device " + std::to_string(device);
#if defined(__CUDACC__)
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) {
    cudaGetLastError();
    return "CUDA device " + std::to_string(device);
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %.1f GiB)", p.name, p.major, p.minor,
                static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return buf;
#else
  return "CUDA emulator on the CPU";
#endif
}

Status LastError(const char* where) {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? Status::Ok() : Fail(e, where);
}

Status Synchronize(Stream stream, const char* where) {
  const cudaError_t e = cudaStreamSynchronize(stream);
  if (e != cudaSuccess) return Fail(e, where);
  return LastError(where);
}

Status DeviceAlloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  const cudaError_t e = cudaMalloc(ptr, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    *ptr = nullptr;
    return Fail(e, "cudaMalloc");
  }
  return Status::Ok();
}

void DeviceFree(void* ptr) {
  if (ptr) cudaFree(ptr);
}

namespace {
class Runtime final : public DeviceAllocator {
 public:
  void* Malloc(size_t bytes) override {
    void* p = nullptr;
    if (!DeviceAlloc(&p, bytes).ok()) throw std::bad_alloc();
    return p;
  }
  void Free(void* p) override { DeviceFree(p); }
};
}  // namespace

DeviceAllocator* RuntimeAllocator() {
  static Runtime runtime;
  return &runtime;
}

Status CopyToDevice(void* dst, const void* src, size_t bytes, Stream stream) {
  if (bytes == 0) return Status::Ok();
  const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream);
  return e == cudaSuccess ? Status::Ok() : Fail(e, "copy to device");
}

Status CopyToHost(void* dst, const void* src, size_t bytes, Stream stream) {
  if (bytes == 0) return Status::Ok();
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
  return e == cudaSuccess ? Status::Ok() : Fail(e, "copy to host");
}

Status CopyOnDevice(void* dst, const void* src, size_t bytes, Stream stream) {
  if (bytes == 0 || dst == src) return Status::Ok();
  const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream);
  return e == cudaSuccess ? Status::Ok() : Fail(e, "copy on device");
}

Status CopyRowsOnDevice(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes, size_t rows,
                        Stream stream) {
  if (rows == 0 || row_bytes == 0) return Status::Ok();
  const cudaError_t e =
      cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, row_bytes, rows, cudaMemcpyDeviceToDevice, stream);
  return e == cudaSuccess ? Status::Ok() : Fail(e, "row copy on device");
}

Status ZeroDevice(void* ptr, size_t bytes, Stream stream) {
  if (bytes == 0) return Status::Ok();
  const cudaError_t e = cudaMemsetAsync(ptr, 0, bytes, stream);
  return e == cudaSuccess ? Status::Ok() : Fail(e, "memset on device");
}

}  // namespace informer::cuda
