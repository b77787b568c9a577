// Host memory on transparent huge pages (Linux): whole 2 MiB pages, aligned to one and marked
// MADV_HUGEPAGE, so that memory streamed through in large runs (a training step's activations, a
// model's packed weights at batch 1) costs far fewer TLB misses. The mark matters where THP is in
// "madvise" mode, as on the benchmark machine; where THP is off the pages simply stay ordinary.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace informer {

constexpr size_t kHugePageBytes = size_t{2} << 20;

inline size_t RoundUpToHugePages(size_t bytes) {
  return (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
}

// RoundUpToHugePages(bytes) bytes; nullptr elsewhere than Linux or when the memory cannot be had (the
// caller then takes ordinary pages). Free with std::free.
inline void* HugePageAlloc(size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const size_t rounded = RoundUpToHugePages(bytes);
  void* p = std::aligned_alloc(kHugePageBytes, rounded);
  if (p) madvise(p, rounded, MADV_HUGEPAGE);  // a hint: without THP the pages stay ordinary
  return p;
#else
  (void)bytes;
  return nullptr;
#endif
}

// Bump allocation of long-lived buffers from huge-page chunks, all freed together with the slab.
// Many buffers of about a megabyte (a model's packed weights) share pages instead of each rounding
// up to its own 2 MiB. Not thread-safe: its owner serialises calls.
class HugePageSlab {
 public:
  // Chunks are at least this large (address space; only pages written to take memory).
  static constexpr size_t kChunkBytes = size_t{16} << 20;

  HugePageSlab() = default;
  HugePageSlab(const HugePageSlab&) = delete;
  HugePageSlab& operator=(const HugePageSlab&) = delete;
  ~HugePageSlab() {
    for (void* c : chunks_) std::free(c);
  }

  // 64-byte aligned storage for n floats, valid until the slab goes; nullptr when huge pages cannot
  // be had here.
  float* Alloc(size_t n) {
    const size_t bytes = (n * sizeof(float) + 63) & ~size_t(63);
    if (bytes > left_) {
      const size_t chunk = bytes > kChunkBytes ? bytes : kChunkBytes;
      void* c = HugePageAlloc(chunk);
      if (!c) return nullptr;
      chunks_.push_back(c);
      next_ = static_cast<char*>(c);
      left_ = RoundUpToHugePages(chunk);
    }
    float* p = reinterpret_cast<float*>(next_);
    next_ += bytes;
    left_ -= bytes;
    used_ += bytes;
    return p;
  }
  size_t used_bytes() const { return used_; }

 private:
  std::vector<void*> chunks_;
  char* next_ = nullptr;
  size_t left_ = 0, used_ = 0;
};

}  // namespace informer
