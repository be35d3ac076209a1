// Status and Result<T>: how library code reports errors. Libraries never exit or
// abort; the CLI and HTTP edge turn a Status into an exit code or a JSON error,
// from its code (never from its message text).
//
//   Result<Graph> r = ImportTflite(path);
//   if (!r.ok()) return r.status();          // message names what and where
//   Graph g = std::move(r).value();
//   return Status::NotFound("no run {}", id);   // a code the edges map (HTTP 404)
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace tml {

enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,     // bad input: a malformed file, a wrong parameter (the default)
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // creating what exists
  kFailedPrecondition,  // the state does not allow it (a job that has ended)
  kCancelled,           // stopped on request
  kUnavailable,         // a service (database, emulator) cannot be reached now; retry
  kInternal,            // a bug or an environment failure (I/O, database errors)
};

// "invalid argument", "not found", ...
const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Make(StatusCode code, std::string message) {
    return Status(code == StatusCode::kOk ? StatusCode::kInternal : code, std::move(message));
  }
  // Invalid argument: most library errors are about the input.
  static Status Error(std::string message) {
    return Make(StatusCode::kInvalidArgument, std::move(message));
  }
  template <typename... Args>
  static Status Errorf(fmt::format_string<Args...> f, Args&&... args) {
    return Error(fmt::format(f, std::forward<Args>(args)...));
  }
#define TML_STATUS_MAKER(Name, Code)                                            \
  template <typename... Args>                                                   \
  static Status Name(fmt::format_string<Args...> f, Args&&... args) {           \
    return Make(StatusCode::Code, fmt::format(f, std::forward<Args>(args)...)); \
  }
  TML_STATUS_MAKER(NotFound, kNotFound)
  TML_STATUS_MAKER(AlreadyExists, kAlreadyExists)
  TML_STATUS_MAKER(FailedPrecondition, kFailedPrecondition)
  TML_STATUS_MAKER(Cancelled, kCancelled)
  TML_STATUS_MAKER(Unavailable, kUnavailable)
  TML_STATUS_MAKER(Internal, kInternal)
#undef TML_STATUS_MAKER

  bool ok() const {
    return code_ == StatusCode::kOk;
  }
  StatusCode code() const {
    return code_;
  }
  const std::string& message() const {
    return message_;
  }
  // Adds context in front, keeping the code: "while importing x.tflite: <message>".
  Status Wrap(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Status(StatusCode c, std::string m) : code_(c), message_(std::move(m)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the error that prevented it; never an OK status without a value (one is
// turned into an internal error).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status)                          // NOLINT
      : status_(status.ok() ? Status::Internal("an OK status was returned without a value")
                            : std::move(status)) {}
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

inline const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid argument";
    case StatusCode::kNotFound:
      return "not found";
    case StatusCode::kAlreadyExists:
      return "already exists";
    case StatusCode::kFailedPrecondition:
      return "failed precondition";
    case StatusCode::kCancelled:
      return "cancelled";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace tml

#define TML_CONCAT_INNER(a, b) a##b
#define TML_CONCAT(a, b) TML_CONCAT_INNER(a, b)

#define TML_RETURN_IF_ERROR(expr) \
  do {                            \
    ::tml::Status _st = (expr);   \
    if (!_st.ok()) return _st;    \
  } while (0)

#define TML_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#define TML_ASSIGN_OR_RETURN(lhs, expr) \
  TML_ASSIGN_OR_RETURN_IMPL(TML_CONCAT(_res_, __LINE__), lhs, expr)
