// Standard filters for a Pipeline: request ids, CORS for browser players,
// access logs and per-route metrics.
#pragma once

#include "core/logging.h"
#include "core/metrics.h"
#include "http/pipeline.h"

#include <functional>
#include <string>
#include <vector>

namespace mirror::http {

// Keeps a client's X-Request-Id when it is sane (1-64 of [A-Za-z0-9._-]),
// otherwise makes one; echoes it on the response.
Filter request_id_filter();

// Access-Control-*; answers preflight OPTIONS with 204.
// Origins whose pages may read the answers (server.cors_origins): "*" (or
// none given) allows any; otherwise the request's Origin is echoed when listed.
Filter cors_filter(std::vector<std::string> origins = {"*"});

// One log line per finished request at `level`.
Filter access_log_filter(std::string server_name, core::log::Level level);

// mirror_http_requests_total{server,method,route,status},
// mirror_http_request_duration_seconds{server,route} and
// mirror_http_response_body_bytes_total{server}.
Filter route_metrics_filter(core::MetricsRegistry& registry, std::string server_name);

// Alt-Svc on every answer to a request that came over TLS on TCP, so that
// browsers find HTTP/3 on the same port number (`h3_port()`; 0: not
// serving, no header). Not on plain HTTP: browsers only take HTTP/3 for
// https origins.
Filter alt_svc_filter(std::function<int()> h3_port);

// True for 1-64 characters of [A-Za-z0-9._-].
bool is_valid_request_id(std::string_view id);

}  // namespace mirror::http
