// The activation arena (base/arena.h): 64-byte aligned allocations, mark/rewind, consolidation into
// one block of the peak size after a pass that needed several, and host blocks of 8 MiB or more on
// 2 MiB boundaries and marked for transparent huge pages (on Linux, read back from /proc/self/smaps).
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "base/arena.h"
#include "huge_page_test_util.h"
#include "test_util.h"

namespace {

using informer::Arena;

bool Aligned(const void* p, uintptr_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

void BumpAndRewind() {
  Arena arena;
  float* base = arena.Alloc(64);  // the first block: 64 floats
  arena.Reset();
  float* a = arena.Alloc(3);
  float* b = arena.Alloc(5);
  CHECK_MSG(a == base && Aligned(a, 64) && Aligned(b, 64), "allocations are 64-byte aligned, from the start");
  CHECK_MSG(b - a == 16, "a 3-float allocation takes one 16-float step");
  const Arena::Mark m = arena.mark();
  float* c = arena.Alloc(100);
  arena.rewind(m);
  CHECK_MSG(arena.Alloc(100) == c, "rewind hands the same memory out again");
  // A pass larger than the first block grows into a second one, then Reset keeps one block of the
  // peak, from which the same pass bump-allocates without growing.
  arena.Reset();
  for (int i = 0; i < 4; ++i) arena.Alloc(1 << 16);
  const size_t grown = arena.capacity_bytes();
  arena.Reset();
  CHECK_MSG(arena.capacity_bytes() >= arena.peak_bytes(), "the consolidated block holds the peak");
  for (int i = 0; i < 4; ++i) arena.Alloc(1 << 16);
  CHECK_MSG(arena.capacity_bytes() <= grown, "the same pass after Reset does not grow the arena");
}

void LargeBlocksUseHugePages() {
  Arena arena;
  const size_t floats = Arena::kHugeBlockBytes / sizeof(float) * 3;  // 24 MiB
  float* p = arena.Alloc(floats);
  CHECK_MSG(Aligned(p, 64), "a large allocation is 64-byte aligned");
  std::memset(p, 0, floats * sizeof(float));  // the whole block is usable
  Arena small;
  float* q = small.Alloc(1024);
  if (!test::KernelTakesHugePageHint()) {
    std::printf("test_arena: huge pages cannot be asked for here; the marks are not checked\n");
    return;
  }
  CHECK_MSG(Aligned(p, informer::kHugePageBytes), "a block of 8 MiB or more starts on a 2 MiB boundary");
  CHECK_MSG(test::MarkedForHugePages(p), "the large block is marked MADV_HUGEPAGE");
  CHECK_MSG(!test::MarkedForHugePages(q), "a small block keeps ordinary pages");
}

}  // namespace

int main() {
  BumpAndRewind();
  LargeBlocksUseHugePages();
  return test::finish("test_arena");
}
