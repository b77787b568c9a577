// Reading back transparent-huge-page marks (Linux) for the tests of memory that asks for them.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "base/huge_pages.h"

namespace test {

// Whether this kernel accepts MADV_HUGEPAGE (false elsewhere than Linux): where it refuses, memory
// that asks for huge pages works on without them and the marks cannot be checked.
inline bool KernelTakesHugePageHint() {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const size_t n = informer::kHugePageBytes;
  void* probe = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const bool ok = probe != MAP_FAILED && madvise(probe, n, MADV_HUGEPAGE) == 0;
  if (probe != MAP_FAILED) munmap(probe, n);
  return ok;
#else
  return false;
#endif
}

// Whether the mapping that holds p is marked MADV_HUGEPAGE ("hg" in its VmFlags in /proc/self/smaps).
inline bool MarkedForHugePages(const void* p) {
#if defined(__linux__)
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (!f) return false;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  char line[512];
  bool inside = false, marked = false;
  while (std::fgets(line, sizeof(line), f)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && std::strchr(line, '-') < std::strchr(line, ' ')) {
      inside = a >= lo && a < hi;
    } else if (inside && std::strncmp(line, "VmFlags:", 8) == 0) {
      marked = std::string(line + 8).find(" hg") != std::string::npos;
      break;
    }
  }
  std::fclose(f);
  return marked;
#else
  (void)p;
  return false;
#endif
}

}  // namespace test
