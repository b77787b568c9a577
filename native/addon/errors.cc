#include "addon/errors.h"

#include <cstdlib>
#include <map>
#include <memory>

namespace informer_addon {

namespace {

struct ErrorClasses {
  std::map<int, Napi::FunctionReference> by_code;
};

ErrorClasses* Classes(Napi::Env env) {
  ErrorClasses* c = env.GetInstanceData<ErrorClasses>();
  if (!c) {
    c = new ErrorClasses();
    env.SetInstanceData(c);  // deleted by node-addon-api when the environment is torn down
  }
  return c;
}

}  // namespace

Napi::Value SetErrorClasses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "setErrorClasses expects an object {code: ErrorClass}").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object map = info[0].As<Napi::Object>();
  Napi::Array keys = map.GetPropertyNames();
  ErrorClasses* classes = Classes(env);
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    Napi::Value key = keys.Get(i);
    Napi::Value cls = map.Get(key);
    if (!cls.IsFunction()) continue;
    // Keys are status codes; anything else is a programming error reported, not parsed blindly.
    const std::string text = key.ToString().Utf8Value();
    char* end = nullptr;
    const long code = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || code < 1 || code > 255) {
      Napi::TypeError::New(env, "setErrorClasses: key '" + text + "' is not a status code (1..255)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    classes->by_code[static_cast<int>(code)] = Napi::Persistent(cls.As<Napi::Function>());
  }
  return env.Undefined();
}

Napi::Object MakeError(Napi::Env env, const informer::Status& st) {
  ErrorClasses* classes = Classes(env);
  auto it = classes->by_code.find(static_cast<int>(st.code()));
  if (it != classes->by_code.end()) return it->second.New({Napi::String::New(env, st.message())});
  Napi::Error e = Napi::Error::New(env, st.message());
  e.Set("status", Napi::Number::New(env, static_cast<int>(st.code())));
  return e.Value();
}

Napi::Value ThrowStatus(Napi::Env env, const informer::Status& st) {
  Napi::Object err = MakeError(env, st);
  if (!env.IsExceptionPending()) napi_throw(env, err);
  return env.Undefined();
}

Napi::Value ThrowShape(Napi::Env env, const std::string& message) {
  return ThrowStatus(env, informer::ShapeMismatch(message));
}
Napi::Value ThrowConfig(Napi::Env env, const std::string& message) {
  return ThrowStatus(env, informer::InvalidConfig(message));
}
Napi::Value ThrowValue(Napi::Env env, const std::string& message) {
  return ThrowStatus(env, informer::InvalidValue(message));
}

}  // namespace informer_addon
