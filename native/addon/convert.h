// Argument checking and conversion at the N-API boundary: every size and type from JavaScript is
// checked here before the core sees it. Each helper throws a typed error and returns false.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/config.h"

namespace informer_addon {

bool GetInt(Napi::Env env, Napi::Object obj, const char* key, int64_t lo, int64_t hi, int64_t* out);
bool GetBool(Napi::Env env, Napi::Object obj, const char* key, bool* out);
bool GetNumber(Napi::Env env, Napi::Object obj, const char* key, double* out);

// Parses lib/config.ts NativeConfig.
bool ParseConfig(Napi::Env env, Napi::Value value, informer::ModelConfig* out);

// A Float32Array argument of exactly `expected` elements; `name` is used in the error message.
bool GetFloat32(Napi::Env env, Napi::Value value, const char* name, size_t expected, float** data);
bool GetFloat32(Napi::Env env, Napi::Value value, const char* name, size_t expected, const float** data);

}  // namespace informer_addon
