// server.max_connections counts every listener together, and
// server.max_connections_per_ip keeps one client from taking them all.
#include "mirror_fixture.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

// Opens a connection and proves it is served (a request answered on it).
std::unique_ptr<RawConnection> served(int port) {
  auto c = std::make_unique<RawConnection>(port);
  if (!c->connected() || !c->send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")) return nullptr;
  auto r = c->read_reply();
  return r && (r->status == 200 || r->status == 404) ? std::move(c) : nullptr;
}

TEST(ConnectionLimits, OneAddressGetsItsShareAndNoMore) {
  MirrorInstance m("  max_connections_per_ip: 2\n");
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  auto a = served(m.ports().http);
  auto b = served(m.ports().admin);  // the cap spans listeners
  ASSERT_TRUE(a && b);
  RawConnection third(m.ports().http);
  ASSERT_TRUE(third.connected());
  auto r = third.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("too many connections from this address"), std::string::npos) << r->body;
  // A slot given back is taken again.
  a.reset();
  EXPECT_TRUE(eventually([&] { return served(m.ports().http) != nullptr; }));
}

TEST(ConnectionLimits, MaxConnectionsCountsEveryListener) {
  MirrorInstance m("  max_connections: 2\n");
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  auto a = served(m.ports().http);
  auto b = served(m.ports().http);
  ASSERT_TRUE(a && b);
  RawConnection admin(m.ports().admin);
  ASSERT_TRUE(admin.connected());
  auto r = admin.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << r->body;
  EXPECT_EQ(body.value("code", ""), "CAPACITY_FULL");
}

}  // namespace
}  // namespace mirror::testing
