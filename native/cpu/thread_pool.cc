// Fixed-size pool for data-parallel loops. One loop runs at a time: its owner publishes the job,
// wakes the workers and takes chunks itself; workers claim chunks from a shared atomic counter, so a
// slow or descheduled thread only delays the chunk it holds. Once the owner runs out of chunks it
// closes the job and waits only for workers that actually joined it, never for sleeping ones.
#include "cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#include <immintrin.h>
#endif

namespace informer {
namespace {

// Chunks per thread: more than one so a thread that is descheduled (shared VM cores) costs little.
constexpr int64_t kChunksPerThread = 4;
// How long an idle worker polls for the next loop before sleeping, and how long a loop's owner polls
// for the last workers before sleeping. Model layers issue loops back to back, microseconds to a
// few hundred microseconds apart (a training step's serial attention and dropout stretches); waking
// a sleeping worker costs 4-5 us, so workers poll 300 us (measured: 50 us cost the seed config's
// train step ~7%, 1 ms gained nothing more).
constexpr std::chrono::microseconds kWorkerSpin(300);
constexpr std::chrono::microseconds kOwnerSpin(200);

// > 0 while this thread is a pool worker or is running a parallel loop: a parallel_for issued from
// there runs serially, so loops never nest (and never wait on themselves).
thread_local int tls_in_pool = 0;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
  _mm_pause();
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
  __asm__ __volatile__("yield");
#endif
}

// Polls `done` with pause instructions for at most `budget`; returns whether it became true.
template <typename Pred>
bool spin_until(Pred done, std::chrono::microseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (int i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if ((i & 31) == 0 && std::chrono::steady_clock::now() >= deadline) return done();
  }
}

bool read_long(const char* path, long* out) {
  FILE* f = std::fopen(path, "r");
  if (!f) return false;
  const bool ok = std::fscanf(f, "%ld", out) == 1;
  std::fclose(f);
  return ok;
}

// INFORMER_NUM_THREADS as a positive integer, or 0 when unset or invalid.
int env_threads() {
  const char* s = std::getenv("INFORMER_NUM_THREADS");
  if (!s || !*s) return 0;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  while (end && (*end == ' ' || *end == '\t' || *end == '\n')) ++end;
  if (!end || *end != '\0' || v < 1 || v > 1024) return 0;
  return static_cast<int>(v);
}

#if defined(__linux__)
// Physical cores among the CPUs this process may run on: distinct (package, core) pairs from sysfs,
// or from /proc/cpuinfo when sysfs has no topology. 0 when neither can be read.
int linux_physical_cores() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const bool have_mask = sched_getaffinity(0, sizeof(allowed), &allowed) == 0;
  auto is_allowed = [&](long cpu) {
    return !have_mask || (cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(static_cast<int>(cpu), &allowed));
  };

  std::set<std::pair<long, long>> cores;
  for (long cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!is_allowed(cpu)) continue;
    char path[128];
    long core = -1, package = -1;
    std::snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%ld/topology/core_id", cpu);
    if (!read_long(path, &core)) continue;
    std::snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%ld/topology/physical_package_id", cpu);
    if (!read_long(path, &package)) package = 0;
    cores.emplace(package, core);
  }
  if (!cores.empty()) return static_cast<int>(cores.size());

  FILE* f = std::fopen("/proc/cpuinfo", "r");
  if (!f) return 0;
  char line[512];
  long processor = -1, package = 0, core = -1;
  auto flush = [&]() {
    if (processor >= 0 && core >= 0 && is_allowed(processor)) cores.emplace(package, core);
    processor = -1;
    package = 0;
    core = -1;
  };
  while (std::fgets(line, sizeof(line), f)) {
    const char* colon = std::strchr(line, ':');
    if (!colon) {
      flush();  // blank line ends a processor block
      continue;
    }
    const long value = std::strtol(colon + 1, nullptr, 10);
    if (std::strncmp(line, "processor", 9) == 0) {
      flush();
      processor = value;
    } else if (std::strncmp(line, "physical id", 11) == 0) {
      package = value;
    } else if (std::strncmp(line, "core id", 7) == 0) {
      core = value;
    }
  }
  flush();
  std::fclose(f);
  return static_cast<int>(cores.size());
}

// CPU limit of the cgroup (containers started with --cpus), rounded up; 0 when unlimited or unknown.
int cgroup_cpu_limit() {
  if (FILE* f = std::fopen("/sys/fs/cgroup/cpu.max", "r")) {  // cgroup v2: "<quota|max> <period>"
    char quota[32] = {0};
    long period = 0;
    const bool ok = std::fscanf(f, "%31s %ld", quota, &period) == 2;
    std::fclose(f);
    if (ok && std::strcmp(quota, "max") != 0 && period > 0) {
      const long q = std::strtol(quota, nullptr, 10);
      if (q > 0) return static_cast<int>((q + period - 1) / period);
    }
    return 0;
  }
  long quota = 0, period = 0;  // cgroup v1
  if (read_long("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", &quota) &&
      read_long("/sys/fs/cgroup/cpu/cpu.cfs_period_us", &period) && quota > 0 && period > 0) {
    return static_cast<int>((quota + period - 1) / period);
  }
  return 0;
}
#endif

int default_thread_count() {
  if (const int env = env_threads()) return env;
  int n = 0;
#if defined(__linux__)
  n = linux_physical_cores();
  const int limit = cgroup_cpu_limit();
  if (n > 0 && limit > 0) n = std::min(n, limit);
#endif
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(n, 1);
}

}  // namespace

struct ThreadPool::Impl {
  using Fn = std::function<void(int64_t, int64_t)>;

  int n_threads = 1;
  std::vector<std::thread> workers;

  std::atomic<bool> busy{false};  // a loop owner holds the pool

  std::mutex mu;
  std::condition_variable work_cv;  // workers: a new loop or stop
  std::condition_variable idle_cv;  // owner: the last joined worker left
  std::atomic<bool> stop{false};
  bool open = false;                    // guarded by mu: the current loop still admits workers
  std::atomic<uint64_t> generation{0};  // bumped (under mu) when a loop is published
  std::atomic<int> joined{0};           // workers inside the current loop

  // The current loop; written by its owner before publishing, read only by joined workers.
  const Fn* fn = nullptr;
  int64_t n = 0;
  int64_t chunks = 0;
  std::atomic<int64_t> next_chunk{0};
  std::mutex error_mu;
  std::exception_ptr error;

  void run_chunks() {
    const int64_t q = n / chunks, r = n % chunks;
    for (;;) {
      const int64_t c = next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks) return;
      const int64_t begin = c * q + std::min(c, r);
      const int64_t end = begin + q + (c < r ? 1 : 0);
      try {
        (*fn)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
        next_chunk.store(chunks, std::memory_order_relaxed);  // abandon the rest of the loop
      }
    }
  }

  void worker_main() {
    tls_in_pool = 1;
    uint64_t seen = 0;
    for (;;) {
      spin_until(
          [&] { return generation.load(std::memory_order_acquire) != seen || stop.load(std::memory_order_relaxed); },
          kWorkerSpin);
      std::unique_lock<std::mutex> lock(mu);
      work_cv.wait(lock, [&] {
        return stop.load(std::memory_order_relaxed) || generation.load(std::memory_order_relaxed) != seen;
      });
      if (stop.load(std::memory_order_relaxed)) return;
      seen = generation.load(std::memory_order_relaxed);
      if (!open) continue;  // the owner already finished that loop alone
      joined.fetch_add(1, std::memory_order_relaxed);
      lock.unlock();
      run_chunks();
      if (joined.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> relock(mu);  // pairs with the owner's predicate check
        idle_cv.notify_all();
      }
    }
  }
};

ThreadPool::ThreadPool(int n_threads) : impl_(new Impl) {
  impl_->n_threads = std::max(n_threads, 1);
  impl_->workers.reserve(static_cast<size_t>(impl_->n_threads - 1));
  for (int i = 1; i < impl_->n_threads; ++i) {
    try {
      impl_->workers.emplace_back([this] { impl_->worker_main(); });
    } catch (...) {
      break;  // could not start more threads: run with those we have
    }
  }
  impl_->n_threads = static_cast<int>(impl_->workers.size()) + 1;
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop.store(true, std::memory_order_relaxed);
  }
  impl_->work_cv.notify_all();
  for (std::thread& t : impl_->workers) {
    if (t.joinable()) t.join();
  }
  delete impl_;
}

int ThreadPool::size() const { return impl_->n_threads; }

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n > 0 && !run_on_pool(n, grain, fn)) fn(0, n);
}

bool ThreadPool::try_parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  return n > 0 && run_on_pool(n, grain, fn);
}

bool ThreadPool::run_on_pool(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  grain = std::max<int64_t>(grain, 1);
  Impl& p = *impl_;
  const int64_t chunks = std::min(n / grain, static_cast<int64_t>(p.n_threads) * kChunksPerThread);
  if (chunks <= 1 || p.n_threads <= 1 || tls_in_pool > 0 || p.busy.exchange(true, std::memory_order_acquire))
    return false;

  ++tls_in_pool;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.fn = &fn;
    p.n = n;
    p.chunks = chunks;
    p.next_chunk.store(0, std::memory_order_relaxed);
    p.error = nullptr;
    p.open = true;
    p.generation.fetch_add(1, std::memory_order_release);
  }
  p.work_cv.notify_all();
  p.run_chunks();
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.open = false;
  }
  if (!spin_until([&] { return p.joined.load(std::memory_order_acquire) == 0; }, kOwnerSpin)) {
    std::unique_lock<std::mutex> lock(p.mu);
    p.idle_cv.wait(lock, [&] { return p.joined.load(std::memory_order_acquire) == 0; });
  }
  std::exception_ptr error = std::move(p.error);
  p.error = nullptr;
  --tls_in_pool;
  p.busy.store(false, std::memory_order_release);
  if (error) std::rethrow_exception(error);
  return true;
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool(default_thread_count());
  return pool;
}

}  // namespace informer
