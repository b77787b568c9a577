// Helpers for the model-level native tests: a model (or exit), and a batch of uniform random inputs
// with its target.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "model/model.h"
#include "test_util.h"

namespace test {

// Model::Create, exiting with its message when it fails (nothing after it could run).
inline std::unique_ptr<informer::Model> CreateModel(const informer::ModelConfig& c) {
  std::unique_ptr<informer::Model> m;
  const informer::Status st = informer::Model::Create(c, &m);
  if (!st.ok()) {
    std::fprintf(stderr, "FATAL Model::Create: %s\n", st.message().c_str());
    std::exit(1);
  }
  return m;
}

// B samples of inputs and a target, uniform in [-1, 1), drawn in that order from Rng(seed).
struct ModelBatch {
  std::vector<float> x_enc, mark_enc, x_dec, mark_dec, target;
  informer::ForwardInput in;
};

inline ModelBatch RandomModelBatch(const informer::ModelConfig& c, int64_t B, unsigned seed) {
  ModelBatch b;
  Rng r(seed);
  b.x_enc = r.uniform_vector(B * c.seq_len * c.enc_in);
  b.mark_enc = r.uniform_vector(B * c.seq_len * c.n_mark);
  b.x_dec = r.uniform_vector(B * c.dec_len() * c.dec_in);
  b.mark_dec = r.uniform_vector(B * c.dec_len() * c.n_mark);
  b.target = r.uniform_vector(B * c.pred_len * c.c_out);
  b.in.batch = B;
  b.in.x_enc = b.x_enc.data();
  b.in.x_mark_enc = b.mark_enc.data();
  b.in.x_dec = b.x_dec.data();
  b.in.x_mark_dec = b.mark_dec.data();
  return b;
}

}  // namespace test
