// A whole-model forward pass on the CPU backend, for checking a build on another architecture: a seeded
// model (ProbSparse attention, distilling, two encoder layers) forecasts seeded inputs; the test checks
// that the forecast is finite, deterministic, and the same for a window alone as inside a batch.
//   test_model_forward                 run the checks
//   test_model_forward --write FILE    also write the forecast (one %.9g per line)
//   test_model_forward --compare FILE  also compare with a forecast written on another machine (1e-4)
// scripts/prebuild.mjs writes the forecast on x86-64 and compares the arm64 build's under qemu-user.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"
#include "test_util.h"

namespace {

using informer::ForwardInput;
using informer::ForwardOptions;
using informer::Model;
using informer::ModelConfig;

ModelConfig Config() {
  ModelConfig c;
  c.seq_len = 24, c.label_len = 12, c.pred_len = 6;
  c.enc_in = 3, c.dec_in = 3, c.c_out = 3;
  c.d_model = 32, c.n_heads = 4, c.e_layers = 2, c.d_layers = 1, c.d_ff = 64;
  c.dropout = 0.f;
  c.seed = 2024;
  return c;
}

struct Inputs {
  int64_t B;
  std::vector<float> x_enc, mark_enc, x_dec, mark_dec;
  ForwardInput at(int64_t first, int64_t n, const ModelConfig& c) const {
    const int64_t Le = c.seq_len, Ld = c.dec_len();
    ForwardInput in;
    in.batch = n;
    in.x_enc = x_enc.data() + first * Le * c.enc_in;
    in.x_mark_enc = mark_enc.data() + first * Le * c.n_mark;
    in.x_dec = x_dec.data() + first * Ld * c.dec_in;
    in.x_mark_dec = mark_dec.data() + first * Ld * c.n_mark;
    return in;
  }
};

// Inputs from a fixed formula (no generator), so every platform builds the same bits.
Inputs MakeInputs(const ModelConfig& c, int64_t B) {
  Inputs in{B, {}, {}, {}, {}};
  auto fill = [](std::vector<float>* v, int64_t n, float phase) {
    v->resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) (*v)[i] = 0.5f * std::sin(0.37f * static_cast<float>(i) + phase);
  };
  fill(&in.x_enc, B * c.seq_len * c.enc_in, 0.f);
  fill(&in.mark_enc, B * c.seq_len * c.n_mark, 1.f);
  fill(&in.x_dec, B * c.dec_len() * c.dec_in, 2.f);
  fill(&in.mark_dec, B * c.dec_len() * c.n_mark, 3.f);
  return in;
}

void ExpectOk(const informer::Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "FATAL %s: %s\n", what, st.message().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* write = nullptr;
  const char* compare = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--write") == 0) write = argv[i + 1];
    if (std::strcmp(argv[i], "--compare") == 0) compare = argv[i + 1];
  }
  const ModelConfig c = Config();
  std::unique_ptr<Model> m;
  ExpectOk(Model::Create(c, &m), "Model::Create");
  const int64_t B = 3, per = c.pred_len * c.c_out;
  const Inputs in = MakeInputs(c, B);
  ForwardOptions eval;
  std::vector<float> out(B * per), again(B * per), alone(per);
  ExpectOk(m->Forward(in.at(0, B, c), eval, out.data()), "forward");
  ExpectOk(m->Forward(in.at(0, B, c), eval, again.data()), "forward again");
  ExpectOk(m->Forward(in.at(1, 1, c), eval, alone.data()), "forward of window 1 alone");
  bool finite = true;
  for (float v : out) finite = finite && std::isfinite(v);
  CHECK_MSG(finite, "the forecast is finite");
  CHECK_MSG(out == again, "the same input gives the same forecast (fixed inference samples)");
  CHECK_ALLCLOSE_MSG(alone.data(), out.data() + per, per, 1e-5, 1e-5, "a window alone forecasts as inside the batch");

  if (write) {
    FILE* f = std::fopen(write, "w");
    CHECK_MSG(f != nullptr, "open --write file");
    if (f) {
      for (float v : out) std::fprintf(f, "%.9g\n", v);
      std::fclose(f);
    }
  }
  if (compare) {
    FILE* f = std::fopen(compare, "r");
    CHECK_MSG(f != nullptr, "open --compare file");
    std::vector<float> want;
    float v;
    while (f && std::fscanf(f, "%f", &v) == 1) want.push_back(v);
    if (f) std::fclose(f);
    CHECK_EQ(static_cast<int64_t>(want.size()), static_cast<int64_t>(out.size()));
    if (want.size() == out.size()) {
      CHECK_ALLCLOSE_MSG(out.data(), want.data(), static_cast<int64_t>(out.size()), 1e-4, 1e-4,
                         "the forecast matches the one written on the other machine");
    }
  }
  std::printf("test_model_forward: %lld forecasts of %lld values\n", static_cast<long long>(B),
              static_cast<long long>(per));
  return test::finish("test_model_forward");
}
