// Full attention with attention dropout (training) against direct formulas in double precision:
// out = (P * keep / (1 - p)) V and its backward, with the mask the forward drew. Head width 8 runs the
// in-register kernels (vecmath.h), width 16 the per-head GEMM path; both must match the formulas.
#include <cmath>
#include <string>
#include <vector>

#include "base/rng.h"
#include "cpu/attention.h"
#include "test_util.h"

using namespace informer;

namespace {

struct Case {
  int64_t B, H, Lq, Lk, d;
  bool causal;
};

std::string Label(const Case& c, const char* what) {
  return std::string(what) + " B" + std::to_string(c.B) + " H" + std::to_string(c.H) + " Lq" + std::to_string(c.Lq) +
         " Lk" + std::to_string(c.Lk) + " d" + std::to_string(c.d) + (c.causal ? " causal" : "");
}

void Run(const Case& c, float dropout) {
  const int64_t D = c.H * c.d, LL = c.Lq * c.Lk;
  const HeadLayout lq = HeadLayout::RowMajor(c.Lq, c.H, c.d), lk = HeadLayout::RowMajor(c.Lk, c.H, c.d);
  std::vector<float> q(c.B * c.Lq * D), k(c.B * c.Lk * D), v(k.size()), g(q.size());
  test::Rng(11).fill_uniform(q.data(), q.size());
  test::Rng(12).fill_uniform(k.data(), k.size());
  test::Rng(13).fill_uniform(v.data(), v.size());
  test::Rng(14).fill_uniform(g.data(), g.size());
  const float scale = 1.f / std::sqrt(static_cast<float>(c.d));
  const AttentionShape s{c.B, c.H, c.Lq, c.Lk, c.d};
  std::vector<float> out(q.size()), probs(c.B * c.H * LL);
  std::vector<uint8_t> mask(c.B * c.H * LL, 7);
  Rng rng(99);
  FullAttentionForward(s, q.data(), k.data(), v.data(), lq, lk, out.data(), lq, c.causal, scale, dropout, &rng,
                       probs.data(), mask.data());
  std::vector<float> dq(q.size(), 0.f), dk(k.size(), 0.f), dv(v.size(), 0.f);
  FullAttentionBackward(s, q.data(), k.data(), v.data(), lq, lk, g.data(), lq, scale, dropout, probs.data(),
                        mask.data(), dq.data(), dk.data(), dv.data());

  std::vector<float> out_ref(out.size()), dq_ref(q.size(), 0.f), dk_ref(k.size(), 0.f), dv_ref(v.size(), 0.f);
  std::vector<float> probs_ref(probs.size());
  const double inv_keep = 1.0 / (1.0 - dropout);
  int64_t kept = 0, valid = 0;
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.H; ++h) {
      const int64_t bh = b * c.H + h, oq = b * lq.batch + h * lq.head, ok = b * lk.batch + h * lk.head;
      const uint8_t* m = mask.data() + bh * LL;
      std::vector<double> P(LL), A(LL), dS(LL);
      for (int64_t i = 0; i < c.Lq; ++i) {
        double mx = -INFINITY;
        std::vector<double> sc(c.Lk);
        for (int64_t j = 0; j < c.Lk; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < c.d; ++e) dot += double(q[oq + i * lq.row + e]) * k[ok + j * lk.row + e];
          sc[j] = c.causal && j > i ? -INFINITY : dot * scale;
          mx = std::max(mx, sc[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < c.Lk; ++j) sum += sc[j] == -INFINITY ? 0 : std::exp(sc[j] - mx);
        for (int64_t j = 0; j < c.Lk; ++j) {
          const int64_t ij = i * c.Lk + j;
          P[ij] = sc[j] == -INFINITY ? 0 : std::exp(sc[j] - mx) / sum;
          CHECK(m[ij] == 0 || m[ij] == 1);
          A[ij] = m[ij] ? P[ij] * inv_keep : 0;
          probs_ref[bh * LL + ij] = float(P[ij]);
          if (!(c.causal && j > i)) kept += m[ij], ++valid;
        }
        // out_i = sum_j A_ij v_j; dA_ij = g_i . v_j; dP = dA * mask / keep; dS = P (dP - sum dP P).
        double dot = 0;
        std::vector<double> dP(c.Lk);
        for (int64_t j = 0; j < c.Lk; ++j) {
          double da = 0;
          for (int64_t e = 0; e < c.d; ++e) da += double(g[oq + i * lq.row + e]) * v[ok + j * lk.row + e];
          dP[j] = m[i * c.Lk + j] ? da * inv_keep : 0;
          dot += dP[j] * P[i * c.Lk + j];
        }
        for (int64_t j = 0; j < c.Lk; ++j) dS[i * c.Lk + j] = P[i * c.Lk + j] * (dP[j] - dot);
        for (int64_t e = 0; e < c.d; ++e) {
          double o = 0;
          for (int64_t j = 0; j < c.Lk; ++j) o += A[i * c.Lk + j] * v[ok + j * lk.row + e];
          out_ref[oq + i * lq.row + e] = float(o);
        }
      }
      for (int64_t e = 0; e < c.d; ++e) {
        for (int64_t i = 0; i < c.Lq; ++i) {
          double acc = 0;
          for (int64_t j = 0; j < c.Lk; ++j) acc += dS[i * c.Lk + j] * k[ok + j * lk.row + e];
          dq_ref[oq + i * lq.row + e] = float(acc * scale);
        }
        for (int64_t j = 0; j < c.Lk; ++j) {
          double acc_k = 0, acc_v = 0;
          for (int64_t i = 0; i < c.Lq; ++i) {
            acc_k += dS[i * c.Lk + j] * q[oq + i * lq.row + e];
            acc_v += A[i * c.Lk + j] * g[oq + i * lq.row + e];
          }
          dk_ref[ok + j * lk.row + e] = float(acc_k * scale);
          dv_ref[ok + j * lk.row + e] = float(acc_v);
        }
      }
    }
  CHECK_ALLCLOSE_MSG(probs.data(), probs_ref.data(), probs.size(), 1e-6, 1e-4, Label(c, "probs").c_str());
  CHECK_ALLCLOSE_MSG(out.data(), out_ref.data(), out.size(), 1e-5, 1e-4, Label(c, "out").c_str());
  CHECK_ALLCLOSE_MSG(dq.data(), dq_ref.data(), dq.size(), 1e-5, 1e-4, Label(c, "dq").c_str());
  CHECK_ALLCLOSE_MSG(dk.data(), dk_ref.data(), dk.size(), 1e-5, 1e-4, Label(c, "dk").c_str());
  CHECK_ALLCLOSE_MSG(dv.data(), dv_ref.data(), dv.size(), 1e-5, 1e-4, Label(c, "dv").c_str());
  // The mask is a Bernoulli(1 - p) draw: the kept fraction within 5 sigma.
  const double frac = double(kept) / valid, sigma = std::sqrt(dropout * (1 - dropout) / valid);
  CHECK_MSG(std::fabs(frac - (1 - dropout)) < 5 * sigma, Label(c, "kept fraction").c_str());
}

}  // namespace

int main() {
  for (bool causal : {false, true}) {
    Run({4, 4, 18, 12, 8, causal}, 0.3f);   // the seed decoder's cross-attention shape, in registers
    Run({2, 3, 9, 7, 8, causal}, 0.5f);     // keys fewer than one vector
    Run({2, 2, 20, 33, 8, causal}, 0.1f);   // a partial last vector of keys
    Run({2, 2, 18, 12, 16, causal}, 0.3f);  // width 16: the per-head GEMM path
  }
  return test::finish("test_attention_dropout");
}
