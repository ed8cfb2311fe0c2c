// Dashboard sign-in: the page trades the admin token once for a session
// cookie, so that the token is neither kept by the page nor sent again.
//
//   POST   /api/v1/session  {"token":"..."}: 200 and Set-Cookie; 401 for a
//                           wrong token; 429 after 10 wrong tokens from one
//                           address within a minute
//   GET    /api/v1/session  {"auth_required","signed_in","expires_at_ms"}
//   DELETE /api/v1/session  ends the session and clears the cookie
//
// The cookie is `mirror_session=<id>.<expiry>.<signature>`: HttpOnly,
// SameSite=Strict, Path=/, Max-Age of server.session_ttl. The signature is
// an HMAC under a key drawn at start-up, and the id must also be in the
// store, so a cookie is refused once forged, expired, signed out, or made by
// an earlier run of the server (a restart signs everyone out). It carries no
// Secure attribute: the admin server speaks plain HTTP, on loopback unless a
// token is configured (put TLS in front of it to reach it over a network).
// Without a configured token the API needs no sign-in and POST answers 200
// with auth_required false.
//
// Threads: SessionStore and SignInLimiter are thread-safe (one mutex each,
// taken per sign-in and per request that carries the cookie).
#pragma once

#include "http/router.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mirror::api {

inline constexpr std::string_view kSessionCookie = "mirror_session";

class SessionStore {
 public:
  using Clock = std::chrono::system_clock;

  explicit SessionStore(std::chrono::nanoseconds ttl, std::size_t max_sessions = 10000);

  struct Session {
    std::string cookie_value;
    Clock::time_point expires_at;
  };
  // A new session; beyond max_sessions the one closest to expiry goes first.
  Session open(Clock::time_point now = Clock::now());
  // Its expiry when `cookie_value` is a session of this store, unexpired.
  std::optional<Clock::time_point> check(std::string_view cookie_value,
                                         Clock::time_point now = Clock::now()) const;
  void close(std::string_view cookie_value);
  std::size_t size() const;
  std::chrono::nanoseconds ttl() const { return ttl_; }

 private:
  // The id, when the value is well formed and its signature is right.
  std::optional<std::string> verified_id(std::string_view cookie_value) const;

  const std::string key_;
  const std::chrono::nanoseconds ttl_;
  const std::size_t max_sessions_;
  mutable std::mutex mutex_;
  std::map<std::string, Clock::time_point, std::less<>> sessions_;
};

// Wrong tokens per client address: beyond `limit` within `window` the
// address is refused until the window has passed.
class SignInLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit SignInLimiter(int limit = 10, std::chrono::seconds window = std::chrono::seconds{60});
  bool allowed(std::string_view address, Clock::time_point now = Clock::now()) const;
  void failed(std::string_view address, Clock::time_point now = Clock::now());

 private:
  struct Window {
    Clock::time_point start;
    int failures = 0;
  };
  const int limit_;
  const std::chrono::seconds window_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Window> addresses_;
};

// The value of the session cookie in a Cookie header, if any.
std::optional<std::string_view> session_cookie(std::string_view cookie_header);

// The client's address without its port ("[::1]:5000" -> "::1").
std::string client_host(std::string_view remote_address);

void register_session_routes(http::Router& router, std::shared_ptr<SessionStore> sessions,
                             std::shared_ptr<SignInLimiter> limiter, std::string admin_token);

}  // namespace mirror::api
