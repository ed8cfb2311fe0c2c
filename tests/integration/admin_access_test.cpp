// The admin API's doors on the real binary: a bearer token when one is
// configured, loopback only without one, and no cross-site writes.
#include "mirror_fixture.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

std::string code_of(const HttpReply& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_discarded() ? std::string() : j.value("code", "");
}

TEST(AdminAccess, TokenGuardsTheApiButNotTheProbes) {
  MirrorInstance m("", {{"MIRROR_SERVER_ADMIN_TOKEN", "it-token-123"}});
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  const int admin = m.ports().admin;

  auto none = http_request(admin, "GET", "/api/v1/streams");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(code_of(none), "UNAUTHORIZED");
  EXPECT_EQ(none.header("www-authenticate"), "Bearer realm=\"mirror-admin\"");
  auto wrong = http_request(admin, "DELETE", "/api/v1/streams/cam", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(code_of(wrong), "UNAUTHORIZED");
  auto right = http_request(admin, "GET", "/api/v1/streams", {{"Authorization", "Bearer it-token-123"}});
  EXPECT_EQ(right.status, 200) << right.body;
  EXPECT_EQ(right.header("access-control-allow-origin"), "");

  EXPECT_EQ(http_get(admin, "/health").status, 200);
  EXPECT_EQ(http_get(admin, "/ready").status, 200);
  EXPECT_EQ(http_get(admin, "/metrics").status, 200);
  // The token never shows in the logs.
  EXPECT_EQ(m.process().stderr_text().find("it-token-123"), std::string::npos);
}

TEST(AdminAccess, AuthAllProtectsTheProbesToo) {
  MirrorInstance m("  admin_auth_all: true\n", {{"MIRROR_SERVER_ADMIN_TOKEN", "t0k"}});
  ASSERT_TRUE(eventually(
      [&] {
        return http_request(m.ports().admin, "GET", "/ready", {{"Authorization", "Bearer t0k"}})
                   .status == 200;
      },
      20s))
      << m.process().stderr_text();
  EXPECT_EQ(http_get(m.ports().admin, "/metrics").status, 401);
  EXPECT_EQ(http_get(m.ports().admin, "/health").status, 401);
}

TEST(AdminAccess, ForeignOriginCannotWriteEvenWithoutAToken) {
  MirrorInstance m;
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  const int admin = m.ports().admin;
  auto csrf = http_request(admin, "POST", "/api/v1/streams",
                           {{"Origin", "https://evil.example"}, {"Content-Type", "application/json"}},
                           R"({"name":"x","ssrc":1})");
  EXPECT_EQ(csrf.status, 403) << csrf.body;
  EXPECT_EQ(code_of(csrf), "FORBIDDEN");
  EXPECT_EQ(http_request(admin, "DELETE", "/api/v1/streams/x", {{"Origin", "http://localhost:1"}}).status,
            403);
  auto preflight = http_request(admin, "OPTIONS", "/api/v1/streams",
                                {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "DELETE"}});
  EXPECT_EQ(preflight.header("access-control-allow-origin"), "");
  // Scripts (no Origin) and reads go through.
  EXPECT_EQ(http_get(admin, "/api/v1/streams").status, 200);
  // Start-up said where the open API listens.
  EXPECT_NE(m.process().stderr_text().find("listening on loopback only"), std::string::npos);
}

TEST(AdminAccess, NonLoopbackBindWithoutATokenIsRefusedAtStartUp) {
  auto dir = make_temp_dir("mirror-it");
  MirrorPorts p;
  write_file(dir + "/mirror.yaml", test_config(p, dir, "  admin_bind: \"0.0.0.0\"\n"));
  auto r = run({mirror_binary(), "-c", dir + "/mirror.yaml"}, {}, {}, 20s);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("server.admin_bind"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("needs server.admin_token"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mirror::testing
