// ProbSparse attention on the GPU against the CPU kernel (kernels/cpu/attention_probsparse.cc):
// the selected rows top [B, H, u] must be identical (same set, same ascending order), probs
// [B, H, u, Lk] and the output within rel 1e-4; the backward (dq, dk, dv accumulated into nonzero
// buffers) is compared with the CPU backward fed the same top / probs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/attention.h"
#include "cuda_test_util.h"
#include "cpu/attention.h"

namespace {

using informer::AttentionShape;
using informer::HeadLayout;

enum class Inputs {
  Separate,  // q, k, v each [B, L, H*d]
  Fused,     // q, k, v slices of one [B, L, 3*H*d] projection (self-attention), k/v of [B, Lk, 2*H*d] otherwise
};

struct Case {
  std::string name;
  int64_t B, H, Lq, Lk, d, U, u;
  bool masked, mix;
  Inputs inputs;
  enum { Random, AllEqual } data = Random;  // AllEqual: every M equal, so the tie rule alone decides
};

float PeakAbs(const std::vector<float>& x) {
  float m = 0.f;
  for (float v : x) m = std::max(m, std::fabs(v));
  return m;
}

// Device workspace of `floats` floats (at least one).
test::DeviceVec<float> Workspace(int64_t floats) { return test::DeviceVec<float>(std::max<int64_t>(1, floats)); }

void RunCase(const Case& c, uint32_t seed) {
  const std::string tag = c.name + (c.masked ? " masked" : " unmasked") + (c.mix ? " mix" : "");
  const AttentionShape s{c.B, c.H, c.Lq, c.Lk, c.d};
  const int64_t B = c.B, H = c.H, Lq = c.Lq, Lk = c.Lk, d = c.d, Hd = H * d, U = c.U, u = c.u;
  test::Rng rng(seed);

  // Inputs and their per-head views.
  int64_t q_off = 0, k_off = 0, v_off = 0;
  HeadLayout in_q, in_kv;
  std::vector<float> qbuf, kbuf, vbuf;  // kbuf doubles as the fused buffer
  if (c.inputs == Inputs::Fused && Lq == Lk) {
    kbuf = rng.normal_vector(B * Lq * 3 * Hd);
    in_q = in_kv = {Lq * 3 * Hd, d, 3 * Hd};
    q_off = 0, k_off = Hd, v_off = 2 * Hd;
  } else if (c.inputs == Inputs::Fused) {
    qbuf = rng.normal_vector(B * Lq * Hd);
    kbuf = rng.normal_vector(B * Lk * 2 * Hd);
    in_q = HeadLayout::RowMajor(Lq, H, d);
    in_kv = {Lk * 2 * Hd, d, 2 * Hd};
    k_off = 0, v_off = Hd;
  } else {
    qbuf = rng.normal_vector(B * Lq * Hd);
    kbuf = rng.normal_vector(B * Lk * Hd);
    vbuf = rng.normal_vector(B * Lk * Hd);
    in_q = HeadLayout::RowMajor(Lq, H, d);
    in_kv = HeadLayout::RowMajor(Lk, H, d);
  }
  std::vector<float>& qsrc = qbuf.empty() ? kbuf : qbuf;
  std::vector<float>& vsrc = vbuf.empty() ? kbuf : vbuf;
  std::vector<int32_t> sample(static_cast<size_t>(Lq * U));
  for (auto& x : sample) x = static_cast<int32_t>(rng.integer(0, Lk - 1));
  if (c.data == Case::AllEqual) {  // identical query rows and sample rows: M is the same everywhere
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 1; i < Lq; ++i)
        for (int64_t e = 0; e < Hd; ++e)
          qsrc[q_off + b * in_q.batch + i * in_q.row + e] = qsrc[q_off + b * in_q.batch + e];
    for (int64_t i = 1; i < Lq; ++i) std::copy(sample.begin(), sample.begin() + U, sample.begin() + i * U);
  }
  const HeadLayout out_layout = c.mix ? HeadLayout::HeadMajor(Lq, H, d) : HeadLayout::RowMajor(Lq, H, d);
  const float scale = 1.f / std::sqrt(static_cast<float>(d));

  // CPU reference.
  std::vector<float> out_cpu(B * Lq * Hd, 12345.f), probs_cpu(B * H * u * Lk, 12345.f);
  std::vector<int32_t> top_cpu(B * H * u, -1);
  informer::ProbAttentionForward(s, qsrc.data() + q_off, kbuf.data() + k_off, vsrc.data() + v_off, in_q, in_kv,
                                 out_cpu.data(), out_layout, c.masked, scale, sample.data(), U, u, top_cpu.data(),
                                 probs_cpu.data());

  // GPU.
  test::DeviceVec<float> dq_in(qbuf), dkv_in(kbuf), dv_in(vbuf);
  const float* gq = (qbuf.empty() ? dkv_in.get() : dq_in.get()) + q_off;
  const float* gk = dkv_in.get() + k_off;
  const float* gv = (vbuf.empty() ? dkv_in.get() : dv_in.get()) + v_off;
  test::DeviceVec<int32_t> g_sample(sample), g_top(B * H * u, -1);
  test::DeviceVec<float> g_out(B * Lq * Hd, 12345.f), g_probs(B * H * u * Lk, 12345.f);
  test::DeviceVec<float> ws = Workspace(informer::cuda::ProbAttentionWorkspaceFloats(s, U, u));
  informer::cuda::ProbAttentionForward(nullptr, s, gq, gk, gv, in_q, in_kv, g_out.get(), out_layout, c.masked, scale,
                                       g_sample.get(), U, u, g_top.get(), g_probs.get(), ws.get());
  test::sync_ok(("forward " + tag).c_str());
  const std::vector<int32_t> top_gpu = g_top.host();
  CHECK_MSG(top_gpu == top_cpu, ("top indices " + tag).c_str());
  if (c.data == Case::AllEqual) {  // all ties: the lowest u indices, as the CPU's rule says
    bool lowest = true;
    for (int64_t t = 0; t < B * H * u; ++t) lowest = lowest && top_gpu[t] == t % u;
    CHECK_MSG(lowest, ("tie rule " + tag).c_str());
  }
  const std::vector<float> probs_gpu = g_probs.host(), out_gpu = g_out.host();
  CHECK_ALLCLOSE_MSG(probs_gpu.data(), probs_cpu.data(), B * H * u * Lk, 1e-6, 1e-4, ("probs " + tag).c_str());
  CHECK_ALLCLOSE_MSG(out_gpu.data(), out_cpu.data(), B * Lq * Hd, 1e-5 * std::max(1.f, PeakAbs(out_cpu)), 1e-4,
                     ("out " + tag).c_str());

  // Without top_out / probs (inference) the output is the same.
  test::DeviceVec<float> g_out2(B * Lq * Hd, 12345.f);
  informer::cuda::ProbAttentionForward(nullptr, s, gq, gk, gv, in_q, in_kv, g_out2.get(), out_layout, c.masked, scale,
                                       g_sample.get(), U, u, nullptr, nullptr, ws.get());
  test::sync_ok(("forward (no probs) " + tag).c_str());
  CHECK_MSG(g_out2.host() == out_gpu, ("out without probs " + tag).c_str());

  // Backward from the CPU's top / probs; gradient buffers start nonzero (they are accumulated into).
  const std::vector<float> d_out = rng.normal_vector(B * Lq * Hd);
  // (Fused inputs share one gradient buffer; the separate ones stay empty.)
  std::vector<float> gq_cpu = rng.normal_vector(qbuf.size()), gkv_cpu = rng.normal_vector(kbuf.size());
  std::vector<float> gv_cpu = rng.normal_vector(vbuf.size());
  test::DeviceVec<float> g_dq(gq_cpu), g_dkv(gkv_cpu), g_dv(gv_cpu), g_dout(d_out), g_probs_cpu(probs_cpu);
  test::DeviceVec<int32_t> g_top_cpu(top_cpu);
  float* cq = gq_cpu.data();
  if (qbuf.empty()) cq = gkv_cpu.data();
  float* cv = vbuf.empty() ? gkv_cpu.data() : gv_cpu.data();
  informer::ProbAttentionBackward(s, qsrc.data() + q_off, kbuf.data() + k_off, vsrc.data() + v_off, in_q, in_kv,
                                  d_out.data(), out_layout, c.masked, scale, u, top_cpu.data(), probs_cpu.data(),
                                  cq + q_off, gkv_cpu.data() + k_off, cv + v_off);
  float* dq_dev = (qbuf.empty() ? g_dkv.get() : g_dq.get()) + q_off;
  float* dv_dev = (vbuf.empty() ? g_dkv.get() : g_dv.get()) + v_off;
  test::DeviceVec<float> ws_b = Workspace(informer::cuda::ProbAttentionBackwardWorkspaceFloats(s, u));
  informer::cuda::ProbAttentionBackward(nullptr, s, gq, gk, gv, in_q, in_kv, g_dout.get(), out_layout, c.masked, scale,
                                        u, g_top_cpu.get(), g_probs_cpu.get(), dq_dev, g_dkv.get() + k_off, dv_dev,
                                        ws_b.get());
  test::sync_ok(("backward " + tag).c_str());
  auto check_grad = [&](const test::DeviceVec<float>& dev, const std::vector<float>& want, const char* what) {
    if (want.empty()) return;
    const std::vector<float> got = dev.host();
    CHECK_ALLCLOSE_MSG(got.data(), want.data(), dev.size(), 2e-5 * std::max(1.f, PeakAbs(want)), 1e-4,
                       (std::string(what) + " " + tag).c_str());
  };
  check_grad(g_dq, gq_cpu, "dq");
  check_grad(g_dkv, gkv_cpu, qbuf.empty() ? "dq/dk/dv (fused)" : (vbuf.empty() ? "dk/dv (fused)" : "dk"));
  check_grad(g_dv, gv_cpu, "dv");
}

}  // namespace

int main() {
  if (test::no_device("test_cuda_attention_probsparse")) return 77;
  // Budgets as the reference computes them (factor 5): L 12 -> U = u = 12 (every row selected),
  // L 18 -> 15, L 48 -> 20, L 96 -> 25, L 2048 -> 40.
  std::vector<Case> cases = {
      {"seed L12 d8", 2, 4, 12, 12, 8, 12, 12, false, false, Inputs::Separate},
      {"seed L18 d8", 2, 2, 18, 18, 8, 15, 15, false, false, Inputs::Fused},
      {"L48 d16", 1, 2, 48, 48, 16, 20, 20, false, true, Inputs::Separate},
      {"odd Lq40 Lk29 d13", 1, 2, 40, 29, 13, 17, 19, false, false, Inputs::Fused},
      {"Lq30 Lk45 d72", 1, 1, 30, 45, 72, 20, 11, false, true, Inputs::Separate},
      {"ties L30 d8", 1, 2, 30, 30, 8, 6, 10, false, false, Inputs::Separate, Case::AllEqual},
      {"wide L20 d200", 1, 1, 20, 20, 200, 10, 8, false, true, Inputs::Fused},
      {"no rows selected L10 d8", 1, 1, 10, 10, 8, 5, 0, false, false, Inputs::Separate},
  };
  const std::vector<Case> masked_too = {
      {"seed L12 d8", 2, 4, 12, 12, 8, 12, 12, true, true, Inputs::Fused},
      {"seed L18 d8", 2, 2, 18, 18, 8, 15, 15, true, true, Inputs::Separate},
      {"L48 d16", 1, 2, 48, 48, 16, 20, 20, true, false, Inputs::Fused},
      {"L37 d13", 1, 2, 37, 37, 13, 18, 16, true, true, Inputs::Separate},
      {"ties L30 d8", 1, 2, 30, 30, 8, 6, 10, true, true, Inputs::Fused, Case::AllEqual},
  };
  cases.insert(cases.end(), masked_too.begin(), masked_too.end());
#ifdef INFORMER_CUDA_EMULATION
  // One head of the paper's width at its encoder length (the emulator runs each thread as a fiber).
  cases.push_back({"L96 d64", 1, 1, 96, 96, 64, 25, 25, false, false, Inputs::Separate});
  cases.push_back({"L96 d64", 1, 1, 96, 96, 64, 25, 25, true, true, Inputs::Fused});
#else
  // The fixture shapes (seed, paper_small, paper), a long sequence and a wide odd head.
  for (bool masked : {false, true})
    for (bool mix : {false, true}) {
      cases.push_back({"seed B32 L12", 32, 4, 12, 12, 8, 12, 12, masked, mix, Inputs::Fused});
      cases.push_back({"seed B32 L18", 32, 4, 18, 18, 8, 15, 15, masked, mix, Inputs::Separate});
      cases.push_back({"paper_small L96", 2, 4, 96, 96, 16, 25, 25, masked, mix, Inputs::Fused});
      cases.push_back({"paper_small L72", 2, 4, 72, 72, 16, 25, 25, masked, mix, Inputs::Separate});
      cases.push_back({"paper L96", 32, 8, 96, 96, 64, 25, 25, masked, mix, Inputs::Fused});
      cases.push_back({"paper L72", 32, 8, 72, 72, 64, 25, 25, masked, mix, Inputs::Separate});
      cases.push_back({"paper L48", 32, 8, 48, 48, 64, 20, 20, masked, mix, Inputs::Separate});
      cases.push_back({"long L2048", 4, 8, 2048, 2048, 64, 40, 40, masked, mix, Inputs::Fused});
      cases.push_back({"wide L200 d200", 2, 2, 200, 200, 200, 30, 30, masked, mix, Inputs::Separate});
    }
  cases.push_back({"ties L2048 d8", 2, 2, 2048, 2048, 8, 40, 40, false, false, Inputs::Separate, Case::AllEqual});
  cases.push_back({"paper Lq96 Lk48", 32, 8, 96, 48, 64, 20, 25, false, true, Inputs::Fused});
#endif
  uint32_t seed = 1;
  for (const Case& c : cases) RunCase(c, seed++);
  return test::finish("test_cuda_attention_probsparse");
}
