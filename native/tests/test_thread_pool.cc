// ThreadPool::parallel_for: exact coverage, grain, concurrent owners, nesting, exceptions;
// try_parallel_for: runs on the pool or not at all.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu/thread_pool.h"
#include "test_util.h"

using informer::ThreadPool;

namespace {

// Every index in [0, n) visited exactly once, every chunk at least `grain` long (except when the whole
// range is shorter) and chunks non-empty and in range.
bool covers_exactly_once(ThreadPool& pool, int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  for (auto& h : hits) h.store(0);
  std::atomic<bool> chunks_ok{true};
  pool.parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    if (begin < 0 || end > n || begin >= end || (end - begin < grain && end - begin != n)) {
      chunks_ok.store(false);
    }
    for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
  });
  bool ok = chunks_ok.load();
  for (auto& h : hits) ok = ok && h.load() == 1;
  return ok;
}

void test_coverage() {
  for (int threads : {1, 2, 3, 4, 8}) {
    ThreadPool pool(threads);
    CHECK_EQ(pool.size(), threads);
    for (int64_t n : {1, 2, 3, 7, 8, 64, 100, 1000, 4097}) {
      for (int64_t grain : {1, 2, 5, 64, 1000, 5000}) {
        const bool ok = covers_exactly_once(pool, n, grain);
        CHECK_MSG(ok, ("coverage threads=" + std::to_string(threads) + " n=" + std::to_string(n) +
                       " grain=" + std::to_string(grain))
                          .c_str());
      }
    }
    // Zero / negative sizes and a non-positive grain.
    int calls = 0;
    pool.parallel_for(0, 1, [&](int64_t, int64_t) { ++calls; });
    pool.parallel_for(-5, 1, [&](int64_t, int64_t) { ++calls; });
    CHECK_EQ(calls, 0);
    CHECK(covers_exactly_once(pool, 50, 0));
  }
  ThreadPool zero(0);
  CHECK_EQ(zero.size(), 1);
  CHECK(covers_exactly_once(zero, 10, 1));
}

// The work really spreads: with 4 threads and chunks that wait for each other a little, more than one
// thread takes part.
void test_uses_workers() {
  ThreadPool pool(4);
  std::vector<std::thread::id> ids(64);
  pool.parallel_for(64, 1, [&](int64_t b, int64_t e) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    for (int64_t i = b; i < e; ++i) ids[static_cast<size_t>(i)] = std::this_thread::get_id();
  });
  bool several = false;
  for (const auto& id : ids) several = several || id != ids[0];
  CHECK_MSG(several, "parallel_for runs on more than one thread");
}

// Two std::threads hammer the same pool; whichever does not get it runs serially; both stay correct.
void test_concurrent_callers() {
  ThreadPool pool(3);
  std::atomic<bool> ok[2] = {{true}, {true}};
  auto caller = [&](int id) {
    for (int it = 0; it < 300; ++it) {
      const int64_t n = 1 + (it * 37 + id * 11) % 2000;
      std::vector<int64_t> v(static_cast<size_t>(n), 0);
      pool.parallel_for(n, 3, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) v[static_cast<size_t>(i)] += i + 1;
      });
      int64_t sum = 0;
      for (int64_t x : v) sum += x;
      if (sum != n * (n + 1) / 2) ok[id].store(false);
    }
  };
  std::thread t0(caller, 0), t1(caller, 1);
  t0.join();
  t1.join();
  CHECK_MSG(ok[0].load() && ok[1].load(), "concurrent callers complete with correct results");
}

// parallel_for from inside fn (on the owner and on workers) runs serially and does not deadlock.
void test_nested() {
  ThreadPool pool(4);
  const int64_t outer = 16, inner = 100;
  std::vector<std::atomic<int>> hits(static_cast<size_t>(outer * inner));
  for (auto& h : hits) h.store(0);
  std::atomic<bool> serial{true};
  pool.parallel_for(outer, 1, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const std::thread::id me = std::this_thread::get_id();
      int chunks = 0;
      pool.parallel_for(inner, 1, [&](int64_t ib, int64_t ie) {
        ++chunks;
        if (std::this_thread::get_id() != me || ib != 0 || ie != inner) serial.store(false);
        for (int64_t i = ib; i < ie; ++i) hits[static_cast<size_t>(o * inner + i)].fetch_add(1);
      });
      if (chunks != 1) serial.store(false);
      // A different pool from inside a loop is serial as well.
      ThreadPool::global().parallel_for(10, 1, [&](int64_t ib, int64_t ie) {
        if (std::this_thread::get_id() != me || ib != 0 || ie != 10) serial.store(false);
      });
    }
  });
  bool ok = true;
  for (auto& h : hits) ok = ok && h.load() == 1;
  CHECK_MSG(ok, "nested loops cover every index once");
  CHECK_MSG(serial.load(), "nested loops run serially on the calling thread");
}

// try_parallel_for runs the loop on the pool (every index once, more than one thread) or, where
// parallel_for would run it serially (nested, a pool of one, too small, another owner's loop), runs
// nothing and says so.
void test_try() {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(64);
  for (auto& h : hits) h.store(0);
  const bool ran = pool.try_parallel_for(64, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
  });
  bool once = true;
  for (auto& h : hits) once = once && h.load() == 1;
  CHECK_MSG(ran && once, "try_parallel_for runs every index once on a free pool");
  int calls = 0;
  auto count = [&](int64_t, int64_t) { ++calls; };
  ThreadPool single(1);
  CHECK_MSG(!single.try_parallel_for(64, 1, count), "a pool of one declines");
  CHECK_MSG(!pool.try_parallel_for(1, 1, count), "a loop too small to split is declined");
  CHECK_MSG(!pool.try_parallel_for(0, 1, count), "an empty loop is declined");
  std::atomic<bool> nested_declined{true};
  pool.parallel_for(8, 1, [&](int64_t, int64_t) {
    if (pool.try_parallel_for(64, 1, [](int64_t, int64_t) {})) nested_declined.store(false);
  });
  CHECK_MSG(nested_declined.load(), "a nested loop is declined");
  CHECK_EQ(calls, 0);
  // While one thread owns the pool, another's try is declined; its own loop still completes.
  std::atomic<bool> inside{false}, release{false}, other_declined{false};
  std::thread owner([&] {
    pool.parallel_for(2, 1, [&](int64_t b, int64_t) {
      if (b == 0) {
        inside.store(true);
        while (!release.load()) std::this_thread::yield();
      }
    });
  });
  while (!inside.load()) std::this_thread::yield();
  other_declined.store(!pool.try_parallel_for(64, 1, [](int64_t, int64_t) {}));
  release.store(true);
  owner.join();
  CHECK_MSG(other_declined.load(), "a busy pool declines another caller");
}

// An exception in fn reaches the caller once the loop has stopped; the pool keeps working.
void test_exceptions() {
  ThreadPool pool(3);
  bool caught = false;
  try {
    pool.parallel_for(1000, 1, [&](int64_t b, int64_t) {
      if (b >= 500) throw std::runtime_error("boom");
    });
  } catch (const std::runtime_error&) {
    caught = true;
  }
  CHECK_MSG(caught, "exception from fn propagates to the caller");
  CHECK_MSG(covers_exactly_once(pool, 1000, 1), "pool usable after an exception");
}

// Many tiny loops back to back (the GEMM pattern) and pools created and destroyed repeatedly.
void test_churn() {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  for (int it = 0; it < 20000; ++it) {
    pool.parallel_for(8, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
  }
  CHECK_EQ(total.load(), int64_t{8} * 20000);
  bool ok = true;
  for (int it = 0; it < 50; ++it) {
    ThreadPool p(3);
    ok = ok && covers_exactly_once(p, 100, 1);
  }
  CHECK_MSG(ok, "create / use / destroy");
  // Idle workers sleep: after a pause the pool still responds.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(covers_exactly_once(pool, 100, 1));
}

}  // namespace

int main() {
  // The size override is read when the global pool is first created.
  const bool env_set = std::getenv("INFORMER_NUM_THREADS") != nullptr;
  if (!env_set) {
#if defined(_WIN32)
    _putenv_s("INFORMER_NUM_THREADS", "3");
#else
    setenv("INFORMER_NUM_THREADS", "3", 1);
#endif
  }
  std::printf("global pool: %d threads\n", ThreadPool::global().size());
  CHECK(ThreadPool::global().size() >= 1);
  if (!env_set) CHECK_EQ(ThreadPool::global().size(), 3);
  CHECK(&ThreadPool::global() == &ThreadPool::global());
  test_coverage();
  test_uses_workers();
  test_concurrent_callers();
  test_nested();
  test_try();
  test_exceptions();
  test_churn();
  return test::finish("test_thread_pool");
}
