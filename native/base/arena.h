// Activation workspace: a bump allocator that grows while a pass runs and then consolidates into
// one block, so that after the first pass of a given batch size no step allocates memory.
// mark()/rewind() release everything allocated after a mark: layers use it to drop their
// temporaries (inference, and the backward pass) so the peak stays near what must be kept.
// Blocks come from the host heap, or from a device allocator (SetAllocator) for a GPU model: the
// arena never touches the memory it hands out.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "base/huge_pages.h"

namespace informer {

class Arena {
 public:
  // Block allocation on the model's device; alloc throws std::bad_alloc when out of memory.
  struct Allocator {
    void* (*alloc)(void* ctx, size_t bytes) = nullptr;
    void (*free)(void* ctx, void* p) = nullptr;
    void* ctx = nullptr;
  };
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() { Release(); }

  // Frees every block and allocates from `a` from now on (a default Allocator is the host heap).
  void SetAllocator(const Allocator& a) {
    Release();
    allocator_ = a;
  }

  struct Mark {
    size_t block, used, total;
  };

  // Returns 64-byte aligned storage for n floats, valid until it is rewound past or Reset().
  float* Alloc(size_t n) {
    n = (n + 15) & ~size_t(15);
    if (blocks_.empty()) NewBlock(n);
    while (used_ + n > blocks_[cur_].size) {
      if (cur_ + 1 < blocks_.size()) {
        ++cur_;
        used_ = 0;
      } else {
        NewBlock(n);
      }
    }
    float* p = blocks_[cur_].data + used_;
    used_ += n;
    total_ += n;
    if (total_ > peak_) peak_ = total_;
    return p;
  }

  Mark mark() const { return {cur_, used_, total_}; }
  void rewind(const Mark& m) {
    cur_ = m.block;
    used_ = m.used;
    total_ = m.total;
  }

  // Frees nothing; if the last pass needed more than one block, replace them with one block of the
  // peak size so the next pass of the same size bump-allocates from a single region.
  void Reset() {
    if (blocks_.size() > 1) {
      Release();
      NewBlock(peak_);
    }
    cur_ = 0;
    used_ = 0;
    total_ = 0;
  }

  size_t capacity_bytes() const {
    size_t s = 0;
    for (const Block& b : blocks_) s += b.size * sizeof(float);
    return s;
  }
  size_t peak_bytes() const { return peak_ * sizeof(float); }

  // Host blocks from this size on are whole 2 MiB pages marked for transparent huge pages (Linux; the
  // mark matters where THP is in "madvise" mode, as on the benchmark machine): a training step's
  // activations (hundreds of MB, read with large strides when GEMMs pack them) then cost far fewer TLB
  // misses. Paper train step: ~3% faster over 12 alternating pairs. Smaller blocks (batch-1
  // inference) keep ordinary pages.
  static constexpr size_t kHugeBlockBytes = size_t{8} << 20;

 private:
  struct Block {
    void* storage;
    float* data;
    size_t size;
    bool huge_pages;  // storage from HugePageAlloc
  };
  void Release() {
    for (Block& b : blocks_) {
      if (allocator_.free)
        allocator_.free(allocator_.ctx, b.storage);
      else if (b.huge_pages)
        std::free(b.storage);
      else
        ::operator delete(b.storage);
    }
    blocks_.clear();
    cur_ = used_ = total_ = 0;
  }
  // Appends a block (at least twice the last one, so growth is geometric) and makes it current.
  void NewBlock(size_t min_floats) {
    size_t size = min_floats;
    if (!blocks_.empty() && blocks_.back().size * 2 > size) size = blocks_.back().size * 2;
    Block b;
    const size_t bytes = (size + 64) * sizeof(float);
    b.huge_pages = false;
    if (allocator_.alloc) {
      b.storage = allocator_.alloc(allocator_.ctx, bytes);
    } else if (bytes >= kHugeBlockBytes && (b.storage = HugePageAlloc(bytes))) {
      b.huge_pages = true;
    } else {
      b.storage = ::operator new(bytes);
    }
    const uintptr_t addr = reinterpret_cast<uintptr_t>(b.storage);
    b.data = reinterpret_cast<float*>((addr + 63) & ~uintptr_t(63));
    b.size = size;
    blocks_.push_back(std::move(b));
    cur_ = blocks_.size() - 1;
    used_ = 0;
  }
  std::vector<Block> blocks_;
  Allocator allocator_;
  size_t cur_ = 0, used_ = 0, total_ = 0, peak_ = 0;
};

}  // namespace informer
