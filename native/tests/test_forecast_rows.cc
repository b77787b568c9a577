// The last decoder layer computes only the forecast rows past its self-attention, forward and
// backward, and with mix only the heads that hold those rows (model_forward.cc,
// Pass::forecast_rows_only). Checked against the same passes with an activation sink, which computes
// every row: the forecasts (bit for bit), losses and gradients agree for one and two decoder layers,
// with and without mix, ProbSparse and full attention, RevIN, distilling, and batches of 1 and 3 (a
// batch larger than one gathers the kept rows).
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"
#include "model_test_util.h"
#include "test_util.h"

namespace {

using informer::ForwardInput;
using informer::ForwardOptions;
using informer::Model;
using informer::ModelConfig;

void Compare(const std::string& name, const ModelConfig& c, int64_t B) {
  std::unique_ptr<Model> m = test::CreateModel(c);
  const test::ModelBatch batch = test::RandomModelBatch(c, B, 11);
  const ForwardInput& in = batch.in;
  const int64_t n = B * c.pred_len * c.c_out;
  std::vector<float> rows_only(n), every_row(n);
  int64_t emitted = 0;
  const informer::ActivationSink sink = [&](const std::string&, const float*, const std::vector<int64_t>&) {
    ++emitted;
  };
  ForwardOptions fast, full;
  full.sink = &sink;
  CHECK(m->Forward(in, fast, rows_only.data()).ok());
  CHECK(m->Forward(in, full, every_row.data()).ok());
  CHECK_MSG(emitted > 0, (name + ": the sink saw the activations").c_str());
  // Bit for bit: the rows and heads left out (with mix, only the heads holding the kept rows are
  // projected and attended) change no arithmetic of those computed.
  CHECK_MSG(std::memcmp(rows_only.data(), every_row.data(), n * sizeof(float)) == 0, (name + ": forecast").c_str());

  // Training (dropout 0: the masks of fewer rows would be other draws), twice, so the second step's
  // gradients start from parameters both paths moved the same way.
  const std::vector<float>& target = batch.target;
  ForwardOptions train, train_all;
  train.train = train_all.train = true;
  train_all.sink = &sink;
  std::unique_ptr<Model> twin = test::CreateModel(c);
  const informer::AdamConfig adam;
  for (int step = 0; step < 2; ++step) {
    double loss = 0, loss_all = 0;
    CHECK(m->TrainStep(in, target.data(), train, adam, &loss).ok());
    CHECK(twin->TrainStep(in, target.data(), train_all, adam, &loss_all).ok());
    const std::string what = name + ", train step " + std::to_string(step);
    CHECK_MSG(std::fabs(loss - loss_all) <= 1e-6 * std::fabs(loss_all), (what + ": loss").c_str());
    const std::vector<float>&g = m->grads(), &g_all = twin->grads();
    CHECK_ALLCLOSE_MSG(g.data(), g_all.data(), static_cast<int64_t>(g.size()), 1e-6, 1e-4,
                       (what + ": gradients").c_str());
  }
}

ModelConfig Base() {
  ModelConfig c;
  c.seq_len = 20, c.label_len = 10, c.pred_len = 6;
  c.enc_in = 3, c.dec_in = 3, c.c_out = 3;
  c.d_model = 32, c.n_heads = 4, c.e_layers = 2, c.d_layers = 1, c.d_ff = 48;
  c.seed = 5;
  c.dropout = 0.f;
  return c;
}

}  // namespace

int main() {
  for (int64_t B : {1, 3}) {
    const std::string b = ", batch " + std::to_string(B);
    Compare("probsparse, mix" + b, Base(), B);
    ModelConfig two = Base();
    two.d_layers = 2;
    Compare("two decoder layers" + b, two, B);
    ModelConfig no_mix = Base();
    no_mix.mix = false;
    Compare("without mix" + b, no_mix, B);
    ModelConfig full = Base();
    full.attn = informer::AttnKind::kFull;
    Compare("full attention" + b, full, B);
    ModelConfig revin = Base();
    revin.normalize = informer::NormalizeKind::kRevin;
    Compare("revin" + b, revin, B);
    ModelConfig no_distil = Base();
    no_distil.distil = false;
    Compare("without distilling" + b, no_distil, B);
  }
  return test::finish("test_forecast_rows");
}
