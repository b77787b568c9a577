// Device memory: what can allocate it (every Ops, and the CUDA runtime itself for tests and
// benchmarks), and the one owning buffer type over it.
#pragma once
#include <cstddef>
#include <new>

#include "base/status.h"

namespace informer {

class DeviceAllocator {
 public:
  virtual ~DeviceAllocator() = default;
  // Throws std::bad_alloc when the device is full.
  virtual void* Malloc(size_t bytes) = 0;
  virtual void Free(void* p) = 0;
};

// Memory from an allocator, returned to it when the buffer goes (moves only).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { Reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : allocator_(o.allocator_), ptr_(o.ptr_), bytes_(o.bytes_) { o.Forget(); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      Reset();
      allocator_ = o.allocator_, ptr_ = o.ptr_, bytes_ = o.bytes_;
      o.Forget();
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // Holds `bytes` from `allocator`: kept as is when that is already so, else reallocated (contents
  // lost). Throws std::bad_alloc when the device is full.
  void Allocate(DeviceAllocator* allocator, size_t bytes) {
    if (allocator == allocator_ && bytes == bytes_ && ptr_) return;
    Reset();
    if (bytes == 0) return;
    ptr_ = allocator->Malloc(bytes);
    allocator_ = allocator, bytes_ = bytes;
  }
  // Allocate, with a full device reported as a kOutOfMemory Status.
  Status Resize(DeviceAllocator* allocator, size_t bytes) {
    try {
      Allocate(allocator, bytes);
    } catch (const std::bad_alloc&) {
      return Status(StatusCode::kOutOfMemory, "out of device memory allocating " + std::to_string(bytes) + " bytes");
    }
    return Status::Ok();
  }
  void Reset() {
    if (ptr_) allocator_->Free(ptr_);
    Forget();
  }

  template <typename T = float>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  template <typename T = float>
  size_t count() const {
    return bytes_ / sizeof(T);
  }

 private:
  void Forget() { allocator_ = nullptr, ptr_ = nullptr, bytes_ = 0; }
  DeviceAllocator* allocator_ = nullptr;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace informer
