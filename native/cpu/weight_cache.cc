#include "cpu/weight_cache.h"

#include "cpu/conv.h"
#include "cpu/thread_pool.h"

namespace informer {

void WeightCache::Pack(PackedB* packed, Storage* storage, const float* w, int64_t n, int64_t k, ThreadPool* pool) {
  const size_t floats = PackedB::floats_for(n, k);
  if (floats * sizeof(float) >= kHugePageMinBytes && storage->floats < floats) {
    if (float* p = slab_.Alloc(floats)) *storage = Storage{p, floats};
  }
  if (storage->floats >= floats) {
    packed->pack_into(storage->slab, w, n, k, pool);
  } else {
    packed->pack(w, n, k, pool);
  }
}

const PackedB& WeightCache::Get(const float* w, int64_t n, int64_t k, ThreadPool* pool) {
  // Packing under the lock: a replica's part that needs the same weight waits for it, and a part
  // packs serially (its pool loop is already taken by the parts).
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[w];
  if (e.version != version_ || !e.packed.usable(n, k)) {
    Pack(&e.packed, &e.storage, w, n, k, pool);
    e.version = version_;
  }
  return e.packed;
}

const WeightCache::TapMajorConv3& WeightCache::GetTapMajorConv3(const float* w, int64_t c_out, int64_t c_in, bool pack,
                                                                ThreadPool* pool) {
  std::lock_guard<std::mutex> lock(mu_);
  TapMajorEntry& e = tap_major_[w];
  const size_t size = static_cast<size_t>(c_out * 3 * c_in);
  if (e.weight_version != version_ || e.conv.weight.size() != size) {
    e.conv.weight.resize(size);
    // By output rows over the pool: training refreshes it after every step (the paper model's distilling
    // conv is 786K values).
    float* dst = e.conv.weight.data();
    auto rows = [&](int64_t o0, int64_t o1) {
      TapMajorConv3Weight(w + o0 * c_in * 3, o1 - o0, c_in, dst + o0 * 3 * c_in);
    };
    if (pool && size >= (1 << 16)) {
      pool->parallel_for(c_out, 8, rows);
    } else {
      rows(0, c_out);
    }
    e.weight_version = version_;
    e.packed_version = 0;
  }
  if (pack && (e.packed_version != version_ || !e.conv.packed.usable(c_out, 3 * c_in))) {
    Pack(&e.conv.packed, &e.storage, e.conv.weight.data(), c_out, 3 * c_in, pool);
    e.packed_version = version_;
  }
  return e.conv;
}

size_t WeightCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t total = 0;
  for (const auto& kv : entries_) total += kv.second.packed.bytes();
  for (const auto& kv : tap_major_)
    total += kv.second.conv.packed.bytes() + kv.second.conv.weight.capacity() * sizeof(float);
  return total;
}

size_t WeightCache::huge_page_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slab_.used_bytes();
}

}  // namespace informer
