// Mirror's error vocabulary: a small set of codes shared by every room, each
// mapped to one HTTP status and rendered as {"code","message","details"}.
// Errors are values; they never cross a module boundary as exceptions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mirror::core {

enum class ErrorCode {
  kInvalidInput,
  kNotFound,
  kAlreadyExists,
  kCapacityFull,
  kServiceUnavailable,
  kInternal,
  kUnauthorized,  // no or wrong credentials (401)
  kForbidden,     // refused whatever the credentials (403)
  kRateLimited,   // too many attempts; retry later (429)
};

// "INVALID_INPUT", "NOT_FOUND", ... as in the public API.
std::string_view error_code_name(ErrorCode code);
// 400, 404, 409, 503 (capacity full: retry later), 503, 500, 401, 403, 429.
int http_status(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  nlohmann::json details = nlohmann::json::object();

  Error() = default;
  Error(ErrorCode c, std::string m, nlohmann::json d = nlohmann::json::object())
      : code(c), message(std::move(m)), details(std::move(d)) {}

  // {"code":"NOT_FOUND","message":"...","details":{...}}
  nlohmann::json to_json() const;
  std::string to_json_string() const { return to_json().dump(); }
};

// A value or an Error. Small on purpose: just what std::expected would give.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For operations that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace mirror::core
