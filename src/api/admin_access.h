// Who may use the admin server: a bearer token for the API, and no
// cross-site writes from browsers.
//
// - With a token configured, every /api/v1 request needs
//   "Authorization: Bearer <token>" (compared in constant time); /health,
//   /ready and the metrics path stay open unless `protect_probes` is set.
//   Without one the admin server listens on loopback only (the
//   configuration refuses anything else), so the open API is reachable from
//   this machine alone.
// - A request that a browser sends from another origin (its Origin header
//   names a site other than this server) is refused for every method but
//   GET and HEAD, token or not: a page the user opens cannot end streams or
//   make Mirror bind ports (CSRF). The admin server sends no
//   Access-Control-Allow-Origin, so such pages cannot read answers either.
// Refusals are 401 (with WWW-Authenticate) or 403, with the JSON error body.
//
// Threads: the filter is a value copied into the pipeline; it runs on any
// event-loop thread and holds no mutable state.
#pragma once

#include "http/pipeline.h"

#include <string>
#include <vector>

namespace mirror::api {

struct AdminAccess {
  std::string token;                      // empty: no authentication
  bool protect_probes = false;            // server.admin_auth_all
  std::vector<std::string> probe_paths;  // /health, /ready, the metrics path
};

http::Filter admin_access_filter(AdminAccess access);

// True when `a` and `b` are equal, in time that depends on their lengths only.
bool constant_time_equal(std::string_view a, std::string_view b);

// Whether an Origin header value names the server the request was sent to
// (scheme http or https, same host and port as the Host header).
bool same_origin(std::string_view origin, std::string_view host);

}  // namespace mirror::api
