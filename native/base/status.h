// Status codes returned by the native core. The core never throws across its API and never aborts
// on user input: every failure is a Status that the addon turns into a typed JavaScript error.
#pragma once
#include <string>
#include <utility>

namespace informer {

enum class StatusCode : int {
  kOk = 0,
  kInvalidConfig = 1,  // bad hyper-parameters (d_model % n_heads, unknown embed, ...)
  kShapeMismatch = 2,  // a tensor has the wrong shape or length
  kInvalidValue = 3,   // NaN / Inf, or an index out of range
  kStateDict = 4,      // missing / extra / misshaped parameter
  kOutOfMemory = 5,
  kInternal = 6,
  kDisposed = 7,  // a call on a model after dispose() (raised by the addon)
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidConfig(std::string m) { return Status(StatusCode::kInvalidConfig, std::move(m)); }
inline Status ShapeMismatch(std::string m) { return Status(StatusCode::kShapeMismatch, std::move(m)); }
inline Status InvalidValue(std::string m) { return Status(StatusCode::kInvalidValue, std::move(m)); }
inline Status StateDictError(std::string m) { return Status(StatusCode::kStateDict, std::move(m)); }

#define INFORMER_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::informer::Status _st = (expr);   \
    if (!_st.ok()) return _st;         \
  } while (0)

}  // namespace informer
