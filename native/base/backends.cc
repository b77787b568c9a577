// The registry of compute backends beyond the CPU (see BackendProvider in ops.h).
#include "base/ops.h"

namespace informer {
namespace {
BackendProvider g_providers[2];
}  // namespace

const char* DeviceName(Device d) { return d == Device::kCuda ? "cuda" : "cpu"; }

void RegisterBackend(Device d, const BackendProvider& provider) { g_providers[static_cast<int>(d)] = provider; }

const BackendProvider* FindBackend(Device d) {
  const BackendProvider& p = g_providers[static_cast<int>(d)];
  return p.make ? &p : nullptr;
}

}  // namespace informer
