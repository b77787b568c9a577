#include "cpu/weight_cache.h"

namespace informer {

const PackedB& WeightCache::Get(const float* w, int64_t n, int64_t k, ThreadPool* pool) {
  Entry& e = entries_[w];
  if (e.version != version_ || !e.packed.usable(n, k)) {
    e.packed.pack(w, n, k, pool);
    e.version = version_;
  }
  return e.packed;
}

size_t WeightCache::bytes() const {
  size_t total = 0;
  for (const auto& kv : entries_) total += kv.second.packed.bytes();
  return total;
}

}  // namespace informer
