// Moving a model between devices and keeping its host and device copies in step.
#include <cstring>
#include <new>

#include "model/model.h"

namespace informer {

namespace {
void* ArenaAlloc(void* ctx, size_t bytes) { return static_cast<Ops*>(ctx)->Malloc(bytes); }
void ArenaFree(void* ctx, void* p) { static_cast<Ops*>(ctx)->Free(p); }
}  // namespace

void Model::UseOps(std::unique_ptr<Ops> ops) {
  // The arena's blocks belong to the old device: free them before its Ops goes away.
  Arena::Allocator a;
  if (ops->device() != Device::kCpu) a = {ArenaAlloc, ArenaFree, ops.get()};
  arena_.SetAllocator(a);
  tape_ = Tape();
  ops_ = std::move(ops);
}

Status Model::SetDevice(Device d) {
  if (d == device_) return Status::Ok();
  // Everything that lives on the current device comes home first.
  INFORMER_RETURN_IF_ERROR(SyncHost());
  replicas_.clear();  // bound to the old device's parameters
  if (d == Device::kCpu) {
    device_params_.Reset();
    device_grads_.Reset();
    device_adam_m_.Reset();
    device_adam_v_.Reset();
    UseOps(MakeCpuOps(&arena_));
    device_ = Device::kCpu;
    param_base_ = params_.floats().data();
    grad_base_ = grads_.empty() ? nullptr : grads_.data();
    Bind();
    return Status::Ok();
  }
  const BackendProvider* backend = FindBackend(d);
  if (!backend)
    return InvalidConfig(std::string("this build of informer-node has no ") + DeviceName(d) +
                         " backend (it was built without the CUDA toolkit; rebuild with INFORMER_CUDA=ON)");
  if (backend->device_count() < 1) return InvalidConfig(std::string("no CUDA device: ") + backend->describe());
  UseOps(backend->make(&arena_));
  Status st;
  try {
    device_params_.Allocate(ops_.get(), params_.float_count() * sizeof(float));
    ops_->Upload(device_params_.as<float>(), params_.floats().data(), params_.float_count() * sizeof(float));
    if (!adam_m_.empty()) {
      device_adam_m_.Allocate(ops_.get(), adam_m_.size() * sizeof(float));
      device_adam_v_.Allocate(ops_.get(), adam_v_.size() * sizeof(float));
      ops_->Upload(device_adam_m_.as<float>(), adam_m_.data(), adam_m_.size() * sizeof(float));
      ops_->Upload(device_adam_v_.as<float>(), adam_v_.data(), adam_v_.size() * sizeof(float));
    }
    st = ops_->Check("moving the model to the GPU");
  } catch (const std::bad_alloc&) {
    st = Status(StatusCode::kOutOfMemory, "out of GPU memory moving the model to the GPU");
  }
  if (!st.ok()) {  // stay on the CPU, where the host copy is still the live one
    device_params_.Reset();
    device_adam_m_.Reset();
    device_adam_v_.Reset();
    UseOps(MakeCpuOps(&arena_));
    return st;
  }
  device_ = d;
  host_stale_ = false;
  param_base_ = device_params_.as<float>();
  grad_base_ = nullptr;
  Bind();
  return Status::Ok();
}

Status Model::SyncHost() {
  if (device_ == Device::kCpu || !host_stale_) return Status::Ok();
  ops_->Download(params_.floats().data(), device_params_.as<float>(), params_.float_count() * sizeof(float));
  if (device_adam_m_.as<float>() && device_adam_m_.count()) {
    adam_m_.resize(device_adam_m_.count());
    adam_v_.resize(device_adam_v_.count());
    ops_->Download(adam_m_.data(), device_adam_m_.as<float>(), adam_m_.size() * sizeof(float));
    ops_->Download(adam_v_.data(), device_adam_v_.as<float>(), adam_v_.size() * sizeof(float));
  }
  INFORMER_RETURN_IF_ERROR(ops_->Check("copying the model back from the GPU"));
  host_stale_ = false;
  return Status::Ok();
}

Status Model::PushParams() {
  WeightsChanged();
  if (device_ == Device::kCpu) return Status::Ok();
  ops_->Upload(device_params_.as<float>(), params_.floats().data(), params_.float_count() * sizeof(float));
  return ops_->Check("copying the parameters to the GPU");
}

Status Model::EnsureDeviceGrads() {
  const size_t n = params_.param_float_count();
  if (device_ == Device::kCpu) {
    grads_.assign(n, 0.f);  // allocated on first use: inference-only models never pay for it
    grad_base_ = grads_.data();
    return Status::Ok();
  }
  if (device_grads_.count() != n) device_grads_.Allocate(ops_.get(), n * sizeof(float));
  ops_->Zero(device_grads_.as<float>(), n);
  grad_base_ = device_grads_.as<float>();
  return Status::Ok();
}

}  // namespace informer
