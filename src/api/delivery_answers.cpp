#include "api/delivery_answers.h"

namespace mirror::api {

http::Response bytes_response(std::string_view content_type, std::string_view cache,
                              std::vector<core::SharedBytes> pieces) {
  http::Response r;
  r.status = 200;
  r.headers.set("Content-Type", content_type);
  r.headers.set("Cache-Control", cache);
  r.shared_body = std::move(pieces);
  return r;
}

void respond_error(const http::ExchangePtr& ex, core::ErrorCode code, std::string message) {
  http::Response r =
      http::json_response(core::http_status(code), core::Error(code, std::move(message)).to_json_string());
  r.headers.set("Cache-Control", kErrorCache);
  ex->respond(std::move(r));
}

void respond_unavailable(const http::ExchangePtr& ex, std::string message) {
  http::Response r = http::json_response(
      503, core::Error(core::ErrorCode::kServiceUnavailable, std::move(message)).to_json_string());
  r.headers.set("Cache-Control", kErrorCache);
  r.headers.set("Retry-After", "1");
  ex->respond(std::move(r));
}

}  // namespace mirror::api
