// Who may use the admin server: a bearer token for the API, and no
// cross-site writes from browsers.
//
// - With a token configured, every /api/v1 request needs
//   "Authorization: Bearer <token>" (compared in constant time) or the
//   dashboard's session cookie (admin_session.h); /api/v1/session itself,
//   the console's page and its files stay open, and so do /health, /ready
//   and the metrics path unless `protect_probes` is set (a trailing slash
//   changes nothing). Every other path needs the token. Wrong tokens, here
//   or at the sign-in, count against the client's address: after ten in a
//   minute it gets 429 until the minute has passed. (Behind a proxy every
//   client shares the proxy's address.)
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

#include "api/admin_session.h"
#include "http/pipeline.h"

#include <memory>

#include <string>
#include <vector>

namespace mirror::api {

struct AdminAccess {
  std::string token;                      // empty: no authentication
  bool protect_probes = false;            // server.admin_auth_all
  std::vector<std::string> probe_paths;  // /health, /ready, the metrics path
  std::shared_ptr<const SessionStore> sessions;  // null: bearer tokens only
  // Wrong tokens per address, shared with the sign-in (429 beyond its limit).
  std::shared_ptr<SignInLimiter> limiter;
};

http::Filter admin_access_filter(AdminAccess access);

// Whether an Origin header value names the server the request was sent to
// (scheme http or https, same host and port as the Host header).
bool same_origin(std::string_view origin, std::string_view host);

}  // namespace mirror::api
