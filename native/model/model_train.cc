// Training entry points: loss and gradients in one call, and a full optimisation step, on the
// model's device.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include "model/model.h"

namespace informer {

Status Model::ComputeLossAndGrad(const ForwardInput& in, const float* target, const ForwardOptions& opts, double* loss,
                                 float* out) {
  const ModelConfig& c = config_;
  INFORMER_RETURN_IF_ERROR(CheckInputs(in, opts));
  const int64_t n = in.batch * c.pred_len * c.c_out;
  if (!target) return ShapeMismatch("lossAndGrad needs a target");
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(target[i]))
      return InvalidValue("target has a non-finite value (" + std::to_string(target[i]) + ") at flat index " +
                          std::to_string(i));
  const int64_t parts = SplitParts(in, opts);
  if (parts > 1) return SplitLossAndGrad(in, target, opts, parts, loss, out);
  return PassLossAndGrad(in, target, opts, 1.f, loss, out);
}

Status Model::PassLossAndGrad(const ForwardInput& in, const float* target, const ForwardOptions& opts, float d_scale,
                              double* loss, float* out) {
  const ModelConfig& c = config_;
  const int64_t B = in.batch, n = B * c.pred_len * c.c_out;
  try {
    arena_.Reset();
    ForwardOptions recorded = opts;
    recorded.record = true;
    INFORMER_RETURN_IF_ERROR(RunPass(recorded, in));
    // Forecast rows are the last pred_len decoder positions; only they reach the loss.
    float* pred = arena_.Alloc(n);
    ForecastRows(B, pred);
    if (out) ops_->Download(out, pred, n * sizeof(float));
    float* d_pred = arena_.Alloc(n);
    *loss = ops_->MseForwardBackward(n, pred, ops_->ToDevice(target, n), d_pred);
    if (d_scale != 1.f)  // only the parts of a split batch, which run on the CPU: host memory
      for (int64_t i = 0; i < n; ++i) d_pred[i] *= d_scale;
    // The projection's rows are the forecast's unless a sink asked for every decoder row.
    const int64_t Lo = tape_.L_dec_out;
    float* d_proj = d_pred;
    if (Lo > c.pred_len) {
      d_proj = Zeros(B * Lo * c.c_out);
      ops_->CopyRows(d_proj + (Lo - c.pred_len) * c.c_out, Lo * c.c_out, d_pred, c.pred_len * c.c_out,
                     c.pred_len * c.c_out, B);
    }
    INFORMER_RETURN_IF_ERROR(EnsureDeviceGrads());
    Backward(d_proj);
    INFORMER_RETURN_IF_ERROR(ops_->Check("the backward pass"));
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "out of memory in the training step (batch " + std::to_string(B) + ")");
  }
  return Status::Ok();
}

Status Model::LossAndGrad(const ForwardInput& in, const float* target, const ForwardOptions& opts, double* loss,
                          float* out) {
  INFORMER_RETURN_IF_ERROR(ComputeLossAndGrad(in, target, opts, loss, out));
  if (device_ != Device::kCpu) {  // callers read grads() on the host
    try {
      grads_.resize(device_grads_.count());
    } catch (const std::bad_alloc&) {
      return Status(StatusCode::kOutOfMemory, "out of memory copying the gradients");
    }
    ops_->Download(grads_.data(), device_grads_.as<float>(), grads_.size() * sizeof(float));
    INFORMER_RETURN_IF_ERROR(ops_->Check("copying the gradients"));
  }
  return Status::Ok();
}

Status Model::TrainStep(const ForwardInput& in, const float* target, const ForwardOptions& opts, const AdamConfig& adam,
                        double* loss) {
  if (!(adam.lr >= 0.f) || !(adam.beta1 >= 0.f && adam.beta1 < 1.f) || !(adam.beta2 >= 0.f && adam.beta2 < 1.f) ||
      !(adam.eps > 0.f) || !(adam.weight_decay >= 0.f))
    return InvalidConfig("Adam needs lr >= 0, betas in [0, 1), eps > 0 and weight_decay >= 0");
  INFORMER_RETURN_IF_ERROR(ComputeLossAndGrad(in, target, opts, loss, nullptr));
  if (!std::isfinite(*loss))
    return InvalidValue("the loss is not finite (" + std::to_string(*loss) + "); step skipped");
  const size_t n = params_.param_float_count();
  float *m, *v;
  try {
    if (device_ == Device::kCpu) {
      if (adam_m_.size() != n) {
        adam_m_.assign(n, 0.f);
        adam_v_.assign(n, 0.f);
        adam_step_ = 0;
      }
      m = adam_m_.data(), v = adam_v_.data();
    } else {
      if (device_adam_m_.count() != n) {
        device_adam_m_.Allocate(ops_.get(), n * sizeof(float));
        device_adam_v_.Allocate(ops_.get(), n * sizeof(float));
        ops_->Zero(device_adam_m_.as<float>(), n);
        ops_->Zero(device_adam_v_.as<float>(), n);
        adam_step_ = 0;
      }
      m = device_adam_m_.as<float>(), v = device_adam_v_.as<float>();
    }
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "out of memory allocating the Adam moments");
  }
  ++adam_step_;
  // Runs of adjacent trainable tensors are updated in one call (frozen tables are skipped).
  const std::vector<ParamInfo>& entries = params_.entries();
  for (size_t i = 0; i < entries.size();) {
    if (entries[i].kind != ParamKind::kTrainable) {
      ++i;
      continue;
    }
    const size_t begin = entries[i].offset;
    size_t end = begin + entries[i].numel;
    for (++i; i < entries.size() && entries[i].kind == ParamKind::kTrainable && entries[i].offset == end; ++i)
      end += entries[i].numel;
    ops_->AdamUpdate(static_cast<int64_t>(end - begin), adam, adam_step_, grad_base_ + begin, param_base_ + begin,
                     m + begin, v + begin);
  }
  WeightsChanged();
  if (device_ != Device::kCpu) host_stale_ = true;
  return ops_->Check("the Adam update");
}

Status Model::SetAdamState(int64_t step, const float* m, const float* v, size_t n) {
  if (n != params_.param_float_count())
    return ShapeMismatch("optimizer state has " + std::to_string(n) + " values, the model has " +
                         std::to_string(params_.param_float_count()));
  if (step < 0) return InvalidValue("optimizer step must be >= 0");
  INFORMER_RETURN_IF_ERROR(SyncHost());  // the parameters stay as trained
  adam_m_.assign(m, m + n);
  adam_v_.assign(v, v + n);
  adam_step_ = step;
  if (device_ != Device::kCpu) {
    try {
      device_adam_m_.Allocate(ops_.get(), n * sizeof(float));
      device_adam_v_.Allocate(ops_.get(), n * sizeof(float));
    } catch (const std::bad_alloc&) {
      return Status(StatusCode::kOutOfMemory, "out of GPU memory for the optimizer state");
    }
    ops_->Upload(device_adam_m_.as<float>(), m, n * sizeof(float));
    ops_->Upload(device_adam_v_.as<float>(), v, n * sizeof(float));
    return ops_->Check("copying the optimizer state");
  }
  return Status::Ok();
}

void Model::ResetOptimizer() {
  adam_m_.clear();
  adam_v_.clear();
  device_adam_m_.Reset();
  device_adam_v_.Reset();
  adam_step_ = 0;
}

}  // namespace informer
