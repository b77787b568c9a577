#include "cpu/weight_cache.h"

#include "cpu/conv.h"

namespace informer {

const PackedB& WeightCache::Get(const float* w, int64_t n, int64_t k, ThreadPool* pool) {
  Entry& e = entries_[w];
  if (e.version != version_ || !e.packed.usable(n, k)) {
    e.packed.pack(w, n, k, pool);
    e.version = version_;
  }
  return e.packed;
}

const WeightCache::TapMajorConv3& WeightCache::GetTapMajorConv3(const float* w, int64_t c_out, int64_t c_in,
                                                                ThreadPool* pool) {
  TapMajorEntry& e = tap_major_[w];
  if (e.version != version_ || !e.conv.packed.usable(c_out, 3 * c_in)) {
    e.conv.weight.resize(static_cast<size_t>(c_out * 3 * c_in));
    TapMajorConv3Weight(w, c_out, c_in, e.conv.weight.data());
    e.conv.packed.pack(e.conv.weight.data(), c_out, 3 * c_in, pool);
    e.version = version_;
  }
  return e.conv;
}

size_t WeightCache::bytes() const {
  size_t total = 0;
  for (const auto& kv : entries_) total += kv.second.packed.bytes();
  for (const auto& kv : tap_major_)
    total += kv.second.conv.packed.bytes() + kv.second.conv.weight.capacity() * sizeof(float);
  return total;
}

}  // namespace informer
