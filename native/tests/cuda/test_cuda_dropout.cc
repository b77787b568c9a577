// What test_backend_ops cannot compare with the CPU: the GPU's own dropout masks (a counter-based
// hash, so the CPU's masks differ by design), rebuilt on the host from the same hash and checked
// exactly, their kept fraction, identity at p = 0, offsets into the stream; and that empty inputs
// launch nothing. Every other element-wise op is in test_backend_ops.
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "cpu/gemm.h"
#include "cuda/device_random.h"
#include "cuda/pointwise.h"
#include "cuda_test_util.h"
#include "cpu/pointwise.h"

namespace {

using informer::Activation;
using test::DeviceVec;

std::string Label(const char* what, int64_t a, int64_t b = -1, int64_t c = -1) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s [%lld, %lld, %lld]", what, static_cast<long long>(a), static_cast<long long>(b),
                static_cast<long long>(c));
  return buf;
}

void Close(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol,
           const std::string& what) {
  CHECK_MSG(got.size() == want.size(), what.c_str());
  CHECK_ALLCLOSE_MSG(got.data(), want.data(), static_cast<int64_t>(want.size()), atol, rtol, what.c_str());
}

// Bitwise equality (NaN matches NaN), for kernels that must reproduce the CPU's arithmetic exactly.
void Exact(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  Close(got, want, 0.0, 0.0, what);
}

// A device copy of `host` starting `shift` elements into its buffer (shift 1: not 16-byte aligned).
template <typename T>
struct Shifted {
  Shifted(const std::vector<T>& host, int shift)
      : shift(shift), buf([&] {
          std::vector<T> padded(host.size() + shift, T());
          std::copy(host.begin(), host.end(), padded.begin() + shift);
          return padded;
        }()) {}
  T* get() const { return buf.get() + shift; }
  std::vector<T> host() const {
    const std::vector<T> all = buf.host();
    return std::vector<T>(all.begin() + shift, all.end());
  }
  int shift;
  DeviceVec<T> buf;
};

// The mask a DropoutRng draws, rebuilt on the host.
std::vector<uint8_t> HostMask(int64_t n, float p, informer::cuda::DropoutRng rng) {
  std::vector<uint8_t> keep(n);
  for (int64_t i = 0; i < n; ++i) keep[i] = informer::cuda::DropoutKeep(rng.seed, rng.offset + i, p) ? 1 : 0;
  return keep;
}

void CheckDropout(test::Rng& rng, int64_t n, float p, uint64_t seed, uint64_t offset, int shift) {
  const informer::cuda::DropoutRng drng{seed, offset};
  const std::vector<float> x = rng.normal_vector(n);
  const std::vector<uint8_t> keep = HostMask(n, p, drng);
  const float scale = 1.f / (1.f - p);
  std::vector<float> want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = x[i] * (static_cast<float>(keep[i]) * scale);

  Shifted<float> d_x(x, shift);
  Shifted<uint8_t> d_keep(std::vector<uint8_t>(n, 7), shift);
  informer::cuda::DropoutForward(nullptr, n, p, drng, d_x.get(), d_keep.get());
  test::sync_ok("DropoutForward");
  const std::vector<uint8_t> got_keep = d_keep.host();
  CHECK_MSG(got_keep == keep, Label("dropout mask == host rebuild", n, shift).c_str());
  Exact(d_x.host(), want, Label("dropout values", n, shift));

  Shifted<float> d_x2(x, shift);  // without a mask buffer: the same values
  informer::cuda::DropoutForward(nullptr, n, p, drng, d_x2.get(), nullptr);
  test::sync_ok("DropoutForward without mask");
  Exact(d_x2.host(), want, Label("dropout values, no mask", n, shift));

  const std::vector<float> dy = rng.normal_vector(n);
  std::vector<float> dy_want = dy;
  informer::DropoutBackward(n, p, keep.data(), dy_want.data());
  Shifted<float> d_dy(dy, shift);
  informer::cuda::DropoutBackward(nullptr, n, p, d_keep.get(), d_dy.get());
  test::sync_ok("DropoutBackward");
  Exact(d_dy.host(), dy_want, Label("dropout backward", n, shift));

  if (n >= 10000) {  // the kept fraction is 1 - p within 5 standard deviations
    int64_t kept = 0;
    for (uint8_t k : got_keep) kept += k;
    const double frac = static_cast<double>(kept) / static_cast<double>(n);
    const double sigma = std::sqrt(p * (1.0 - p) / static_cast<double>(n));
    CHECK_NEAR(frac, 1.0 - p, 5.0 * sigma);
  }
}

void CheckDropoutIdentity(test::Rng& rng, int64_t n) {
  const std::vector<float> x = rng.normal_vector(n);
  DeviceVec<float> d_x(x);
  DeviceVec<uint8_t> d_keep(n, 0);
  informer::cuda::DropoutForward(nullptr, n, 0.f, {123, 456}, d_x.get(), d_keep.get());
  test::sync_ok("DropoutForward p = 0");
  Exact(d_x.host(), x, "dropout p = 0 is the identity");
  CHECK_MSG(d_keep.host() == std::vector<uint8_t>(n, 1), "dropout p = 0 keeps every element");
}

// Different offsets give different masks; a call at offset k continues the stream of offset 0.
void CheckDropoutOffsets(int64_t n, float p) {
  DeviceVec<float> a(std::vector<float>(2 * n, 1.f)), b(std::vector<float>(n, 1.f));
  DeviceVec<uint8_t> ka(2 * n), kb(n);
  informer::cuda::DropoutForward(nullptr, 2 * n, p, {99, 0}, a.get(), ka.get());
  informer::cuda::DropoutForward(nullptr, n, p, {99, static_cast<uint64_t>(n)}, b.get(), kb.get());
  test::sync_ok("DropoutForward offsets");
  const std::vector<uint8_t> all = ka.host(), second = kb.host();
  CHECK_MSG(std::vector<uint8_t>(all.begin() + n, all.end()) == second, "dropout offset continues the stream");
  CHECK_MSG(std::vector<uint8_t>(all.begin(), all.begin() + n) != second, "dropout offsets draw new masks");
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_dropout")) return 77;
  test::Rng rng(77);

  for (float p : {0.05f, 0.1f, 0.5f})
    for (int shift : {0, 1}) CheckDropout(rng, 1003, p, 0x5EEDull + shift, 17 * shift, shift);
  CheckDropout(rng, 7, 0.3f, 1, 0, 0);
  CheckDropout(rng, 1 << 16, 0.1f, 2024, 1ull << 40, 0);  // large n: the kept fraction
  CheckDropoutIdentity(rng, 1001);
  CheckDropoutOffsets(2000, 0.25f);
#ifndef INFORMER_CUDA_EMULATION
  CheckDropout(rng, 32 * 96 * 512, 0.1f, 7, 12345, 0);
  CheckDropout(rng, (1 << 24) + 1, 0.05f, 8, 0, 1);
#endif

  // Empty inputs launch nothing and raise no error.
  informer::cuda::EluForward(nullptr, 0, nullptr, nullptr);
  informer::cuda::DropoutForward(nullptr, 0, 0.5f, {}, nullptr, nullptr);
  informer::cuda::ActivationForward(nullptr, Activation::kGelu, 0, nullptr);
  informer::cuda::MaxPool3s2Forward(nullptr, 0, 12, 32, nullptr, nullptr, nullptr);
  informer::cuda::Add2D(nullptr, 0, 32, nullptr, 0, nullptr, 32);
  informer::cuda::Add(nullptr, 0, nullptr, nullptr);
  test::sync_ok("empty inputs");
  return test::finish("test_cuda_dropout");
}
