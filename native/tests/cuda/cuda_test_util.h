// Helpers for the CUDA kernel tests: device copies of host vectors and the skip rule. The same test
// source runs against the emulator (INFORMER_CUDA_EMULATION) and against a real GPU.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../test_util.h"
#include "cuda/runtime.h"

namespace test {

// Aborts the test with a message when a CUDA call failed (the tests cannot go on meaningfully).
inline void expect_ok(const informer::Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "FATAL %s: %s\n", what, st.message().c_str());
    std::exit(1);
  }
}

// A device array initialised from (and read back into) a host vector.
template <typename T>
class DeviceVec {
 public:
  explicit DeviceVec(const std::vector<T>& host) : n_(static_cast<int64_t>(host.size())) {
    expect_ok(buf_.Resize(informer::cuda::RuntimeAllocator(), std::max<size_t>(1, host.size()) * sizeof(T)),
              "device alloc");
    expect_ok(informer::cuda::CopyToDevice(buf_.get(), host.data(), host.size() * sizeof(T), nullptr), "upload");
  }
  explicit DeviceVec(int64_t n, T fill = T()) : DeviceVec(std::vector<T>(static_cast<size_t>(n), fill)) {}
  T* get() const { return buf_.as<T>(); }
  std::vector<T> host() const {
    std::vector<T> out(static_cast<size_t>(n_));
    expect_ok(informer::cuda::CopyToHost(out.data(), buf_.get(), n_ * sizeof(T), nullptr), "download");
    return out;
  }
  int64_t size() const { return n_; }

 private:
  informer::DeviceBuffer buf_;
  int64_t n_;
};

// Exit code 77 tells ctest the test was skipped: a real-CUDA build on a machine without a GPU.
inline bool no_device(const char* name) {
  if (informer::cuda::DeviceCount() > 0) {
    std::printf("%s: on %s\n", name, informer::cuda::DeviceDescription(0).c_str());
    return false;
  }
  std::printf("%s: skipped (%s)\n", name, informer::cuda::DeviceDescription(0).c_str());
  return true;
}

// Synchronises and fails the test on any pending CUDA error (launch configuration, faults).
inline void sync_ok(const char* where) {
  const informer::Status st = informer::cuda::Synchronize(nullptr, where);
  CHECK_MSG(st.ok(), st.ok() ? where : st.message().c_str());
}

}  // namespace test
