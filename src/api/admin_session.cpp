#include "api/admin_session.h"

#include "core/errors.h"
#include "core/logging.h"
#include "http/exchange.h"
#include "http/message.h"
#include "http/signing.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace mirror::api {
namespace {

constexpr std::size_t kMaxBody = 4096;

std::int64_t epoch_ms(SessionStore::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string set_cookie(std::string_view value, std::int64_t max_age_s) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict", kSessionCookie, value, max_age_s);
}

void answer(const http::ExchangePtr& ex, const nlohmann::json& body, std::string cookie = {}) {
  auto res = http::json_response(200, body.dump());
  res.headers.set("Cache-Control", "no-store");
  if (!cookie.empty()) res.headers.set("Set-Cookie", cookie);
  ex->respond(std::move(res));
}

}  // namespace

SessionStore::SessionStore(std::chrono::nanoseconds ttl, std::size_t max_sessions)
    : key_(http::random_token(32)), ttl_(ttl), max_sessions_(std::max<std::size_t>(1, max_sessions)) {}

SessionStore::Session SessionStore::open(Clock::time_point now) {
  const auto expires = std::chrono::time_point_cast<std::chrono::seconds>(now + ttl_);
  const std::string id = http::random_token(18);
  const std::string payload = fmt::format("{}.{}", id, expires.time_since_epoch().count());
  Session session{payload + "." + http::sign(key_, payload), expires};
  std::lock_guard lock(mutex_);
  std::erase_if(sessions_, [now](const auto& entry) { return entry.second <= now; });
  while (sessions_.size() >= max_sessions_) {
    sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  sessions_.emplace(id, expires);
  return session;
}

std::optional<std::string> SessionStore::verified_id(std::string_view value) const {
  // <id>.<expiry seconds>.<signature>; none of the three contains a dot.
  const auto first = value.find('.');
  const auto second = first == std::string_view::npos ? first : value.find('.', first + 1);
  if (second == std::string_view::npos || value.size() > 256) return std::nullopt;
  const auto payload = value.substr(0, second);
  if (!http::constant_time_equal(value.substr(second + 1), http::sign(key_, payload))) return std::nullopt;
  return std::string(value.substr(0, first));
}

std::optional<SessionStore::Clock::time_point> SessionStore::check(std::string_view value,
                                                                   Clock::time_point now) const {
  const auto id = verified_id(value);
  if (!id) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(*id);
  if (it == sessions_.end() || it->second <= now) return std::nullopt;
  return it->second;
}

void SessionStore::close(std::string_view value) {
  const auto id = verified_id(value);
  if (!id) return;
  std::lock_guard lock(mutex_);
  sessions_.erase(*id);
}

std::size_t SessionStore::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

SignInLimiter::SignInLimiter(int limit, std::chrono::seconds window) : limit_(limit), window_(window) {}

bool SignInLimiter::allowed(std::string_view address, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  const auto it = addresses_.find(std::string(address));
  return it == addresses_.end() || now - it->second.start >= window_ || it->second.failures < limit_;
}

void SignInLimiter::failed(std::string_view address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  // Many addresses at once forget the stale ones; while still full, a new
  // address is not recorded (no lockout already counted is lost).
  const std::string key(address);
  if (addresses_.size() >= 4096 && !addresses_.count(key)) {
    std::erase_if(addresses_, [&](const auto& entry) { return now - entry.second.start >= window_; });
    if (addresses_.size() >= 4096) return;
  }
  auto& w = addresses_[key];
  if (w.failures == 0 || now - w.start >= window_) w = Window{now, 0};
  ++w.failures;
}

std::optional<std::string_view> session_cookie(std::string_view header) {
  // "a=1; mirror_session=...; b=2" (RFC 6265 §4.2.1).
  while (!header.empty()) {
    const auto end = header.find(';');
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view{} : header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == kSessionCookie) return pair.substr(eq + 1);
  }
  return std::nullopt;
}

std::string client_host(std::string_view remote) {
  if (remote.starts_with('[')) {
    const auto close = remote.find(']');
    return std::string(remote.substr(1, close == std::string_view::npos ? remote.size() - 1 : close - 1));
  }
  const auto colon = remote.rfind(':');
  return std::string(colon == std::string_view::npos ? remote : remote.substr(0, colon));
}

void register_session_routes(http::Router& router, std::shared_ptr<SessionStore> sessions,
                             std::shared_ptr<SignInLimiter> limiter, std::string token) {
  router.post("/api/v1/session", [sessions, limiter, token](const http::ExchangePtr& ex) {
    const http::Request& req = ex->request();
    if (token.empty()) {
      answer(ex, {{"auth_required", false}, {"signed_in", true}});
      return;
    }
    const std::string host = client_host(req.remote_address);
    if (!limiter->allowed(host)) {
      ex->respond_error(core::Error(core::ErrorCode::kRateLimited,
                                    "too many wrong tokens from this address; wait a minute"));
      return;
    }
    if (req.body.size() > kMaxBody) {
      ex->respond_error(core::Error(core::ErrorCode::kInvalidInput, "the body is larger than 4 KiB"));
      return;
    }
    if (!req.headers.get("Content-Type").value_or("").starts_with("application/json")) {
      ex->respond_error(core::Error(core::ErrorCode::kInvalidInput, "Content-Type must be application/json"));
      return;
    }
    const auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
      ex->respond_error(core::Error(core::ErrorCode::kInvalidInput, "the body must be {\"token\": \"...\"}"));
      return;
    }
    if (!http::constant_time_equal(body["token"].get<std::string>(), token)) {
      limiter->failed(host);
      core::log::warn("admin sign-in with a wrong token", {{"remote", host}});
      ex->respond_error(core::Error(core::ErrorCode::kUnauthorized, "wrong admin token"));
      return;
    }
    const auto session = sessions->open();
    const auto max_age = std::chrono::duration_cast<std::chrono::seconds>(sessions->ttl()).count();
    answer(ex, {{"auth_required", true}, {"signed_in", true}, {"expires_at_ms", epoch_ms(session.expires_at)}},
           set_cookie(session.cookie_value, max_age));
  });
  router.get("/api/v1/session", [sessions, token](const http::ExchangePtr& ex) {
    nlohmann::json doc{{"auth_required", !token.empty()}, {"signed_in", token.empty()}};
    if (auto cookie = session_cookie(ex->request().headers.get("Cookie").value_or(""))) {
      if (auto expires = sessions->check(*cookie)) {
        doc["signed_in"] = true;
        doc["expires_at_ms"] = epoch_ms(*expires);
      }
    }
    answer(ex, doc);
  });
  router.del("/api/v1/session", [sessions, token](const http::ExchangePtr& ex) {
    if (auto cookie = session_cookie(ex->request().headers.get("Cookie").value_or(""))) sessions->close(*cookie);
    answer(ex, {{"auth_required", !token.empty()}, {"signed_in", token.empty()}}, set_cookie("", 0));
  });
}

}  // namespace mirror::api
