// The emulator's scheduler and runtime (see cuda_emu.h). One block at a time: its threads are
// fibers run round-robin; a fiber gives control back only at a barrier, so everything between two
// barriers runs without interleaving, which is a legal CUDA schedule.
#include "cuda/emu/cuda_emu.h"

#include <sys/mman.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

namespace informer_emu {
namespace {

constexpr size_t kStackBytes = 256 * 1024;
constexpr int kMaxThreads = 1024;
constexpr size_t kDefaultDynamicShared = 48 * 1024;
constexpr size_t kMaxDynamicShared = 227 * 1024;

struct Barrier {
  int arrived = 0;
  uint64_t generation = 0;
};

struct Fiber {
  ucontext_t context;
  uint3 tid;
  int linear = 0;
  bool done = false;
};

struct Block {
  const std::function<void()>* body = nullptr;
  std::vector<Fiber> fibers;
  int live = 0;
  std::vector<int> warp_live;
  Barrier block_barrier;
  std::vector<Barrier> warp_barriers;
  std::vector<unsigned char> exchange;  // [warps][32][16 bytes]
  std::vector<unsigned char> dynamic_shared;
  int current = -1;
  ucontext_t scheduler;
  int64_t waits_without_progress = 0;
};

thread_local Block* g_block = nullptr;
thread_local cudaError_t g_last_error = cudaSuccess;
thread_local unsigned char* g_stacks = nullptr;
std::map<const void*, int>& MaxDynamicShared() {
  static std::map<const void*, int> m;
  return m;
}

unsigned char* Stacks() {
  if (!g_stacks) {
    void* p = mmap(nullptr, kStackBytes * kMaxThreads, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "cuda emulator: cannot map fiber stacks\n");
      std::abort();
    }
    g_stacks = static_cast<unsigned char*>(p);
  }
  return g_stacks;
}

// INFORMER_EMU_SCHEDULE: 'in-order' resumes threads by index (the easiest to debug); anything else is
// the seed of the shuffled order (default 1).
uint64_t ScheduleSeed() {
  const char* env = std::getenv("INFORMER_EMU_SCHEDULE");
  if (env && std::strcmp(env, "in-order") == 0) return 0;
  return env ? std::strtoull(env, nullptr, 10) + 1 : 2;
}

void Shuffle(std::vector<int>& order, uint64_t* state) {
  if (*state == 0) return;  // in order
  for (size_t i = order.size(); i > 1; --i) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;  // LCG: plenty for a schedule
    std::swap(order[i - 1], order[(*state >> 33) % i]);
  }
}

void Resume(int i) {
  Block& b = *g_block;
  b.current = i;
  threadIdx = b.fibers[i].tid;
  swapcontext(&b.scheduler, &b.fibers[i].context);
}

// Back to the scheduler; returns when this fiber is resumed.
void Yield() {
  Block& b = *g_block;
  Fiber& f = b.fibers[b.current];
  swapcontext(&f.context, &b.scheduler);
}

void Release(Barrier& bar) {
  bar.arrived = 0;
  ++bar.generation;
}

void Wait(Barrier& bar, const int& participants, const char* what) {
  Block& b = *g_block;
  const uint64_t gen = bar.generation;
  if (++bar.arrived >= participants) {
    Release(bar);
    b.waits_without_progress = 0;
    return;
  }
  while (bar.generation == gen) {
    if (++b.waits_without_progress > 64LL * static_cast<int64_t>(b.fibers.size()) + 1024) {
      std::fprintf(stderr,
                   "cuda emulator: %s can never complete in block (%u,%u,%u): threads wait at different "
                   "barriers (divergent __syncthreads or a shuffle without every lane)\n",
                   what, blockIdx.x, blockIdx.y, blockIdx.z);
      std::abort();
    }
    Yield();
  }
  b.waits_without_progress = 0;
}

int WarpOf(const Block& b) { return b.fibers[b.current].linear / 32; }

void FiberMain() {
  Block& b = *g_block;
  (*b.body)();
  Fiber& f = b.fibers[b.current];
  f.done = true;
  // Threads that exit no longer count towards barriers (what current GPUs do in practice).
  --b.live;
  const int w = f.linear / 32;
  --b.warp_live[w];
  if (b.block_barrier.arrived > 0 && b.block_barrier.arrived >= b.live) Release(b.block_barrier);
  if (b.warp_barriers[w].arrived > 0 && b.warp_barriers[w].arrived >= b.warp_live[w]) Release(b.warp_barriers[w]);
  // uc_link returns to the scheduler.
}

bool ValidLaunch(const void* kernel, dim3 grid, dim3 block, size_t smem) {
  const uint64_t threads = static_cast<uint64_t>(block.x) * block.y * block.z;
  if (threads == 0 || threads > kMaxThreads || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535)
    return false;
  size_t limit = kDefaultDynamicShared;
  auto it = MaxDynamicShared().find(kernel);
  if (it != MaxDynamicShared().end()) limit = static_cast<size_t>(it->second);
  return smem <= limit && smem <= kMaxDynamicShared;
}

}  // namespace

void SyncThreads() { Wait(g_block->block_barrier, g_block->live, "__syncthreads"); }

void SyncWarp() {
  Block& b = *g_block;
  const int w = WarpOf(b);
  Wait(b.warp_barriers[w], b.warp_live[w], "__syncwarp");
}

void WarpExchange(const void* value, int src_lane, void* out, size_t bytes) {
  Block& b = *g_block;
  const int w = WarpOf(b), lane = b.fibers[b.current].linear % 32;
  unsigned char* slots = b.exchange.data() + static_cast<size_t>(w) * 32 * 16;
  std::memcpy(slots + lane * 16, value, bytes);
  Wait(b.warp_barriers[w], b.warp_live[w], "warp shuffle");
  const int lanes_in_warp = std::min<int>(32, static_cast<int>(b.fibers.size()) - w * 32);
  if (src_lane < 0 || src_lane >= lanes_in_warp || b.fibers[w * 32 + src_lane].done)
    std::memcpy(out, value, bytes);  // undefined on the GPU; keep the caller's own value
  else
    std::memcpy(out, slots + src_lane * 16, bytes);
  Wait(b.warp_barriers[w], b.warp_live[w], "warp shuffle");  // nobody overwrites a slot still being read
}

unsigned char* DynamicShared() { return g_block->dynamic_shared.data(); }
int LaneId() { return g_block->fibers[g_block->current].linear % 32; }
void SetLastError(cudaError_t e) { g_last_error = e; }
void SetMaxDynamicShared(const void* kernel, int bytes) { MaxDynamicShared()[kernel] = bytes; }

void RunGrid(const void* kernel, dim3 grid, dim3 block, size_t smem_bytes, const std::function<void()>& body) {
  if (!ValidLaunch(kernel, grid, block, smem_bytes)) {
    g_last_error = cudaErrorInvalidConfiguration;
    return;
  }
  if (g_block) {
    std::fprintf(stderr, "cuda emulator: kernel launched from inside a kernel\n");
    std::abort();
  }
  const int n = static_cast<int>(block.x * block.y * block.z);
  const int warps = (n + 31) / 32;
  Block b;
  b.body = &body;
  b.fibers.resize(n);
  b.warp_barriers.resize(warps);
  b.exchange.assign(static_cast<size_t>(warps) * 32 * 16, 0);
  b.dynamic_shared.assign(smem_bytes + 16, 0xFF);
  unsigned char* stacks = Stacks();
  std::vector<int> order(n);
  uint64_t schedule_state = ScheduleSeed();
  gridDim = grid;
  blockDim = block;
  g_block = &b;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        blockIdx = {bx, by, bz};
        b.live = n;
        b.warp_live.assign(warps, 32);
        if (n % 32) b.warp_live.back() = n % 32;
        b.block_barrier = Barrier();
        for (Barrier& w : b.warp_barriers) w = Barrier();
        std::fill(b.dynamic_shared.begin(), b.dynamic_shared.end(), 0xFF);  // NaN floats
        for (int i = 0; i < n; ++i) {
          Fiber& f = b.fibers[i];
          f.linear = i;
          f.tid = {static_cast<unsigned>(i % block.x), static_cast<unsigned>((i / block.x) % block.y),
                   static_cast<unsigned>(i / (block.x * block.y))};
          f.done = false;
          getcontext(&f.context);
          f.context.uc_stack.ss_sp = stacks + static_cast<size_t>(i) * kStackBytes;
          f.context.uc_stack.ss_size = kStackBytes;
          f.context.uc_link = &b.scheduler;
          makecontext(&f.context, FiberMain, 0);
        }
        // Each round resumes the threads in a fresh order (seeded, so failures reproduce): a
        // missing barrier between a write and another thread's read then shows up as a wrong result
        // instead of passing because thread 0 happened to run first.
        for (int i = 0; i < n; ++i) order[i] = i;
        for (int remaining = n; remaining > 0;) {
          remaining = 0;
          Shuffle(order, &schedule_state);
          for (int i : order) {
            if (b.fibers[i].done) continue;
            Resume(i);
            if (!b.fibers[i].done) ++remaining;
          }
        }
      }
  g_block = nullptr;
}

}  // namespace informer_emu

unsigned __ballot_sync(unsigned, int predicate) {
  unsigned bits = 0;
  for (int src = 0; src < 32; ++src) {
    int p = 0;
    informer_emu::WarpExchange(&predicate, src, &p, sizeof(int));
    if (p) bits |= 1u << src;
  }
  return bits;
}

// ---- runtime API: "device" memory is host memory ----
cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  *ptr = std::aligned_alloc(256, ((bytes + 255) / 256) * 256 + 256);
  return *ptr ? cudaSuccess : (informer_emu::SetLastError(cudaErrorMemoryAllocation), cudaErrorMemoryAllocation);
}
cudaError_t cudaFree(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind, cudaStream_t) {
  if (width > dpitch || width > spitch) return cudaErrorInvalidValue;
  for (size_t r = 0; r < height; ++r)
    std::memmove(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (bytes) std::memset(ptr, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t) { return cudaMemset(ptr, value, bytes); }
cudaError_t cudaStreamCreate(cudaStream_t* s) {
  *s = nullptr;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidValue; }
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetLastError() {
  const cudaError_t e = informer_emu::g_last_error;
  informer_emu::g_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return informer_emu::g_last_error; }
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorNoDevice:
      return "cudaErrorNoDevice";
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorNoDevice:
      return "no CUDA-capable device is detected";
  }
  return "unknown error";
}
