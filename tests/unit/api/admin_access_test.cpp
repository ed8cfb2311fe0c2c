#include "api/admin_access.h"

#include "http/exchange.h"
#include "recording_exchange.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace mirror::api {
namespace {

using testing::RecordingExchange;

struct Call {
  bool passed = false;
  int status = 0;
  std::string code;
  std::string www_authenticate;
};

Call call(const AdminAccess& access, std::string method, std::string path,
          std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  for (auto& [k, v] : headers) r.headers.set(k, v);
  auto ex = std::make_shared<RecordingExchange>(std::move(r));
  Call c;
  c.passed = admin_access_filter(access)(ex);
  c.status = ex->response.status;
  if (!c.passed) {
    auto body = nlohmann::json::parse(ex->response.body, nullptr, false);
    if (!body.is_discarded()) c.code = body.value("code", "");
    c.www_authenticate = std::string(ex->response.headers.get("WWW-Authenticate").value_or(""));
  }
  return c;
}

AdminAccess with_token() {
  AdminAccess a;
  a.token = "s3cret-token";
  a.probe_paths = {"/health", "/ready", "/metrics"};
  return a;
}

TEST(AdminAccess, WithoutATokenEverythingPassesFromScripts) {
  AdminAccess open;
  EXPECT_TRUE(call(open, "GET", "/api/v1/streams").passed);
  EXPECT_TRUE(call(open, "DELETE", "/api/v1/streams/cam").passed);
  EXPECT_TRUE(call(open, "POST", "/api/v1/streams", {{"Host", "127.0.0.1:8080"}}).passed);
}

TEST(AdminAccess, ApiNeedsTheBearerToken) {
  const auto a = with_token();
  auto none = call(a, "GET", "/api/v1/streams");
  EXPECT_FALSE(none.passed);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.code, "UNAUTHORIZED");
  EXPECT_EQ(none.www_authenticate, "Bearer realm=\"mirror-admin\"");
  auto wrong = call(a, "GET", "/api/v1/streams", {{"Authorization", "Bearer s3cret-tokem"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(call(a, "GET", "/api/v1/streams", {{"Authorization", "Bearer s3cret-token-and-more"}}).status,
            401);
  EXPECT_EQ(call(a, "GET", "/api/v1/streams", {{"Authorization", "Basic s3cret-token"}}).status, 401);
  EXPECT_EQ(call(a, "GET", "/api/v1/streams", {{"Authorization", "Bearer "}}).status, 401);
  EXPECT_TRUE(call(a, "GET", "/api/v1/streams", {{"Authorization", "Bearer s3cret-token"}}).passed);
  EXPECT_TRUE(call(a, "DELETE", "/api/v1/streams/x", {{"Authorization", "bearer s3cret-token"}}).passed);
}

TEST(AdminAccess, ProbesStayOpenUnlessAllIsProtected) {
  auto a = with_token();
  EXPECT_TRUE(call(a, "GET", "/health").passed);
  EXPECT_TRUE(call(a, "GET", "/ready").passed);
  EXPECT_TRUE(call(a, "GET", "/metrics").passed);
  a.protect_probes = true;
  EXPECT_EQ(call(a, "GET", "/health").status, 401);
  EXPECT_EQ(call(a, "GET", "/metrics").status, 401);
  EXPECT_TRUE(call(a, "GET", "/metrics", {{"Authorization", "Bearer s3cret-token"}}).passed);
}

TEST(AdminAccess, ForeignOriginsMayOnlyRead) {
  for (const AdminAccess& a : {AdminAccess{}, with_token()}) {
    const std::pair<std::string, std::string> auth = {"Authorization", "Bearer s3cret-token"};
    auto csrf = call(a, "DELETE", "/api/v1/streams/cam",
                     {{"Origin", "https://evil.example"}, {"Host", "127.0.0.1:8080"}, auth});
    EXPECT_FALSE(csrf.passed);
    EXPECT_EQ(csrf.status, 403);
    EXPECT_EQ(csrf.code, "FORBIDDEN");
    EXPECT_EQ(call(a, "POST", "/api/v1/streams",
                   {{"Origin", "null"}, {"Host", "127.0.0.1:8080"}, auth})
                  .status,
              403);
    // The admin page's own origin may write; anyone may read (the answer
    // carries no Access-Control-Allow-Origin, so another page cannot see it).
    EXPECT_TRUE(call(a, "POST", "/api/v1/streams",
                     {{"Origin", "http://127.0.0.1:8080"}, {"Host", "127.0.0.1:8080"}, auth})
                    .passed);
    EXPECT_TRUE(call(a, "GET", "/api/v1/streams", {{"Origin", "https://evil.example"}, auth}).passed);
  }
}

TEST(AdminAccess, SameOrigin) {
  EXPECT_TRUE(same_origin("http://localhost:8080", "localhost:8080"));
  EXPECT_TRUE(same_origin("https://mirror.example", "mirror.example"));
  EXPECT_FALSE(same_origin("http://localhost:8081", "localhost:8080"));
  EXPECT_FALSE(same_origin("http://localhost:8080.evil", "localhost:8080"));
  EXPECT_FALSE(same_origin("http://localhost:8080", ""));
}

TEST(AdminAccess, ASessionCookieOpensTheApiAndTheSignInIsOpen) {
  auto a = with_token();
  auto sessions = std::make_shared<SessionStore>(std::chrono::hours{1});
  a.sessions = sessions;
  const auto session = sessions->open();
  const std::string cookie = "theme=dark; mirror_session=" + session.cookie_value;
  EXPECT_TRUE(call(a, "GET", "/api/v1/streams", {{"Cookie", cookie}}).passed);
  EXPECT_EQ(call(a, "GET", "/api/v1/streams", {{"Cookie", "mirror_session=forged.1.x"}}).status, 401);
  EXPECT_TRUE(call(a, "POST", "/api/v1/session").passed);
  EXPECT_TRUE(call(a, "GET", "/").passed) << "the dashboard page asks for the token itself";
  sessions->close(session.cookie_value);
  EXPECT_EQ(call(a, "GET", "/api/v1/streams", {{"Cookie", cookie}}).status, 401);
  // A cookie is no way around the cross-origin rule.
  const auto other = sessions->open();
  EXPECT_EQ(call(a, "DELETE", "/api/v1/streams/cam",
                 {{"Cookie", "mirror_session=" + other.cookie_value}, {"Origin", "https://evil.example"},
                  {"Host", "127.0.0.1:8080"}})
                .status,
            403);
}

TEST(AdminAccess, OnlyTheConsolesFilesAndTheSignInAreOpen) {
  auto a = with_token();
  a.protect_probes = true;
  EXPECT_TRUE(call(a, "GET", "/").passed);
  EXPECT_TRUE(call(a, "GET", "/console/app.js").passed);
  EXPECT_EQ(call(a, "GET", "/api/v1/openapi.json").status, 401);
  EXPECT_EQ(call(a, "GET", "/nope").status, 401);
  // The router serves "/metrics/" as "/metrics": the door is the same.
  EXPECT_EQ(call(a, "GET", "/metrics/").status, 401);
  EXPECT_EQ(call(a, "GET", "/health//").status, 401);
  a.protect_probes = false;
  EXPECT_TRUE(call(a, "GET", "/metrics/").passed);
}

TEST(AdminAccess, GuessingTheBearerTokenIsLimitedLikeTheSignIn) {
  auto a = with_token();
  a.limiter = std::make_shared<SignInLimiter>();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(call(a, "GET", "/api/v1/streams", {{"Authorization", "Bearer guess"}}).status, 401);
  }
  auto limited = call(a, "GET", "/api/v1/streams", {{"Authorization", "Bearer s3cret-token"}});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.code, "RATE_LIMITED");
}

}  // namespace
}  // namespace mirror::api

