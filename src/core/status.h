// Status and Result<T>: how library code reports errors. Libraries never exit or
// abort; the CLI and HTTP edge turn a Status into an exit code or a JSON error.
//
//   Result<Graph> r = ImportTflite(path);
//   if (!r.ok()) return r.status();          // message names what and where
//   Graph g = std::move(r).value();
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>

namespace tml {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }
  template <typename... Args>
  static Status Errorf(fmt::format_string<Args...> f, Args&&... args) {
    return Status(fmt::format(f, std::forward<Args>(args)...));
  }

  bool ok() const { return !message_.has_value(); }
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }
  // Adds context in front: "while importing x.tflite: <message>".
  Status Wrap(const std::string& context) const {
    return ok() ? *this : Status(context + ": " + *message_);
  }

 private:
  explicit Status(std::string m) : message_(std::move(m)) {}
  std::optional<std::string> message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

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
