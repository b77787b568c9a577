// The circular kernel-3 convolution: the im2col path (CircularConv3Forward) and the tap-major path
// of parameter weights (CircularConv3ForwardTapMajor, packed or not) against the definition, computed
// in double.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/conv.h"
#include "cpu/gemm.h"
#include "cpu/thread_pool.h"
#include "test_util.h"

using informer::PackedB;

namespace {

// out[b,t,o] = bias[o] + sum_{c,k} W[o,c,k] x[b,(t-1+k) mod L,c]
std::vector<float> Direct(int64_t B, int64_t L, int64_t Ci, int64_t Co, const std::vector<float>& x,
                          const std::vector<float>& w, const std::vector<float>& bias) {
  std::vector<float> out(B * L * Co);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t)
      for (int64_t o = 0; o < Co; ++o) {
        double acc = bias[o];
        for (int64_t c = 0; c < Ci; ++c)
          for (int64_t k = 0; k < 3; ++k)
            acc += double(w[(o * Ci + c) * 3 + k]) * x[(b * L + (t - 1 + k + L) % L) * Ci + c];
        out[(b * L + t) * Co + o] = float(acc);
      }
  return out;
}

void TestShape(int64_t B, int64_t L, int64_t Ci, int64_t Co, uint32_t seed) {
  std::vector<float> x(B * L * Ci), w(Co * Ci * 3), bias(Co), cols(B * L * 3 * Ci), out(B * L * Co);
  test::Rng(seed).fill_uniform(x.data(), x.size());
  test::Rng(seed + 1).fill_uniform(w.data(), w.size());
  test::Rng(seed + 2).fill_uniform(bias.data(), bias.size());
  const std::vector<float> want = Direct(B, L, Ci, Co, x, w, bias);

  informer::CircularConv3Forward(B, L, Ci, Co, x.data(), w.data(), bias.data(), cols.data(), out.data());
  CHECK_ALLCLOSE(out.data(), want.data(), out.size(), 1e-5, 1e-5);
  // cols is the im2col the backward pass reads.
  std::vector<float> im2col(cols.size());
  informer::CircularIm2Col3(B, L, Ci, x.data(), im2col.data());
  CHECK_ALLCLOSE(cols.data(), im2col.data(), cols.size(), 0.0, 0.0);

  std::vector<float> tap_major(Co * 3 * Ci);
  informer::TapMajorConv3Weight(w.data(), Co, Ci, tap_major.data());
  for (int64_t o = 0; o < Co; ++o)
    for (int64_t c = 0; c < Ci; ++c)
      for (int64_t k = 0; k < 3; ++k) CHECK_EQ(tap_major[o * 3 * Ci + k * Ci + c], w[(o * Ci + c) * 3 + k]);
  std::fill(out.begin(), out.end(), 0.f);
  informer::CircularConv3ForwardTapMajor(B, L, Ci, Co, x.data(), tap_major.data(), nullptr, bias.data(), cols.data(),
                                         out.data());
  CHECK_ALLCLOSE(out.data(), want.data(), out.size(), 1e-5, 1e-5);
  // Packed once, the same sums bit for bit (a batch gives the same forecast whole or split in parts).
  PackedB packed;
  packed.pack(tap_major.data(), Co, 3 * Ci, &informer::ThreadPool::global());
  std::vector<float> out_packed(out.size());
  informer::CircularConv3ForwardTapMajor(B, L, Ci, Co, x.data(), tap_major.data(), &packed, bias.data(), cols.data(),
                                         out_packed.data());
  CHECK_ALLCLOSE(out_packed.data(), out.data(), out.size(), 0.0, 0.0);
}

}  // namespace

int main() {
  // The token embedding (7 channels), short and one-step sequences (every tap the same row), several
  // samples, and the distilling conv at batch 1 (its im2col copies split over the pool).
  TestShape(2, 5, 7, 33, 1);
  TestShape(3, 1, 4, 16, 10);
  TestShape(2, 2, 9, 40, 20);
  TestShape(1, 96, 256, 64, 30);
  TestShape(4, 24, 32, 32, 40);
  return test::finish("test_conv");
}
