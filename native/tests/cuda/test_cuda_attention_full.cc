// Full attention on the GPU vs the CPU kernels (kernels/cpu/attention.h): forward without probs
// (streaming softmax), with probs, with probs and dropout (the mask rebuilt on the host from the
// counter hash), and the backward gradients, over causal / non-causal, row-major / head-major
// ('mix') outputs, fused QKV input strides, self and cross attention, head widths 8, 16, 64 and odd.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cuda/attention.h"
#include "cuda/device_random.h"
#include "cuda_test_util.h"
#include "cpu/attention.h"

namespace {

using informer::AttentionShape;
using informer::HeadLayout;

struct Case {
  int64_t B, H, Lq, Lk, d;
  bool fused_qkv;  // q, k, v are column blocks of one [B, L, 3 H d] projection (needs Lq == Lk)
};

enum class Mode { kInference, kProbs, kDropout };
const char* ModeName(Mode m) { return m == Mode::kInference ? "inference" : m == Mode::kProbs ? "probs" : "dropout"; }

double MaxAbs(const std::vector<float>& x) {
  double m = 0;
  for (float v : x) m = std::max(m, static_cast<double>(std::fabs(v)));
  return m;
}

// Tolerance: 1e-4 relative, with an absolute floor scaled to the array's magnitude (sums of many
// terms of both signs make elementwise relative error meaningless near zero).
bool Close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  const double atol = 1e-5 * std::max(1.0, MaxAbs(want));
  return CHECK_ALLCLOSE_MSG(got.data(), want.data(), static_cast<int64_t>(want.size()), atol, 1e-4, what.c_str());
}

void RunCase(const Case& c, bool causal, bool mix, Mode mode, uint32_t seed) {
  const AttentionShape s{c.B, c.H, c.Lq, c.Lk, c.d};
  const int64_t Hd = c.H * c.d, LL = c.B * c.H * c.Lq * c.Lk;
  char label[160];
  std::snprintf(label, sizeof label, "B%lld H%lld Lq%lld Lk%lld d%lld%s causal=%d mix=%d %s",
                static_cast<long long>(c.B), static_cast<long long>(c.H), static_cast<long long>(c.Lq),
                static_cast<long long>(c.Lk), static_cast<long long>(c.d), c.fused_qkv ? " fused" : "", causal, mix,
                ModeName(mode));
  const std::string name(label);
  test::Rng rng(seed);

  // Inputs: either one fused projection or separate q and k|v buffers, with their head layouts.
  HeadLayout in_q, in_kv;
  int64_t q_off, k_off, v_off, q_size, kv_size;
  std::vector<float> qbuf, kvbuf;
  if (c.fused_qkv) {
    in_q = in_kv = HeadLayout{c.Lq * 3 * Hd, c.d, 3 * Hd};
    qbuf = rng.uniform_vector(c.B * c.Lq * 3 * Hd);
    q_off = 0, k_off = Hd, v_off = 2 * Hd;
  } else {
    in_q = HeadLayout::RowMajor(c.Lq, c.H, c.d);
    in_kv = HeadLayout{c.Lk * 2 * Hd, c.d, 2 * Hd};  // k and v side by side in one [B, Lk, 2 H d] buffer
    qbuf = rng.uniform_vector(c.B * c.Lq * Hd);
    kvbuf = rng.uniform_vector(c.B * c.Lk * 2 * Hd);
    q_off = 0, k_off = 0, v_off = Hd;
  }
  q_size = static_cast<int64_t>(qbuf.size()), kv_size = static_cast<int64_t>(kvbuf.size());
  const float* hq = qbuf.data() + q_off;
  const float* hk = (c.fused_qkv ? qbuf.data() : kvbuf.data()) + k_off;
  const float* hv = (c.fused_qkv ? qbuf.data() : kvbuf.data()) + v_off;
  const HeadLayout out_layout = mix ? HeadLayout::HeadMajor(c.Lq, c.H, c.d) : HeadLayout::RowMajor(c.Lq, c.H, c.d);
  const float scale = 1.f / std::sqrt(static_cast<float>(c.d));
  const float dropout = mode == Mode::kDropout ? 0.1f : 0.f;
  const bool with_probs = mode != Mode::kInference;
  const informer::cuda::DropoutRng drng{0x5eedull + seed, 1000 + seed};

  // CPU reference (dropout applied below with the GPU's counter-hash mask).
  std::vector<float> out_ref(c.B * c.Lq * Hd, 0.f), probs_ref(with_probs ? LL : 0);
  informer::FullAttentionForward(s, hq, hk, hv, in_q, in_kv, out_ref.data(), out_layout, causal, scale, 0.f, nullptr,
                                 with_probs ? probs_ref.data() : nullptr, nullptr);
  std::vector<uint8_t> mask_ref;
  if (mode == Mode::kDropout) {
    mask_ref.resize(LL);
    for (int64_t e = 0; e < LL; ++e)
      mask_ref[e] = informer::cuda::DropoutKeep(drng.seed, drng.offset + static_cast<uint64_t>(e), dropout) ? 1 : 0;
    const float inv_keep = 1.f / (1.f - dropout);
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t h = 0; h < c.H; ++h)
        for (int64_t i = 0; i < c.Lq; ++i)
          for (int64_t x = 0; x < c.d; ++x) {
            double acc = 0;
            for (int64_t j = 0; j < c.Lk; ++j) {
              const int64_t e = ((b * c.H + h) * c.Lq + i) * c.Lk + j;
              const float vj = hv[b * in_kv.batch + h * in_kv.head + j * in_kv.row + x];
              if (mask_ref[e]) acc += static_cast<double>(probs_ref[e]) * inv_keep * vj;
            }
            out_ref[b * out_layout.batch + h * out_layout.head + i * out_layout.row + x] = static_cast<float>(acc);
          }
  }

  // GPU forward; outputs start as garbage so unwritten elements show.
  test::DeviceVec<float> dqbuf(qbuf), dkvbuf(kvbuf);
  const float* gq = dqbuf.get() + q_off;
  const float* gk = (c.fused_qkv ? dqbuf.get() : dkvbuf.get()) + k_off;
  const float* gv = (c.fused_qkv ? dqbuf.get() : dkvbuf.get()) + v_off;
  test::DeviceVec<float> dout(c.B * c.Lq * Hd, 7.f), dprobs(with_probs ? LL : 0, NAN);
  test::DeviceVec<uint8_t> dmask(mode == Mode::kDropout ? LL : 0, 2);
  test::DeviceVec<float> fws(std::max<int64_t>(1, informer::cuda::FullAttentionWorkspaceFloats(s)));
  informer::cuda::FullAttentionForward(nullptr, s, gq, gk, gv, in_q, in_kv, dout.get(), out_layout, causal, scale,
                                       dropout, drng, with_probs ? dprobs.get() : nullptr,
                                       mode == Mode::kDropout ? dmask.get() : nullptr, fws.get());
  test::sync_ok(("forward " + name).c_str());
  Close(dout.host(), out_ref, "out " + name);
  if (!with_probs) return;
  const std::vector<float> probs_gpu = dprobs.host();
  Close(probs_gpu, probs_ref, "probs " + name);
  std::vector<uint8_t> mask_gpu;
  if (mode == Mode::kDropout) {
    mask_gpu = dmask.host();
    int64_t differ = 0;
    for (int64_t e = 0; e < LL; ++e) differ += mask_gpu[e] != mask_ref[e];
    CHECK_MSG(differ == 0, ("drop mask " + name).c_str());
  }

  // Backward: gradients accumulate into non-zero starting values; d_out in the output layout.
  const std::vector<float> d_out = rng.uniform_vector(c.B * c.Lq * Hd);
  std::vector<float> gqbuf = rng.uniform_vector(q_size), gkvbuf = rng.uniform_vector(kv_size);
  test::DeviceVec<float> ddout(d_out), dgq(gqbuf), dgkv(gkvbuf);
  float* dq_cpu = gqbuf.data() + q_off;
  float* dk_cpu = (c.fused_qkv ? gqbuf.data() : gkvbuf.data()) + k_off;
  float* dv_cpu = (c.fused_qkv ? gqbuf.data() : gkvbuf.data()) + v_off;
  informer::FullAttentionBackward(s, hq, hk, hv, in_q, in_kv, d_out.data(), out_layout, scale, dropout,
                                  probs_ref.data(), mode == Mode::kDropout ? mask_ref.data() : nullptr, dq_cpu, dk_cpu,
                                  dv_cpu);
  float* gdq = dgq.get() + q_off;
  float* gdk = (c.fused_qkv ? dgq.get() : dgkv.get()) + k_off;
  float* gdv = (c.fused_qkv ? dgq.get() : dgkv.get()) + v_off;
  test::DeviceVec<float> bws(std::max<int64_t>(1, informer::cuda::FullAttentionBackwardWorkspaceFloats(s)), NAN);
  informer::cuda::FullAttentionBackward(nullptr, s, gq, gk, gv, in_q, in_kv, ddout.get(), out_layout, scale, dropout,
                                        dprobs.get(), mode == Mode::kDropout ? dmask.get() : nullptr, gdq, gdk, gdv,
                                        bws.get());
  test::sync_ok(("backward " + name).c_str());
  Close(dgq.host(), gqbuf, (c.fused_qkv ? "dq|dk|dv " : "dq ") + name);
  if (!c.fused_qkv) Close(dgkv.host(), gkvbuf, "dk|dv " + name);
}

void RunAllModes(const Case& c, uint32_t& seed) {
  for (bool causal : {false, true})
    for (bool mix : {false, true})
      for (Mode mode : {Mode::kInference, Mode::kProbs, Mode::kDropout}) RunCase(c, causal, mix, mode, ++seed);
}

// Determinism: the same backward twice gives bit-identical gradients (no atomics anywhere).
void CheckDeterministic() {
  const Case c{2, 2, 37, 41, 16, false};
  const AttentionShape s{c.B, c.H, c.Lq, c.Lk, c.d};
  const int64_t Hd = c.H * c.d, LL = c.B * c.H * c.Lq * c.Lk;
  test::Rng rng(99);
  test::DeviceVec<float> q(rng.uniform_vector(c.B * c.Lq * Hd)), kv(rng.uniform_vector(c.B * c.Lk * 2 * Hd));
  test::DeviceVec<float> out(c.B * c.Lq * Hd), probs(LL), g(rng.uniform_vector(c.B * c.Lq * Hd));
  test::DeviceVec<uint8_t> mask(LL);
  test::DeviceVec<float> ws(informer::cuda::FullAttentionBackwardWorkspaceFloats(s));
  const HeadLayout in_q = HeadLayout::RowMajor(c.Lq, c.H, c.d), in_kv{c.Lk * 2 * Hd, c.d, 2 * Hd};
  const HeadLayout lo = HeadLayout::RowMajor(c.Lq, c.H, c.d);
  informer::cuda::FullAttentionForward(nullptr, s, q.get(), kv.get(), kv.get() + Hd, in_q, in_kv, out.get(), lo, true,
                                       0.25f, 0.1f, {3, 0}, probs.get(), mask.get(), nullptr);
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    test::DeviceVec<float> dq(c.B * c.Lq * Hd, 0.f), dkv(c.B * c.Lk * 2 * Hd, 0.f);
    informer::cuda::FullAttentionBackward(nullptr, s, q.get(), kv.get(), kv.get() + Hd, in_q, in_kv, g.get(), lo, 0.25f,
                                          0.1f, probs.get(), mask.get(), dq.get(), dkv.get(), dkv.get() + Hd, ws.get());
    test::sync_ok("deterministic backward");
    std::vector<float> all = dq.host(), kvh = dkv.host();
    all.insert(all.end(), kvh.begin(), kvh.end());
    if (run == 0)
      first = all;
    else
      CHECK_MSG(all == first, "backward is bit-reproducible");
  }
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_attention_full")) return 77;
  uint32_t seed = 0;
  // Every combination of causal / mix / mode on small self and cross shapes; widths 8, 16, 64, odd
  // ones, and widths that exercise the large-shared-memory (256) and chunked (> 256) paths.
  const std::vector<Case> cases = {
      {2, 2, 12, 12, 8, true},    // seed encoder self-attention, fused QKV projection
      {1, 4, 18, 12, 8, false},   // seed decoder cross attention
      {1, 2, 18, 6, 8, false},    // cross attention onto a distilled encoder
      {1, 2, 40, 37, 16, false},  // several key and query tiles
      {1, 2, 9, 35, 64, false},  {2, 2, 23, 19, 12, false}, {1, 1, 33, 33, 20, true},
      {1, 1, 17, 70, 20, false}, {1, 2, 7, 5, 3, false},
  };
  for (const Case& c : cases) RunAllModes(c, seed);
  const std::vector<Case> wide = {{1, 1, 5, 7, 256, false}, {1, 1, 6, 9, 300, false}};
  for (const Case& c : wide)
    for (Mode mode : {Mode::kInference, Mode::kDropout}) {
      RunCase(c, true, true, mode, ++seed);
      RunCase(c, false, false, mode, ++seed);
    }
  CheckDeterministic();
#ifndef INFORMER_CUDA_EMULATION
  // The fixture configurations at full size: seed (d 8), paper_small (d 16), paper (d 64).
  const std::vector<Case> fixtures = {
      {32, 4, 12, 12, 8, true},  {32, 4, 18, 18, 8, false},  {32, 4, 18, 12, 8, false},
      {2, 4, 96, 96, 16, true},  {2, 4, 72, 48, 16, false},  {2, 4, 48, 48, 16, false},
      {32, 8, 96, 96, 64, true}, {32, 8, 72, 72, 64, false}, {32, 8, 72, 48, 64, false},
  };
  for (const Case& c : fixtures) RunAllModes(c, seed);
  // Long-sequence inference (the streaming path) and training-size probabilities.
  RunCase({1, 8, 2048, 2048, 64, false}, true, false, Mode::kInference, ++seed);
  RunCase({1, 8, 2048, 2048, 64, false}, false, true, Mode::kInference, ++seed);
  RunCase({2, 8, 512, 512, 64, false}, true, false, Mode::kDropout, ++seed);
  RunCase({1, 4, 700, 333, 32, false}, false, false, Mode::kDropout, ++seed);
#endif
  return test::finish("test_cuda_attention_full");
}
