// The packed-weight cache (cpu/weight_cache.h): packings equal PackedB's own bit for bit, large ones
// share a huge-page slab (adjacent, not each rounded up to a 2 MiB page; on Linux marked for
// transparent huge pages, read back from /proc/self/smaps), small ones keep ordinary memory, and
// after Invalidate a changed weight is repacked in the same place.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/thread_pool.h"
#include "cpu/weight_cache.h"
#include "huge_page_test_util.h"
#include "test_util.h"

namespace {

using informer::PackedB;
using informer::ThreadPool;
using informer::WeightCache;

// The packing of w [n, k] that PackedB makes in its own memory.
std::vector<float> OwnPacking(const std::vector<float>& w, int64_t n, int64_t k) {
  PackedB p;
  p.pack(w.data(), n, k, nullptr);
  return std::vector<float>(p.data(), p.data() + PackedB::floats_for(n, k));
}

bool SameFloats(const float* a, const std::vector<float>& b) {
  return std::memcmp(a, b.data(), b.size() * sizeof(float)) == 0;
}

std::vector<float> Random(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  test::Rng(seed).fill_uniform(v.data(), v.size());
  return v;
}

void LargePackingsShareHugePages() {
  ThreadPool* pool = &ThreadPool::global();
  WeightCache cache;
  const int64_t n = 512, k = 512;
  const size_t floats = PackedB::floats_for(n, k);
  std::vector<float> w1 = Random(n * k, 1), w2 = Random(n * k, 2), small = Random(32 * 32, 3);

  const PackedB& p1 = cache.Get(w1.data(), n, k, pool);
  const PackedB& p2 = cache.Get(w2.data(), n, k, pool);
  CHECK_MSG(p1.usable(n, k) && p2.usable(n, k), "cached packings are usable");
  CHECK_MSG(SameFloats(p1.data(), OwnPacking(w1, n, k)) && SameFloats(p2.data(), OwnPacking(w2, n, k)),
            "a cached packing equals PackedB's own bit for bit");
  const bool slab = cache.huge_page_bytes() > 0;
#if defined(__linux__)
  CHECK_MSG(slab, "on Linux large packings go to the huge-page slab");
#endif
  if (slab) {
    CHECK_MSG(cache.huge_page_bytes() == 2 * floats * sizeof(float), "the slab holds the two 1 MiB packings");
    CHECK_MSG(p2.data() == p1.data() + floats, "the second packing follows the first (no page rounding)");
    CHECK_MSG(reinterpret_cast<uintptr_t>(p1.data()) % informer::kHugePageBytes == 0,
              "the slab starts on a huge-page boundary");
    if (test::KernelTakesHugePageHint()) {
      CHECK_MSG(test::MarkedForHugePages(p1.data()), "the slab is marked MADV_HUGEPAGE");
    } else {
      std::printf("test_weight_cache: huge pages cannot be asked for here; the marks are not checked\n");
    }
  }

  const size_t before_small = cache.huge_page_bytes();
  const PackedB& ps = cache.Get(small.data(), 32, 32, pool);
  CHECK_MSG(SameFloats(ps.data(), OwnPacking(small, 32, 32)), "a small packing equals PackedB's own");
  CHECK_MSG(cache.huge_page_bytes() == before_small, "a 4 KiB packing keeps ordinary memory");

  // The weight changes (a training step) and the cache is told: the next Get repacks in place.
  const float* place = p1.data();
  for (float& v : w1) v = -0.5f * v + 0.25f;
  CHECK_MSG(SameFloats(cache.Get(w1.data(), n, k, pool).data(), OwnPacking(w1, n, k)) == false,
            "without Invalidate the stale packing is kept");
  cache.Invalidate();
  const PackedB& again = cache.Get(w1.data(), n, k, pool);
  CHECK_MSG(SameFloats(again.data(), OwnPacking(w1, n, k)), "after Invalidate the new weight is packed");
  CHECK_MSG(again.data() == place, "a repacked weight keeps its place");
  CHECK_MSG(cache.huge_page_bytes() == before_small, "repacking takes no new slab memory");

  // Products through the cached packing equal sgemm's, bit for bit.
  const int64_t M = 7;
  std::vector<float> a = Random(M * k, 4), want(M * n), got(M * n);
  informer::sgemm(false, true, M, n, k, 1.f, a.data(), k, w1.data(), k, 0.f, want.data(), n, informer::GemmEpilogue(),
                  pool);
  informer::sgemm_packed_b(M, n, k, a.data(), k, w1.data(), again, 0.f, got.data(), n, informer::GemmEpilogue(), pool);
  CHECK_MSG(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0, "cached packing in a product");
}

// The distilling conv's tap-major packing (3 MiB at paper size) goes to the slab too.
void TapMajorConvPackingOnTheSlab() {
  ThreadPool* pool = &ThreadPool::global();
  WeightCache cache;
  const int64_t c = 256;
  std::vector<float> w = Random(c * c * 3, 5);
  const WeightCache::TapMajorConv3& conv = cache.GetTapMajorConv3(w.data(), c, c, true, pool);
  CHECK_MSG(SameFloats(conv.packed.data(), OwnPacking(conv.weight, c, 3 * c)),
            "tap-major packing equals PackedB's own");
  if (cache.huge_page_bytes() > 0)
    CHECK_MSG(cache.huge_page_bytes() == PackedB::floats_for(c, 3 * c) * sizeof(float), "on the slab");
}

}  // namespace

int main() {
  LargePackingsShareHugePages();
  TapMajorConvPackingOnTheSlab();
  return test::finish("test_weight_cache");
}
