// A small fixed-size thread pool for data-parallel loops (GEMM tiles, batch x head loops).
// Size: INFORMER_NUM_THREADS if set, else the number of physical cores (hardware threads as fallback).
#pragma once
#include <cstdint>
#include <functional>

namespace informer {

class ThreadPool {
 public:
  // n_threads counts the calling thread: a pool of 2 starts one worker.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;

  // Splits [0, n) into contiguous chunks of at least `grain` items and runs fn(begin, end) on the
  // pool's workers and the caller; returns when every chunk is done. If the pool is already busy with
  // another caller's loop (two models running at once), or n is too small to split, the loop runs
  // serially on the caller instead of queueing, so calls never deadlock and never nest.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // As parallel_for, but where that would run the loop serially on the caller (a pool of one thread,
  // a call from inside a loop, a pool busy with another caller's loop, n too small to split) it runs
  // nothing and returns false, so the caller can do the work another way.
  bool try_parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // The process-wide pool used by the kernels.
  static ThreadPool& global();

 private:
  struct Impl;
  Impl* impl_;
  // Runs the loop on the pool and returns true, or returns false without running it.
  bool run_on_pool(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
};

}  // namespace informer
