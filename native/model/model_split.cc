// A training step on the CPU with its batch split into parts, one per pool thread.
//
// A small model's step is hundreds of kernels of 1-10 us each, too short to split across threads
// (hand-offs and cache-line moves cost more than they save: thread_pool.cc, bench/RESULTS.md), and
// even a large model's step leaves the second core idle in its serial stretches (attention,
// normalisation, dropout). The batch splits cleanly instead. Every layer but training-mode BatchNorm
// treats samples independently, ProbSparse's key samples are shared by the whole batch, and weight
// gradients are sums over samples. So each part runs a whole forward and backward pass on its own
// thread (the first on this model, the others on replicas bound to its parameters and its packed
// weights, with their own arena, tape, generator and gradients) and the parts' gradients are added.
//
// The result is the unsplit step's up to float rounding (each weight gradient is summed in parts):
// every part starts from the same generator state, so all draw the same ProbSparse samples and
// dropout keys, and each takes its own window of the whole batch's dropout masks
// (ForwardOptions::batch_offset). The generator ends where the unsplit step leaves it.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cpu/gemm.h"
#include "cpu/thread_pool.h"
#include "model/model.h"

namespace informer {

namespace {

// INFORMER_SPLIT_BATCH: 0 never, 1 whenever the batch can split, else automatic.
BatchSplit EnvSplitMode() {
  const char* s = std::getenv("INFORMER_SPLIT_BATCH");
  if (s && std::strcmp(s, "0") == 0) return BatchSplit::kNever;
  if (s && std::strcmp(s, "1") == 0) return BatchSplit::kAlways;
  return BatchSplit::kAuto;
}

// Samples [first, first + count) of a batch.
ForwardInput PartOf(const ForwardInput& in, const ModelConfig& c, int64_t first, int64_t count) {
  const int64_t Le = c.seq_len, Ld = c.dec_len();
  ForwardInput h;
  h.batch = count;
  h.x_enc = in.x_enc + first * Le * c.enc_in;
  h.x_mark_enc = in.x_mark_enc + first * Le * c.n_mark;
  h.x_dec = in.x_dec + first * Ld * c.dec_in;
  h.x_mark_dec = in.x_mark_dec + first * Ld * c.n_mark;
  return h;
}

}  // namespace

BatchSplit Model::EffectiveSplitMode() const {
  static const BatchSplit env_mode = EnvSplitMode();
  return batch_split_ == BatchSplit::kAuto ? env_mode : batch_split_;
}

int64_t Model::SplitParts(const ForwardInput& in, const ForwardOptions& opts) const {
  const ModelConfig& c = config_;
  const BatchSplit mode = EffectiveSplitMode();
  if (device_ != Device::kCpu || in.batch < 2 || opts.sink || mode == BatchSplit::kNever) return 1;
  // Training-mode BatchNorm (the distilling layers) normalises over the whole batch.
  if (opts.train)
    for (const EncoderW& e : encoders_)
      if (!e.distil.empty()) return 1;
  const int64_t threads = ThreadPool::global().size();
  if (mode == BatchSplit::kAlways) return std::min<int64_t>(in.batch, std::max<int64_t>(threads, 2));
  if (threads < 2) return 1;
  // Two threads: splitting won at every size measured, up to the paper's (bench/RESULTS.md). More
  // threads: only models too small to use them otherwise (a part's products get no nested split).
  const double rows = static_cast<double>(in.batch) * std::max(c.seq_len, c.dec_len());
  // A model whose largest product runs on one thread anyway leaves the others idle unsplit.
  if (threads > 2 && rows * c.d_model * c.d_ff >= kGemmParallelWork) return 1;
  return std::min<int64_t>(in.batch, threads);
}

Status Model::RunParts(const ForwardInput& in, const ForwardOptions& opts, int64_t parts, const PartFn& part,
                       bool* ran) {
  try {
    while (static_cast<int64_t>(replicas_.size()) < parts - 1) {
      std::unique_ptr<Model> m(new Model(config_));
      m->params_.floats() = std::vector<float>();     // it computes with this model's parameters
      m->UseOps(MakeCpuOps(&m->arena_, ops_.get()));  // this model's packed weights, kept current here
      m->param_base_ = param_base_;
      m->Bind();
      replicas_.push_back(std::move(m));
    }
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "out of memory allocating the parts of a split batch");
  }
  std::vector<Model*> models{this};
  for (int64_t i = 0; i + 1 < parts; ++i) {
    Model& r = *replicas_[i];
    r.rng_ = rng_;  // every part draws what the whole batch draws
    models.push_back(&r);
  }
  const int64_t B = in.batch;
  std::vector<Status> status(parts);
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t h = begin; h < end; ++h) {
      const int64_t first = h * B / parts, count = (h + 1) * B / parts - first;
      ForwardOptions o = opts;
      o.batch_offset = first;
      status[h] = part(*models[h], h, first, count, o);
    }
  };
  // Parts run one after another only when asked to (kAlways): otherwise, with the pool taken by
  // another model's call, the caller does better with the unsplit pass.
  *ran = ThreadPool::global().try_parallel_for(parts, 1, run);
  if (!*ran && EffectiveSplitMode() == BatchSplit::kAlways) {
    run(0, parts);
    *ran = true;
  }
  for (const Status& st : status) INFORMER_RETURN_IF_ERROR(st);
  return Status::Ok();
}

Status Model::SplitForward(const ForwardInput& in, const ForwardOptions& opts, int64_t parts, float* out) {
  const ModelConfig& c = config_;
  const int64_t per_sample = c.pred_len * c.c_out;
  bool ran = false;
  INFORMER_RETURN_IF_ERROR(RunParts(
      in, opts, parts,
      [&](Model& m, int64_t, int64_t first, int64_t count, const ForwardOptions& o) {
        return m.PassForward(PartOf(in, c, first, count), o, out + first * per_sample);
      },
      &ran));
  return ran ? Status::Ok() : PassForward(in, opts, out);
}

Status Model::SplitLossAndGrad(const ForwardInput& in, const float* target, const ForwardOptions& opts, int64_t parts,
                               double* loss, float* out) {
  const ModelConfig& c = config_;
  const int64_t B = in.batch, per_sample = c.pred_len * c.c_out;
  std::vector<double> losses(parts, 0.0);  // each part's mean, weighted by its share
  bool ran = false;
  INFORMER_RETURN_IF_ERROR(RunParts(
      in, opts, parts,
      [&](Model& m, int64_t h, int64_t first, int64_t count, const ForwardOptions& o) {
        const double share = static_cast<double>(count) / static_cast<double>(B);
        double part_loss = 0;
        const Status st =
            m.PassLossAndGrad(PartOf(in, c, first, count), target + first * per_sample, o, static_cast<float>(share),
                              &part_loss, out ? out + first * per_sample : nullptr);
        losses[h] = part_loss * share;
        return st;
      },
      &ran));
  if (!ran) return PassLossAndGrad(in, target, opts, 1.f, loss, out);
  *loss = 0;
  for (double l : losses) *loss += l;
  // The replicas' gradients into this model's, split over the pool (a large model's are tens of MB).
  float* g = grads_.data();
  ThreadPool::global().parallel_for(static_cast<int64_t>(grads_.size()), 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t h = 0; h + 1 < parts; ++h) {
      const float* r = replicas_[h]->grads_.data();
      for (int64_t i = b; i < e; ++i) g[i] += r[i];
    }
  });
  return Status::Ok();
}

}  // namespace informer
