// Training entry points: loss and gradients in one call, and a full optimisation step.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include "core/model.h"
#include "kernels/cpu/optim.h"

namespace informer {

Status Model::LossAndGrad(const ForwardInput& in, const float* target, const ForwardOptions& opts, double* loss,
                          float* out) {
  const ModelConfig& c = config_;
  INFORMER_RETURN_IF_ERROR(CheckInputs(in, opts));
  const int64_t B = in.batch, Ld = c.dec_len(), n = B * c.pred_len * c.c_out;
  if (!target) return ShapeMismatch("lossAndGrad needs a target");
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(target[i]))
      return InvalidValue("target has a non-finite value (" + std::to_string(target[i]) + ") at flat index " +
                          std::to_string(i));
  try {
    arena_.Reset();
    ForwardOptions recorded = opts;
    recorded.record = true;
    INFORMER_RETURN_IF_ERROR(RunPass(recorded, in));
    // Forecast rows are the last pred_len decoder positions; only they reach the loss.
    float* pred = arena_.Alloc(n);
    CopyForecast(B, pred);
    if (out) std::memcpy(out, pred, n * sizeof(float));
    float* d_pred = arena_.Alloc(n);
    *loss = MseForwardBackward(n, pred, target, d_pred);
    float* d_proj = Zeros(B * Ld * c.c_out);
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(d_proj + (b * Ld + c.label_len) * c.c_out, d_pred + b * c.pred_len * c.c_out,
                  c.pred_len * c.c_out * sizeof(float));
    // Allocated on first use: inference-only models never pay for a gradient buffer.
    grads_.assign(params_.param_float_count(), 0.f);
    Backward(d_proj);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "out of memory in the training step (batch " + std::to_string(B) + ")");
  }
  return Status::Ok();
}

Status Model::TrainStep(const ForwardInput& in, const float* target, const ForwardOptions& opts,
                        const AdamConfig& adam, double* loss) {
  if (!(adam.lr >= 0.f) || !(adam.beta1 >= 0.f && adam.beta1 < 1.f) || !(adam.beta2 >= 0.f && adam.beta2 < 1.f) ||
      !(adam.eps > 0.f) || !(adam.weight_decay >= 0.f))
    return InvalidConfig("Adam needs lr >= 0, betas in [0, 1), eps > 0 and weight_decay >= 0");
  INFORMER_RETURN_IF_ERROR(LossAndGrad(in, target, opts, loss, nullptr));
  if (!std::isfinite(*loss)) return InvalidValue("the loss is not finite (" + std::to_string(*loss) + "); step skipped");
  try {
    if (adam_m_.size() != grads_.size()) {
      adam_m_.assign(grads_.size(), 0.f);
      adam_v_.assign(grads_.size(), 0.f);
      adam_step_ = 0;
    }
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "out of memory allocating the Adam moments");
  }
  ++adam_step_;
  float* p = params_.floats().data();
  for (const ParamInfo& e : params_.entries())
    if (e.kind == ParamKind::kTrainable)
      AdamUpdate(static_cast<int64_t>(e.numel), adam, adam_step_, grads_.data() + e.offset, p + e.offset,
                 adam_m_.data() + e.offset, adam_v_.data() + e.offset);
  return Status::Ok();
}

Status Model::SetAdamState(int64_t step, const float* m, const float* v, size_t n) {
  if (n != params_.param_float_count())
    return ShapeMismatch("optimizer state has " + std::to_string(n) + " values, the model has " +
                         std::to_string(params_.param_float_count()));
  if (step < 0) return InvalidValue("optimizer step must be >= 0");
  adam_m_.assign(m, m + n);
  adam_v_.assign(v, v + n);
  adam_step_ = step;
  return Status::Ok();
}

void Model::ResetOptimizer() {
  adam_m_.clear();
  adam_v_.clear();
  adam_step_ = 0;
}

}  // namespace informer
