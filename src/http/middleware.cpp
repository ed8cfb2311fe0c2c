#include "http/middleware.h"

#include <algorithm>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <random>

namespace mirror::http {

Filter alt_svc_filter(std::function<int()> h3_port) {
  return [h3_port = std::move(h3_port)](const ExchangePtr& ex) {
    const Request& r = ex->request();
    if (!r.secure || r.protocol == "HTTP/3") return true;
    if (const int port = h3_port(); port > 0) {
      ex->response_headers().set("Alt-Svc", "h3=\":" + std::to_string(port) + "\"; ma=86400");
    }
    return true;
  };
}

bool is_valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Filter request_id_filter() {
  // Process-unique ids: a random prefix per process and a counter, so making an
  // id costs one atomic increment.
  std::random_device rd;
  const std::uint32_t prefix = rd();
  auto counter = std::make_shared<std::atomic<std::uint64_t>>(0);
  return [prefix, counter](const ExchangePtr& ex) {
    auto given = ex->request().headers.get("X-Request-Id");
    std::string id = given && is_valid_request_id(*given)
                         ? std::string(*given)
                         : fmt::format("{:08x}-{:x}", prefix,
                                       counter->fetch_add(1, std::memory_order_relaxed));
    ex->response_headers().set("X-Request-Id", id);
    return true;
  };
}

Filter cors_filter(std::vector<std::string> origins) {
  const bool any = origins.empty() || std::find(origins.begin(), origins.end(), "*") != origins.end();
  return [any, origins = std::move(origins)](const ExchangePtr& ex) {
    Headers& h = ex->response_headers();
    const Request& req = ex->request();
    bool allowed = any;
    if (any) {
      h.set("Access-Control-Allow-Origin", "*");
    } else {
      // The answer depends on the asking page: caches must keep one per origin.
      h.set("Vary", "Origin");
      const auto origin = req.headers.get("Origin");
      allowed = origin && std::find(origins.begin(), origins.end(), *origin) != origins.end();
      if (allowed) h.set("Access-Control-Allow-Origin", *origin);
    }
    if (allowed) h.set("Access-Control-Expose-Headers", "Content-Length, Content-Type, X-Request-Id, Age");
    if (req.method == "OPTIONS" && req.headers.has("Access-Control-Request-Method")) {
      Response res;
      res.status = 204;
      if (allowed) {
        res.headers.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
        res.headers.set("Access-Control-Allow-Headers", "Content-Type, Range, X-Request-Id");
        res.headers.set("Access-Control-Max-Age", "86400");
      }
      ex->set_route("cors_preflight");
      ex->respond(std::move(res));
      return false;
    }
    return true;
  };
}

Filter access_log_filter(std::string server_name, core::log::Level level) {
  return [server_name = std::move(server_name), level](const ExchangePtr& ex) {
    if (!core::log::enabled(level)) return true;
    std::weak_ptr<Exchange> weak = ex;
    ex->on_complete([weak, server_name, level](const Completion& c) {
      auto self = weak.lock();
      if (!self) return;
      const Request& r = self->request();
      auto ms = std::chrono::duration<double, std::milli>(c.elapsed).count();
      core::log::write(level, "http request",
                       {{"server", server_name},
                        {"method", r.method},
                        {"path", r.path},
                        {"status", c.status},
                        {"bytes", c.body_bytes},
                        {"duration_ms", ms},
                        {"remote", r.remote_address},
                        {"protocol", r.protocol},
                        {"request_id", self->response_headers().get("X-Request-Id").value_or("")},
                        {"aborted", c.aborted}},
                       core::log::SourceLocation::current());
    });
    return true;
  };
}

Filter route_metrics_filter(core::MetricsRegistry& registry, std::string server_name) {
  auto& requests = registry.counter("mirror_http_requests_total", "HTTP requests answered",
                                    {"server", "method", "route", "status"});
  auto& durations = registry.histogram(
      "mirror_http_request_duration_seconds",
      "Time from request received to response written",
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
      {"server", "route"});
  auto& body_bytes = registry
                         .counter("mirror_http_response_body_bytes_total",
                                  "Response body bytes sent (answers written to the end or aborted)", {"server"})
                         .with({server_name});
  return [&requests, &durations, &body_bytes, server_name = std::move(server_name)](const ExchangePtr& ex) {
    std::weak_ptr<Exchange> weak = ex;
    ex->on_complete([weak, &requests, &durations, &body_bytes, server_name](const Completion& c) {
      body_bytes.inc(c.body_bytes);
      auto self = weak.lock();
      if (!self) return;
      const std::string& route = self->route().empty() ? std::string("unmatched") : self->route();
      // Methods outside the standard set share one label so that hostile
      // clients cannot create unbounded series.
      static constexpr std::string_view kKnown[] = {"GET", "HEAD", "POST", "PUT",
                                                    "DELETE", "OPTIONS", "PATCH"};
      std::string_view method = "OTHER";
      for (auto m : kKnown) {
        if (self->request().method == m) method = m;
      }
      requests.with({server_name, std::string(method), route, std::to_string(c.status)}).inc();
      durations.with({server_name, route})
          .observe(std::chrono::duration<double>(c.elapsed).count());
    });
    return true;
  };
}

}  // namespace mirror::http
