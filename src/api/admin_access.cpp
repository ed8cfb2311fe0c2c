#include "api/admin_access.h"

#include "core/errors.h"
#include "http/exchange.h"
#include "http/message.h"
#include "http/signing.h"
#include "web/web_assets.h"

#include <algorithm>

namespace mirror::api {
namespace {

void refuse(const http::ExchangePtr& ex, core::ErrorCode code, std::string message) {
  ex->set_route("admin_access");
  if (code == core::ErrorCode::kUnauthorized) {
    ex->response_headers().set("WWW-Authenticate", "Bearer realm=\"mirror-admin\"");
  }
  ex->respond_error(core::Error(code, std::move(message)));
}

std::string_view bearer(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  // The scheme is case-insensitive (RFC 9110 §11.1).
  if (authorization.size() <= kScheme.size() ||
      !http::iequals(authorization.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  return authorization.substr(kScheme.size());
}

}  // namespace

bool same_origin(std::string_view origin, std::string_view host) {
  if (host.empty()) return false;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.size() == scheme.size() + host.size() && origin.starts_with(scheme) &&
        origin.substr(scheme.size()) == host) {
      return true;
    }
  }
  return false;
}

http::Filter admin_access_filter(AdminAccess access) {
  return [access = std::move(access)](const http::ExchangePtr& ex) {
    const http::Request& req = ex->request();
    const bool read_only = req.method == "GET" || req.method == "HEAD";
    if (!read_only) {
      // Browsers name the page's origin on every cross-origin request (and on
      // same-origin ones that are not GET/HEAD); scripts send none.
      if (auto origin = req.headers.get("Origin");
          origin && !same_origin(*origin, req.headers.get("Host").value_or(""))) {
        refuse(ex, core::ErrorCode::kForbidden,
               "cross-origin requests may only read the admin API (Origin " + std::string(*origin) +
                   ")");
        return false;
      }
    }
    if (access.token.empty()) return true;
    // The router takes "/metrics/" for "/metrics": so does this door.
    std::string_view path = req.path;
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    const bool probe =
        std::find(access.probe_paths.begin(), access.probe_paths.end(), path) != access.probe_paths.end();
    if (probe) {
      if (!access.protect_probes) return true;
    } else if (path == "/api/v1/session" ||
               (!path.starts_with("/api/") && web::find_asset("admin", path) != nullptr)) {
      return true;  // the console's page and files; the sign-in checks the token itself
    }
    const std::string host = client_host(req.remote_address);
    if (access.limiter && !access.limiter->allowed(host)) {
      refuse(ex, core::ErrorCode::kRateLimited, "too many wrong tokens from this address; wait a minute");
      return false;
    }
    const auto given = bearer(req.headers.get("Authorization").value_or(""));
    if (given.empty()) {
      if (access.sessions) {
        if (auto cookie = session_cookie(req.headers.get("Cookie").value_or(""));
            cookie && access.sessions->check(*cookie)) {
          return true;
        }
      }
      refuse(ex, core::ErrorCode::kUnauthorized,
             "the admin API needs Authorization: Bearer <token>, or a session (POST /api/v1/session)");
      return false;
    }
    if (!http::constant_time_equal(given, access.token)) {
      // Guessing through the API counts as guessing through the sign-in.
      if (access.limiter) access.limiter->failed(host);
      refuse(ex, core::ErrorCode::kUnauthorized, "wrong admin token");
      return false;
    }
    return true;
  };
}

}  // namespace mirror::api
