// Typed JavaScript errors from core Status codes. lib/native.ts registers the error classes
// (ConfigError, ShapeError, ...) at load time, so native code throws the same classes as TypeScript.
#pragma once
#include <napi.h>

#include <string>

#include "base/status.h"

namespace informer_addon {

// Registers {code: Class} for the status codes; called once per environment.
Napi::Value SetErrorClasses(const Napi::CallbackInfo& info);

// Builds the error object for a status (a plain Error if no class was registered).
Napi::Object MakeError(Napi::Env env, const informer::Status& st);

// Throws and returns undefined, for `return ThrowStatus(env, st);`.
Napi::Value ThrowStatus(Napi::Env env, const informer::Status& st);
Napi::Value ThrowShape(Napi::Env env, const std::string& message);
Napi::Value ThrowConfig(Napi::Env env, const std::string& message);
Napi::Value ThrowValue(Napi::Env env, const std::string& message);

}  // namespace informer_addon
