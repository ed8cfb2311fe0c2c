#include "core/errors.h"

namespace mirror::core {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return "INVALID_INPUT";
    case ErrorCode::kNotFound: return "NOT_FOUND";
    case ErrorCode::kAlreadyExists: return "ALREADY_EXISTS";
    case ErrorCode::kCapacityFull: return "CAPACITY_FULL";
    case ErrorCode::kServiceUnavailable: return "SERVICE_UNAVAILABLE";
    case ErrorCode::kInternal: return "INTERNAL_ERROR";
    case ErrorCode::kUnauthorized: return "UNAUTHORIZED";
    case ErrorCode::kForbidden: return "FORBIDDEN";
    case ErrorCode::kRateLimited: return "RATE_LIMITED";
  }
  return "INTERNAL_ERROR";
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 409;
    // A full server is a temporary condition the client may retry later.
    case ErrorCode::kCapacityFull: return 503;
    case ErrorCode::kServiceUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kUnauthorized: return 401;
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kRateLimited: return 429;
  }
  return 500;
}

nlohmann::json Error::to_json() const {
  nlohmann::json j;
  j["code"] = error_code_name(code);
  j["message"] = message;
  j["details"] = details.is_null() ? nlohmann::json::object() : details;
  return j;
}

}  // namespace mirror::core
