#include "api/admin_session.h"

#include "http/router.h"
#include "recording_exchange.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace mirror::api {
namespace {

using namespace std::chrono_literals;
using testing::RecordingExchange;

TEST(SessionStore, OpensChecksAndCloses) {
  SessionStore store(12h);
  const auto now = SessionStore::Clock::now();
  const auto s = store.open(now);
  ASSERT_TRUE(store.check(s.cookie_value, now));
  EXPECT_EQ(*store.check(s.cookie_value, now), s.expires_at);
  EXPECT_GE(s.expires_at - now, 12h - 1s);
  EXPECT_FALSE(store.check(s.cookie_value, s.expires_at)) << "expired";
  store.close(s.cookie_value);
  EXPECT_FALSE(store.check(s.cookie_value, now)) << "signed out";
  EXPECT_EQ(store.size(), 0u);
}

TEST(SessionStore, RefusesForgedAndForeignCookies) {
  SessionStore store(1h);
  SessionStore other(1h);
  const auto s = store.open();
  // Another run of the server (another key) made this one.
  EXPECT_FALSE(store.check(other.open().cookie_value));
  // A longer expiry written into a real cookie breaks its signature.
  const auto first = s.cookie_value.find('.');
  const auto second = s.cookie_value.find('.', first + 1);
  std::string later = s.cookie_value.substr(0, first + 1) + "9999999999" + s.cookie_value.substr(second);
  EXPECT_FALSE(store.check(later));
  std::string flipped = s.cookie_value;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(store.check(flipped));
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "a.b", "a.b.c.d", std::string(300, 'a'),
                                                          std::string("\0..", 3)}) {
    EXPECT_FALSE(store.check(bad)) << bad;
    store.close(bad);  // harmless
  }
  EXPECT_TRUE(store.check(s.cookie_value));
}

TEST(SessionStore, KeepsAtMostItsLimit) {
  SessionStore store(1h, 3);
  const auto now = SessionStore::Clock::now();
  const auto oldest = store.open(now);
  store.open(now + 1s);
  store.open(now + 2s);
  const auto newest = store.open(now + 3s);
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(store.check(oldest.cookie_value, now + 4s));
  EXPECT_TRUE(store.check(newest.cookie_value, now + 4s));
}

TEST(SignInLimiter, RefusesAnAddressAfterTenWrongTokensForAMinute) {
  SignInLimiter limiter(10, 60s);
  const auto t0 = SignInLimiter::Clock::now();
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(limiter.allowed("192.0.2.1", t0));
    limiter.failed("192.0.2.1", t0);
  }
  EXPECT_FALSE(limiter.allowed("192.0.2.1", t0 + 59s));
  EXPECT_TRUE(limiter.allowed("192.0.2.2", t0 + 59s));
  EXPECT_TRUE(limiter.allowed("192.0.2.1", t0 + 61s));
}

TEST(SessionCookie, FoundAmongOthers) {
  EXPECT_EQ(session_cookie("mirror_session=abc"), "abc");
  EXPECT_EQ(session_cookie("a=1; mirror_session=x.y.z; b=2"), "x.y.z");
  EXPECT_FALSE(session_cookie("a=1; b=2"));
  EXPECT_FALSE(session_cookie(""));
  EXPECT_FALSE(session_cookie("xmirror_session=abc"));
  EXPECT_EQ(client_host("127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(client_host("[::1]:5000"), "::1");
  EXPECT_EQ(client_host("garbage"), "garbage");
}

struct Answer {
  int status = 0;
  nlohmann::json body;
  std::string set_cookie;
};

Answer send(const http::Router& router, std::string method, std::string body = {},
            std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}}) {
  http::Request r;
  r.method = std::move(method);
  r.path = "/api/v1/session";
  r.body = std::move(body);
  r.remote_address = "192.0.2.7:40000";
  for (auto& [k, v] : headers) r.headers.set(k, v);
  auto ex = std::make_shared<RecordingExchange>(std::move(r));
  router.dispatch(ex);
  return {ex->response.status, nlohmann::json::parse(ex->response.body, nullptr, false),
          std::string(ex->response.headers.get("Set-Cookie").value_or(""))};
}

TEST(SessionRoutes, SignInWrongThenRightThenOut) {
  http::Router router;
  auto sessions = std::make_shared<SessionStore>(12h);
  register_session_routes(router, sessions, std::make_shared<SignInLimiter>(), "s3cret-token");

  auto state = send(router, "GET");
  EXPECT_EQ(state.body["auth_required"], true);
  EXPECT_EQ(state.body["signed_in"], false);

  auto wrong = send(router, "POST", R"({"token":"nope"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body["code"], "UNAUTHORIZED");
  EXPECT_TRUE(wrong.set_cookie.empty());

  auto right = send(router, "POST", R"({"token":"s3cret-token"})");
  ASSERT_EQ(right.status, 200) << right.body.dump();
  EXPECT_EQ(right.body["signed_in"], true);
  EXPECT_NE(right.set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(right.set_cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(right.set_cookie.find("Max-Age=43200"), std::string::npos);
  const auto value = right.set_cookie.substr(0, right.set_cookie.find(';'));
  ASSERT_TRUE(value.starts_with("mirror_session="));
  const auto cookie = value.substr(std::string("mirror_session=").size());
  EXPECT_TRUE(sessions->check(cookie));

  auto in = send(router, "GET", "", {{"Cookie", value}});
  EXPECT_EQ(in.body["signed_in"], true);
  EXPECT_TRUE(in.body.contains("expires_at_ms"));

  auto out = send(router, "DELETE", "", {{"Cookie", value}});
  EXPECT_EQ(out.status, 200);
  EXPECT_NE(out.set_cookie.find("Max-Age=0"), std::string::npos);
  EXPECT_FALSE(sessions->check(cookie));
}

TEST(SessionRoutes, BadBodiesAndGuessing) {
  http::Router router;
  register_session_routes(router, std::make_shared<SessionStore>(1h), std::make_shared<SignInLimiter>(), "s3cret-token");
  EXPECT_EQ(send(router, "POST", "{").status, 400);
  EXPECT_EQ(send(router, "POST", "[]").status, 400);
  EXPECT_EQ(send(router, "POST", R"({"token":5})").status, 400);
  EXPECT_EQ(send(router, "POST", std::string(5000, ' ')).status, 400);
  EXPECT_EQ(send(router, "POST", R"({"token":"s3cret-token"})", {{"Content-Type", "text/plain"}}).status, 400);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(send(router, "POST", R"({"token":"guess"})").status, 401);
  auto limited = send(router, "POST", R"({"token":"s3cret-token"})");
  EXPECT_EQ(limited.status, 429) << "the right token too, once an address has guessed ten times";
  EXPECT_EQ(limited.body["code"], "RATE_LIMITED");
}

TEST(SessionRoutes, WithoutATokenNoSignInIsNeeded) {
  http::Router router;
  register_session_routes(router, std::make_shared<SessionStore>(1h), std::make_shared<SignInLimiter>(), "");
  auto state = send(router, "GET");
  EXPECT_EQ(state.body["auth_required"], false);
  EXPECT_EQ(state.body["signed_in"], true);
  auto post = send(router, "POST", "");
  EXPECT_EQ(post.status, 200);
  EXPECT_TRUE(post.set_cookie.empty());
}

}  // namespace
}  // namespace mirror::api
