// Packed copies of the weights that small-row GEMMs multiply by (batch-1 inference), so each weight
// is packed once instead of on every call. Keyed by the weight's address; Invalidate() (the model's
// parameters may have changed) makes every entry repack on its next use, into the memory it has.
// A model and its split-batch replicas share one cache, whose parts call it from their threads: a
// lock guards it, and entries (nodes of the maps) stay where they are until the cache goes, so a
// reference returned stays valid while the weights do not change.
// Packings of 256 KiB or more share transparent huge pages (a HugePageSlab): at batch 1 the paper
// model streams its 43 MB of packed weights through every forward, and on 4 KiB pages that is a TLB
// miss every 4 KiB (paper forward at batch 1, 16 alternating pairs: median 1.01x, up to 1.08x in the
// host's slow windows). Each keeps its place in the slab when repacked.
#pragma once
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/huge_pages.h"
#include "cpu/gemm.h"

namespace informer {

class WeightCache {
 public:
  // Up to this many rows a Linear or distilling conv uses the cache; above it, packing on the fly is
  // a small part of the product (a 256-row GEMM does 256 multiply-adds per packed element).
  static constexpr int64_t kMaxRows = 256;

  // The packing of W [n, k] (row-major), packed now if missing or stale.
  const PackedB& Get(const float* w, int64_t n, int64_t k, ThreadPool* pool);

  // A circular kernel-3 conv weight [c_out, c_in, 3] in tap-major order (TapMajorConv3Weight), and with
  // `pack` its packing, made now if missing or stale.
  struct TapMajorConv3 {
    std::vector<float> weight;  // [c_out, 3 * c_in]
    PackedB packed;             // valid after a call with pack
  };
  const TapMajorConv3& GetTapMajorConv3(const float* w, int64_t c_out, int64_t c_in, bool pack, ThreadPool* pool);

  void Invalidate() {
    std::lock_guard<std::mutex> lock(mu_);
    ++version_;
  }
  size_t bytes() const;
  // Of bytes(), those on the huge-page slab.
  size_t huge_page_bytes() const;

  // Packings from this size on go to the huge-page slab.
  static constexpr size_t kHugePageMinBytes = size_t{256} << 10;

 private:
  // Where a packing lives: its place in the slab, kept across repacks (nullptr: PackedB's own memory).
  struct Storage {
    float* slab = nullptr;
    size_t floats = 0;
  };
  struct Entry {
    PackedB packed;
    Storage storage;
    uint64_t version = 0;
  };
  struct TapMajorEntry {
    TapMajorConv3 conv;
    Storage storage;
    uint64_t weight_version = 0, packed_version = 0;
  };
  // Packs W [n, k] into `packed`, on the slab when large enough and it can be had.
  void Pack(PackedB* packed, Storage* storage, const float* w, int64_t n, int64_t k, ThreadPool* pool);
  std::unordered_map<const float*, Entry> entries_;
  std::unordered_map<const float*, TapMajorEntry> tap_major_;
  HugePageSlab slab_;
  mutable std::mutex mu_;
  uint64_t version_ = 1;
};

}  // namespace informer
