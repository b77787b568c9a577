// Registers the CUDA backend with the core (FindBackend(Device::kCuda)); called once at start-up by
// the addon and by the tests that run whole models on the GPU.
#pragma once

namespace informer::cuda {
void RegisterBackend();
}  // namespace informer::cuda
