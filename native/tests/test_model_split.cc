// A training step split into parts (model_split.cc) against the same step unsplit: the
// same losses, forecasts, gradients and, after several Adam steps, parameters, up to float rounding.
// Dropout is on, so a part that took the wrong window of the batch's masks, or drew from a different
// generator state, fails; batches are odd and rows are not multiples of the mask generator's 16, so
// the window's partial first step is exercised.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cpu/thread_pool.h"
#include "model/model.h"
#include "model_test_util.h"
#include "test_util.h"

namespace {

using informer::AdamConfig;
using informer::BatchSplit;
using informer::ForwardOptions;
using informer::Model;
using informer::ModelConfig;

std::unique_ptr<Model> Make(const ModelConfig& c, BatchSplit split) {
  std::unique_ptr<Model> m = test::CreateModel(c);
  m->set_batch_split(split);
  return m;
}

// Runs the same three training steps (and a LossAndGrad before each) on an unsplit and a split model.
void CompareSplit(const char* name, const ModelConfig& c, int64_t B, BatchSplit split) {
  std::unique_ptr<Model> whole = Make(c, BatchSplit::kNever), halves = Make(c, split);
  ForwardOptions train;
  train.train = true;
  const AdamConfig adam{1e-3f, 0.9f, 0.999f, 1e-8f, 0.f};
  const int64_t n_out = B * c.pred_len * c.c_out;
  for (int step = 0; step < 3; ++step) {
    const test::ModelBatch b = test::RandomModelBatch(c, B, 100u * static_cast<unsigned>(step + 1));
    std::vector<float> out_whole(n_out), out_halves(n_out);
    double loss_whole = 0, loss_halves = 0;
    CHECK(whole->LossAndGrad(b.in, b.target.data(), train, &loss_whole, out_whole.data()).ok());
    CHECK(halves->LossAndGrad(b.in, b.target.data(), train, &loss_halves, out_halves.data()).ok());
    const std::string what = std::string(name) + " step " + std::to_string(step);
    CHECK_MSG(std::fabs(loss_whole - loss_halves) <= 1e-6 * std::fabs(loss_whole), (what + ": loss").c_str());
    CHECK_ALLCLOSE_MSG(out_halves.data(), out_whole.data(), n_out, 1e-6, 1e-5, (what + ": forecast").c_str());
    const std::vector<float>&gw = whole->grads(), &gh = halves->grads();
    CHECK_EQ(gw.size(), gh.size());
    CHECK_ALLCLOSE_MSG(gh.data(), gw.data(), static_cast<int64_t>(gw.size()), 1e-6, 1e-4,
                       (what + ": gradients").c_str());
    double l1 = 0, l2 = 0;
    CHECK(whole->TrainStep(b.in, b.target.data(), train, adam, &l1).ok());
    CHECK(halves->TrainStep(b.in, b.target.data(), train, adam, &l2).ok());
    CHECK_MSG(std::fabs(l1 - l2) <= 1e-6 * std::fabs(l1), (what + ": train-step loss").c_str());
  }
  // Adam turns the rounding noise of analytically-zero gradients (a key projection's bias: softmax
  // ignores a shift shared by all keys) into lr-sized steps, so those tensors are left out.
  const std::vector<float>&pw = whole->params().floats(), &ph = halves->params().floats();
  for (const informer::ParamInfo& e : whole->params().entries()) {
    if (e.kind != informer::ParamKind::kTrainable || e.name.find("key_projection.bias") != std::string::npos) continue;
    CHECK_ALLCLOSE_MSG(ph.data() + e.offset, pw.data() + e.offset, static_cast<int64_t>(e.numel), 1e-5, 1e-4,
                       (std::string(name) + ": " + e.name + " after three Adam steps").c_str());
  }
}

// Forward passes split into parts against unsplit ones: eval mode with fixed and with random
// ProbSparse samples (the parts draw what the whole batch draws), and train mode (dropout windows),
// twice each so the generator must also end where the unsplit pass leaves it.
void CompareForward(const char* name, const ModelConfig& c, int64_t B) {
  std::unique_ptr<Model> whole = Make(c, BatchSplit::kNever), parts = Make(c, BatchSplit::kAlways);
  const int64_t n_out = B * c.pred_len * c.c_out;
  ForwardOptions fixed, random, train;
  random.sampling = informer::Sampling::kRandom;
  train.train = true;
  const ForwardOptions* modes[] = {&fixed, &random, &train};
  const char* mode_names[] = {"fixed samples", "random samples", "train mode"};
  for (int m = 0; m < 3; ++m)
    for (int call = 0; call < 2; ++call) {
      const test::ModelBatch b = test::RandomModelBatch(c, B, 50u + static_cast<unsigned>(3 * m + call));
      std::vector<float> out_whole(n_out), out_parts(n_out);
      CHECK(whole->Forward(b.in, *modes[m], out_whole.data()).ok());
      CHECK(parts->Forward(b.in, *modes[m], out_parts.data()).ok());
      const std::string what = std::string(name) + ", " + mode_names[m] + ", call " + std::to_string(call);
      CHECK_ALLCLOSE_MSG(out_parts.data(), out_whole.data(), n_out, 1e-6, 1e-5, what.c_str());
    }
  // The parts' replicas use this model's packed weights rather than packing their own.
  CHECK_MSG(whole->derived_weight_bytes() > 0 && parts->derived_weight_bytes() == whole->derived_weight_bytes(),
            (std::string(name) + ": the parts share one copy of the packed weights").c_str());
}

// With the pool taken by another caller's loop, an automatic split makes the unsplit pass instead of
// running its parts one after another: the same bits as a model that never splits.
void BusyPoolFallsBack(const ModelConfig& c, int64_t B) {
  std::unique_ptr<Model> never = Make(c, BatchSplit::kNever), automatic = Make(c, BatchSplit::kAuto);
  ForwardOptions train;
  train.train = true;
  const test::ModelBatch b = test::RandomModelBatch(c, B, 9);
  std::atomic<bool> inside{false}, release{false};
  std::thread owner([&] {
    informer::ThreadPool::global().parallel_for(2, 1, [&](int64_t first, int64_t) {
      if (first == 0) {
        inside.store(true);
        while (!release.load()) std::this_thread::yield();
      }
    });
  });
  while (!inside.load()) std::this_thread::yield();
  double l1 = 0, l2 = 0;
  CHECK(never->LossAndGrad(b.in, b.target.data(), train, &l1, nullptr).ok());
  CHECK(automatic->LossAndGrad(b.in, b.target.data(), train, &l2, nullptr).ok());
  release.store(true);
  owner.join();
  CHECK_MSG(l1 == l2 && never->grads() == automatic->grads(), "busy pool: the unsplit pass, bit for bit");
}

ModelConfig Small() {
  ModelConfig c;
  c.seq_len = 13, c.label_len = 7, c.pred_len = 5;  // 13 * 24 and 12 * 24 rows: not multiples of 16
  c.enc_in = 2, c.dec_in = 2, c.c_out = 2;
  c.d_model = 24, c.n_heads = 3, c.e_layers = 1, c.d_layers = 1, c.d_ff = 40;
  c.dropout = 0.2f;
  c.seed = 7;
  return c;
}

}  // namespace

int main() {
  // Three pool threads even on a one-core machine: the automatic split runs three parts at once, and
  // kAlways three parts of unequal size for batch 7 (2, 2, 3).
  setenv("INFORMER_NUM_THREADS", "3", 1);

  CompareSplit("probsparse, batch 7", Small(), 7, BatchSplit::kAlways);
  CompareSplit("probsparse, batch 2", Small(), 2, BatchSplit::kAlways);
  ModelConfig full = Small();
  full.attn = informer::AttnKind::kFull;  // dropout on the attention probabilities too
  full.e_layers = 2, full.distil = false;
  CompareSplit("full attention, two encoder layers, batch 9", full, 9, BatchSplit::kAlways);
  ModelConfig revin = Small();
  revin.normalize = informer::NormalizeKind::kRevin;
  CompareSplit("revin, batch 8", revin, 8, BatchSplit::kAlways);
  // The automatic choice splits this small model on the three-thread pool: parts on three threads.
  CompareSplit("automatic, batch 32", Small(), 32, BatchSplit::kAuto);
  // Training-mode BatchNorm normalises over the whole batch, so a distilling model never splits.
  ModelConfig distil = Small();
  distil.e_layers = 2;
  CompareSplit("distilling (never split), batch 6", distil, 6, BatchSplit::kAlways);
  BusyPoolFallsBack(Small(), 16);
  CompareForward("forward, probsparse, batch 7", Small(), 7);
  CompareForward("forward, full attention, batch 5", full, 5);
  CompareForward("forward, distilling (eval mode splits, train mode not), batch 6", distil, 6);
  return test::finish("test_model_split");
}
