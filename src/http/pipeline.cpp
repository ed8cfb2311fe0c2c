#include "http/pipeline.h"

#include "core/logging.h"

#include <exception>

namespace mirror::http {

void Pipeline::dispatch(const ExchangePtr& exchange) const {
  // A handler bug must cost one request, not the server.
  try {
    for (const auto& f : filters_) {
      if (!f(exchange)) return;
    }
    router_.dispatch(exchange);
  } catch (const std::exception& e) {
    core::log::error("handler failed", {{"path", exchange->request().path}, {"error", e.what()}});
    exchange->respond_error(core::Error(core::ErrorCode::kInternal, "internal error"));
  }
}

}  // namespace mirror::http
