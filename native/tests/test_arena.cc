// The activation arena (base/arena.h): 64-byte aligned allocations, mark/rewind, consolidation into
// one block of the peak size after a pass that needed several, and host blocks of 8 MiB or more on
// 2 MiB boundaries and marked for transparent huge pages (on Linux, read back from /proc/self/smaps).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/arena.h"
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

#if defined(__linux__)
// The VmFlags of the mapping that holds p ("" when none is found).
std::string VmFlagsOf(const void* p) {
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (!f) return "";
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  char line[512];
  bool inside = false;
  std::string flags;
  while (std::fgets(line, sizeof(line), f)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && std::strchr(line, '-') < std::strchr(line, ' ')) {
      inside = a >= lo && a < hi;
    } else if (inside && std::strncmp(line, "VmFlags:", 8) == 0) {
      flags = line + 8;
      break;
    }
  }
  std::fclose(f);
  return flags;
}
#endif

void LargeBlocksUseHugePages() {
  Arena arena;
  const size_t floats = Arena::kHugeBlockBytes / sizeof(float) * 3;  // 24 MiB
  float* p = arena.Alloc(floats);
  CHECK_MSG(Aligned(p, 64), "a large allocation is 64-byte aligned");
  std::memset(p, 0, floats * sizeof(float));  // the whole block is usable
  Arena small;
  float* q = small.Alloc(1024);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  CHECK_MSG(Aligned(p, Arena::kHugePageBytes), "a block of 8 MiB or more starts on a 2 MiB boundary");
  // A kernel without transparent huge pages refuses the hint; the arena works on regardless.
  void* probe = mmap(nullptr, Arena::kHugePageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const bool thp = probe != MAP_FAILED && madvise(probe, Arena::kHugePageBytes, MADV_HUGEPAGE) == 0;
  if (probe != MAP_FAILED) munmap(probe, Arena::kHugePageBytes);
  if (!thp) {
    std::printf("test_arena: this kernel refuses MADV_HUGEPAGE; the huge-page marks are not checked\n");
    return;
  }
  const std::string big_flags = VmFlagsOf(p), small_flags = VmFlagsOf(q);
  CHECK_MSG(!big_flags.empty(), "the large block's mapping is in /proc/self/smaps");
  CHECK_MSG(big_flags.find(" hg") != std::string::npos,
            ("large block marked MADV_HUGEPAGE: VmFlags" + big_flags).c_str());
  CHECK_MSG(small_flags.find(" hg") == std::string::npos, "a small block keeps ordinary pages");
#else
  (void)q;
#endif
}

}  // namespace

int main() {
  BumpAndRewind();
  LargeBlocksUseHugePages();
  return test::finish("test_arena");
}
