// CUDA element-wise kernels (cuda/pointwise.h) against the CPU kernels (kernels/cpu/pointwise.h,
// core/gemm.h): ELU, ReLU/GELU forward and backward (in place and aliased), dropout masks rebuilt on
// the host from the shared hash (exact), MaxPool1d(3, 2, 1) with ties and odd/even lengths (exact),
// Add2D with broadcast and strided rows, Add. Sizes are odd and pointers offset so both the float4
// and the scalar paths run.
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
  std::snprintf(buf, sizeof buf, "%s [%lld, %lld, %lld]", what, static_cast<long long>(a),
                static_cast<long long>(b), static_cast<long long>(c));
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
  Shifted(const std::vector<T>& host, int shift) : shift(shift), buf([&] {
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

void CheckElu(test::Rng& rng, int64_t n, int shift) {
  std::vector<float> x = rng.normal_vector(n, 0.f, 3.f);
  if (n > 2) x[0] = 0.f, x[1] = -0.f;
  std::vector<float> out(n);
  informer::EluForward(n, x.data(), out.data());
  Shifted<float> d_x(x, shift), d_out(std::vector<float>(n), shift);
  informer::cuda::EluForward(nullptr, n, d_x.get(), d_out.get());
  test::sync_ok("EluForward");
  Close(d_out.host(), out, 1e-6, 1e-5, Label("ELU forward", n, shift));
  Shifted<float> d_io(x, shift);
  informer::cuda::EluForward(nullptr, n, d_io.get(), d_io.get());
  test::sync_ok("EluForward in place");
  Close(d_io.host(), out, 1e-6, 1e-5, Label("ELU forward in place", n, shift));

  const std::vector<float> dy = rng.normal_vector(n);
  std::vector<float> dx = rng.uniform_vector(n);
  Shifted<float> d_dy(dy, shift), d_dx(dx, shift);
  informer::EluBackward(n, x.data(), dy.data(), dx.data());
  informer::cuda::EluBackward(nullptr, n, d_x.get(), d_dy.get(), d_dx.get());
  test::sync_ok("EluBackward");
  Close(d_dx.host(), dx, 1e-6, 1e-5, Label("ELU backward (accumulates)", n, shift));
}

void CheckActivation(test::Rng& rng, Activation act, int64_t n, int shift) {
  const char* name = act == Activation::kRelu ? "ReLU" : "GELU";
  std::vector<float> x = rng.normal_vector(n, 0.f, 3.f);
  if (n > 4) x[0] = 0.f, x[1] = -7.5f, x[2] = 6.f, x[3] = -0.25f;
  if (n > 5 && act == Activation::kRelu) x[4] = std::numeric_limits<float>::quiet_NaN();  // stays NaN
  std::vector<float> y = x;
  informer::apply_activation(act, y.data(), n);
  Shifted<float> d_x(x, shift);
  informer::cuda::ActivationForward(nullptr, act, n, d_x.get());
  test::sync_ok("ActivationForward");
  Close(d_x.host(), y, 1e-6, 1e-5, Label(name, n, shift));

  if (n > 5) x[4] = 1.f;  // the CPU's GELU backward uses a polynomial erf, fine away from NaN
  const std::vector<float> dy = rng.normal_vector(n);
  std::vector<float> dx(n, 0.f);
  informer::ActivationBackward(static_cast<int>(act), n, x.data(), dy.data(), dx.data());
  Shifted<float> d_pre(x, shift), d_dy(dy, shift), d_dx(rng.uniform_vector(n), shift);
  informer::cuda::ActivationBackward(nullptr, act, n, d_pre.get(), d_dy.get(), d_dx.get());
  test::sync_ok("ActivationBackward");
  Close(d_dx.host(), dx, 1e-5, 1e-4, Label(act == Activation::kRelu ? "ReLU backward" : "GELU backward", n, shift));
  // dx aliasing dy.
  informer::cuda::ActivationBackward(nullptr, act, n, d_pre.get(), d_dy.get(), d_dy.get());
  test::sync_ok("ActivationBackward aliased");
  Close(d_dy.host(), dx, 1e-5, 1e-4, Label("activation backward, dx == dy", n, shift));
}

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

void CheckMaxPool(test::Rng& rng, int64_t B, int64_t L, int64_t C, bool ties) {
  const int64_t Lo = (L - 1) / 2 + 1;
  std::vector<float> x(B * L * C);
  for (float& v : x) v = ties ? static_cast<float>(rng.integer(0, 2)) : rng.normal();
  std::vector<float> out(B * Lo * C);
  std::vector<int32_t> argmax(B * Lo * C);
  informer::MaxPool3s2Forward(B, L, C, x.data(), out.data(), argmax.data());
  DeviceVec<float> d_x(x), d_out(B * Lo * C, -1.f);
  DeviceVec<int32_t> d_argmax(B * Lo * C, -1);
  informer::cuda::MaxPool3s2Forward(nullptr, B, L, C, d_x.get(), d_out.get(), d_argmax.get());
  test::sync_ok("MaxPool3s2Forward");
  Exact(d_out.host(), out, Label("maxpool out", B, L, C));
  CHECK_MSG(d_argmax.host() == argmax, Label("maxpool argmax", B, L, C).c_str());

  DeviceVec<float> d_out2(B * Lo * C, -1.f);  // argmax optional
  informer::cuda::MaxPool3s2Forward(nullptr, B, L, C, d_x.get(), d_out2.get(), nullptr);
  test::sync_ok("MaxPool3s2Forward without argmax");
  Exact(d_out2.host(), out, Label("maxpool out, no argmax", B, L, C));

  const std::vector<float> dy = rng.normal_vector(B * Lo * C);
  std::vector<float> dx = rng.uniform_vector(B * L * C);
  DeviceVec<float> d_dy(dy), d_dx(dx);
  informer::MaxPool3s2Backward(B, L, C, argmax.data(), dy.data(), dx.data());
  informer::cuda::MaxPool3s2Backward(nullptr, B, L, C, d_argmax.get(), d_dy.get(), d_dx.get());
  test::sync_ok("MaxPool3s2Backward");
  Exact(d_dx.host(), dx, Label("maxpool backward", B, L, C));
}

void CheckAdd2D(test::Rng& rng, int64_t rows, int64_t cols, int64_t src_ld, int64_t dst_ld, int shift) {
  const std::vector<float> src = rng.uniform_vector((src_ld ? rows * src_ld : cols) + 3);
  const std::vector<float> dst = rng.uniform_vector(rows * dst_ld + 3);
  std::vector<float> want = dst;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) want[r * dst_ld + c] += src[r * src_ld + c];
  Shifted<float> d_src(src, shift), d_dst(dst, shift);
  informer::cuda::Add2D(nullptr, rows, cols, d_src.get(), src_ld, d_dst.get(), dst_ld);
  test::sync_ok("Add2D");
  Exact(d_dst.host(), want, Label("Add2D (rows, cols, src_ld)", rows, cols, src_ld));
}

void CheckAdd(test::Rng& rng, int64_t n, int shift) {
  const std::vector<float> x = rng.uniform_vector(n), y = rng.uniform_vector(n);
  std::vector<float> want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = y[i] + x[i];
  Shifted<float> d_x(x, shift), d_y(y, shift);
  informer::cuda::Add(nullptr, n, d_x.get(), d_y.get());
  test::sync_ok("Add");
  Exact(d_y.host(), want, Label("Add", n, shift));
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_pointwise")) return 77;
  test::Rng rng(77);

  // Sizes: the seed's d_model 32 rows (12 x 32), odd tails, and shift 1 for the scalar paths.
  for (int64_t n : {1, 3, 384, 1003})
    for (int shift : {0, 1}) {
      CheckElu(rng, n, shift);
      CheckActivation(rng, Activation::kRelu, n, shift);
      CheckActivation(rng, Activation::kGelu, n, shift);
      CheckAdd(rng, n, shift);
    }

  for (float p : {0.05f, 0.1f, 0.5f})
    for (int shift : {0, 1}) CheckDropout(rng, 1003, p, 0x5EEDull + shift, 17 * shift, shift);
  CheckDropout(rng, 7, 0.3f, 1, 0, 0);
  CheckDropout(rng, 1 << 16, 0.1f, 2024, 1ull << 40, 0);  // large n: the kept fraction
  CheckDropoutIdentity(rng, 1001);
  CheckDropoutOffsets(2000, 0.25f);

  // MaxPool: odd and even L (including the one- and two-step edge cases), ties, C not a warp width.
  for (int64_t L : {1, 2, 3, 4, 7, 12, 13, 18})
    for (bool ties : {false, true}) CheckMaxPool(rng, 2, L, 33, ties);
  CheckMaxPool(rng, 3, 12, 32, true);
  CheckMaxPool(rng, 2, 96, 64, false);

  // Add2D: a bias broadcast (src_ld 0), strided rows, float4 and scalar paths, the contiguous case.
  CheckAdd2D(rng, 12, 32, 0, 32, 0);
  CheckAdd2D(rng, 12, 32, 0, 32, 1);
  CheckAdd2D(rng, 7, 33, 0, 40, 0);
  CheckAdd2D(rng, 9, 64, 96, 128, 0);
  CheckAdd2D(rng, 9, 64, 96, 128, 1);
  CheckAdd2D(rng, 5, 10, 10, 10, 0);
  CheckAdd2D(rng, 70, 5, 7, 6, 0);

#ifndef INFORMER_CUDA_EMULATION
  // Fixture sizes: paper (32 x 96 x 512, d_ff 2048), paper_small (2 x 96 x 64), seed (32 x 12 x 32).
  for (int64_t n : {32 * 96 * 512, 32 * 96 * 2048 + 3}) {
    CheckElu(rng, n, 0);
    CheckActivation(rng, Activation::kGelu, n, 0);
    CheckActivation(rng, Activation::kRelu, n, 1);
    CheckAdd(rng, n, 0);
  }
  CheckDropout(rng, 32 * 96 * 512, 0.1f, 7, 12345, 0);
  CheckDropout(rng, (1 << 24) + 1, 0.05f, 8, 0, 1);
  CheckMaxPool(rng, 32, 96, 512, false);
  CheckMaxPool(rng, 32, 47, 512, true);
  CheckMaxPool(rng, 2, 96, 64, true);
  CheckMaxPool(rng, 32, 12, 32, false);
  CheckAdd2D(rng, 32 * 96, 512, 0, 512, 0);
  CheckAdd2D(rng, 32 * 96, 512, 1536, 512, 0);
  CheckAdd2D(rng, 600000, 5, 0, 5, 0);  // more row tiles than gridDim.y allows
#endif

  // Empty inputs launch nothing and raise no error.
  informer::cuda::EluForward(nullptr, 0, nullptr, nullptr);
  informer::cuda::DropoutForward(nullptr, 0, 0.5f, {}, nullptr, nullptr);
  informer::cuda::ActivationForward(nullptr, Activation::kGelu, 0, nullptr);
  informer::cuda::MaxPool3s2Forward(nullptr, 0, 12, 32, nullptr, nullptr, nullptr);
  informer::cuda::Add2D(nullptr, 0, 32, nullptr, 0, nullptr, 32);
  informer::cuda::Add(nullptr, 0, nullptr, nullptr);
  test::sync_ok("empty inputs");
  return test::finish("test_cuda_pointwise");
}
