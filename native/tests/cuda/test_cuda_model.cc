// Whole models on the GPU against the same models on the CPU: forward (eval, deterministic
// sampling), loss and every gradient of a training pass, two Adam steps (parameters, BatchNorm
// running statistics, moments), and the trip back to the CPU. Dropout is off where results are
// compared (the devices draw masks differently); with dropout on, a GPU step must be finite and
// reproducible for a seeded model.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"
#include "cuda/backend.h"
#include "cuda_test_util.h"

namespace {

using informer::Device;
using informer::ForwardInput;
using informer::ForwardOptions;
using informer::Model;
using informer::ModelConfig;

struct Batch {
  int64_t B;
  std::vector<float> x_enc, mark_enc, x_dec, mark_dec, target;
  ForwardInput in() const { return {B, x_enc.data(), mark_enc.data(), x_dec.data(), mark_dec.data()}; }
};

Batch MakeBatch(const ModelConfig& c, int64_t B, uint32_t seed) {
  test::Rng rng(seed);
  Batch b;
  b.B = B;
  const int64_t Le = c.seq_len, Ld = c.dec_len();
  b.x_enc = rng.normal_vector(B * Le * c.enc_in);
  b.x_dec = rng.normal_vector(B * Ld * c.dec_in);
  b.target = rng.normal_vector(B * c.pred_len * c.c_out);
  auto marks = [&](int64_t L) {
    std::vector<float> m(static_cast<size_t>(B * L * c.n_mark));
    for (size_t i = 0; i < m.size(); ++i) {
      if (c.embed == informer::EmbedKind::kTimeF) {
        m[i] = rng.uniform(-0.5f, 0.5f);
      } else {  // integer marks within each table: month, day, weekday, hour (, minute)
        static const int rows[] = {13, 32, 7, 24, 4};
        m[i] = static_cast<float>(rng.integer(0, rows[i % c.n_mark] - 1));
      }
    }
    return m;
  };
  b.mark_enc = marks(Le);
  b.mark_dec = marks(Ld);
  return b;
}

std::unique_ptr<Model> Create(const ModelConfig& c) {
  std::unique_ptr<Model> m;
  test::expect_ok(Model::Create(c, &m), "Model::Create");
  return m;
}

// Relative to the largest magnitude of the reference: gradients span orders of magnitude.
void CheckClose(const std::vector<float>& got, const std::vector<float>& want, double rtol, const std::string& what) {
  double scale = 0;
  for (float w : want) scale = std::max(scale, static_cast<double>(std::fabs(w)));
  CHECK_ALLCLOSE_MSG(got.data(), want.data(), static_cast<int64_t>(want.size()), rtol * scale + 1e-7, rtol,
                     what.c_str());
}

void CompareDevices(const std::string& name, ModelConfig c, int64_t B) {
  c.dropout = 0.f;
  std::unique_ptr<Model> cpu = Create(c), gpu = Create(c);
  test::expect_ok(gpu->SetDevice(Device::kCuda), "SetDevice(cuda)");
  CHECK(gpu->device() == Device::kCuda);
  const Batch batch = MakeBatch(c, B, 11);
  const int64_t n_out = B * c.pred_len * c.c_out;

  // Inference.
  std::vector<float> out_cpu(n_out), out_gpu(n_out);
  ForwardOptions eval;
  test::expect_ok(cpu->Forward(batch.in(), eval, out_cpu.data()), "cpu forward");
  test::expect_ok(gpu->Forward(batch.in(), eval, out_gpu.data()), "gpu forward");
  CheckClose(out_gpu, out_cpu, 1e-4, name + ": eval forward");

  // Loss and gradients of a training pass (fresh key samples from the same generator stream).
  ForwardOptions train;
  train.train = true;
  double loss_cpu = 0, loss_gpu = 0;
  test::expect_ok(cpu->LossAndGrad(batch.in(), batch.target.data(), train, &loss_cpu, nullptr), "cpu lossAndGrad");
  test::expect_ok(gpu->LossAndGrad(batch.in(), batch.target.data(), train, &loss_gpu, nullptr), "gpu lossAndGrad");
  CHECK_NEAR(loss_gpu, loss_cpu, 1e-5 * std::fabs(loss_cpu));
  CheckClose(gpu->grads(), cpu->grads(), 1e-3, name + ": gradients");

  // Two optimisation steps, then everything the model keeps.
  informer::AdamConfig adam;
  adam.lr = 1e-3f;
  for (int step = 0; step < 2; ++step) {
    test::expect_ok(cpu->TrainStep(batch.in(), batch.target.data(), train, adam, &loss_cpu), "cpu trainStep");
    test::expect_ok(gpu->TrainStep(batch.in(), batch.target.data(), train, adam, &loss_gpu), "gpu trainStep");
    CHECK_NEAR(loss_gpu, loss_cpu, 1e-4 * std::fabs(loss_cpu));
  }
  test::expect_ok(gpu->SyncHost(), "SyncHost");
  CheckClose(gpu->params().floats(), cpu->params().floats(), 1e-3, name + ": parameters after two steps");
  CHECK(gpu->params().ints() == cpu->params().ints());  // num_batches_tracked
  CHECK_EQ(gpu->adam_step(), cpu->adam_step());
  CheckClose(gpu->adam_m(), cpu->adam_m(), 1e-3, name + ": Adam first moments");

  // Back on the CPU the moved model forecasts as the one that never left.
  test::expect_ok(gpu->SetDevice(Device::kCpu), "SetDevice(cpu)");
  test::expect_ok(cpu->Forward(batch.in(), eval, out_cpu.data()), "cpu forward");
  test::expect_ok(gpu->Forward(batch.in(), eval, out_gpu.data()), "moved-back forward");
  CheckClose(out_gpu, out_cpu, 1e-3, name + ": forward after the round trip");
}

void DropoutIsReproducible(ModelConfig c, int64_t B) {
  c.dropout = 0.1f;
  std::unique_ptr<Model> a = Create(c), b = Create(c);
  test::expect_ok(a->SetDevice(Device::kCuda), "SetDevice");
  test::expect_ok(b->SetDevice(Device::kCuda), "SetDevice");
  const Batch batch = MakeBatch(c, B, 5);
  ForwardOptions train;
  train.train = true;
  informer::AdamConfig adam;
  double la = 0, lb = 0;
  test::expect_ok(a->TrainStep(batch.in(), batch.target.data(), train, adam, &la), "trainStep");
  test::expect_ok(b->TrainStep(batch.in(), batch.target.data(), train, adam, &lb), "trainStep");
  CHECK(std::isfinite(la));
  CHECK_EQ(la, lb);
}

ModelConfig Seed() {  // the 'seed' fixture's shape
  ModelConfig c;
  c.seq_len = 12, c.label_len = 12, c.pred_len = 6;
  c.enc_in = c.dec_in = c.c_out = 1;
  c.d_model = 32, c.n_heads = 4, c.e_layers = 1, c.d_layers = 1, c.d_ff = 128;
  return c;
}

}  // namespace

int main() {
  informer::cuda::RegisterBackend();
  if (test::no_device("test_cuda_model")) return 77;

  CompareDevices("seed", Seed(), 3);
  {
    ModelConfig c = Seed();
    c.e_layers = 2;  // a distilling ConvLayer (BatchNorm running stats) and two ProbSparse layers
    c.seq_len = 24;
    c.enc_in = c.dec_in = c.c_out = 3;
    c.embed = informer::EmbedKind::kLearned;
    c.activation = informer::FfnActivation::kRelu;
    CompareDevices("distil + learned tables + relu", c, 2);
  }
  {
    ModelConfig c = Seed();
    c.attn = informer::AttnKind::kFull;
    c.embed = informer::EmbedKind::kFixed;
    c.mix = false;
    CompareDevices("full attention + fixed tables", c, 2);
  }
  {
    ModelConfig c = Seed();
    c.stack = true;
    c.s_layers = {2, 1};
    c.seq_len = 16;
    CompareDevices("encoder stack", c, 2);
  }
  {
    ModelConfig c = Seed();  // RevIN with the MS channel mapping (two inputs, the forecast of the last)
    c.enc_in = c.dec_in = 2;
    c.normalize = informer::NormalizeKind::kRevin;
    CompareDevices("revin, MS", c, 3);
  }
  {
    ModelConfig c = Seed();
    c.enc_in = c.dec_in = c.c_out = 2;
    c.normalize = informer::NormalizeKind::kLast;
    CompareDevices("last value", c, 2);
  }
#ifndef INFORMER_CUDA_EMULATION
  {
    ModelConfig c;  // the paper configuration at batch 4
    CompareDevices("paper", c, 4);
  }
#endif
  DropoutIsReproducible(Seed(), 2);
  return test::finish("test_cuda_model");
}
