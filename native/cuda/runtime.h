// Host-side view of the CUDA runtime for the rest of the package: device discovery, errors as
// Status, and device memory. No CUDA header leaks out of here, so core code compiled by the host
// compiler can call the CUDA kernels (native/cuda/*.h) without nvcc.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/device_buffer.h"
#include "base/status.h"

struct CUstream_st;

namespace informer::cuda {

// Identical to cudaStream_t (`struct CUstream_st*`); nullptr is the legacy default stream.
using Stream = CUstream_st*;

// Number of usable CUDA devices; 0 when there is no driver, no GPU, or the driver is too old
// (never an error: a CUDA-enabled build must still run on CPU-only machines).
int DeviceCount();
// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)", or the reason no device can be used.
std::string DeviceDescription(int device = 0);

// The error raised by the last launch or runtime call on this thread (clears it), as a Status
// naming `where`; Ok when there was none.
Status LastError(const char* where);
Status Synchronize(Stream stream, const char* where);

Status DeviceAlloc(void** ptr, size_t bytes);
void DeviceFree(void* ptr);
Status CopyToDevice(void* dst, const void* src, size_t bytes, Stream stream);
Status CopyToHost(void* dst, const void* src, size_t bytes, Stream stream);  // waits for the copy
Status CopyOnDevice(void* dst, const void* src, size_t bytes, Stream stream);
// Copies `rows` rows of `row_bytes` between pitched regions on the device.
Status CopyRowsOnDevice(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes, size_t rows,
                        Stream stream);
Status ZeroDevice(void* ptr, size_t bytes, Stream stream);

// The CUDA runtime as a DeviceAllocator (cudaMalloc / cudaFree), for DeviceBuffers outside a model
// (tests, benchmarks); a model allocates through its CudaOps.
DeviceAllocator* RuntimeAllocator();

}  // namespace informer::cuda
