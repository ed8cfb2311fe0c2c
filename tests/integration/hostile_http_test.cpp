// Hostile HTTP against the real binary's admin server: each attack is answered
// with a 4xx or a close, and a well-behaved client is served meanwhile.
#include "mirror_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

class HostileHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    instance_ = new MirrorInstance("  read_timeout: 2s\n  write_timeout: 2s\n  max_connections: 50\n");
    ASSERT_TRUE(instance_->wait_ready()) << instance_->process().stderr_text();
  }
  static void TearDownTestSuite() {
    delete instance_;
    instance_ = nullptr;
  }
  int port() const { return instance_->ports().admin; }
  void expect_others_served() const { EXPECT_EQ(http_get(port(), "/health").status, 200); }

  static MirrorInstance* instance_;
};

MirrorInstance* HostileHttp::instance_ = nullptr;

TEST_F(HostileHttp, GarbageRequestLine) {
  RawConnection c(port());
  c.send("\x16\x03\x01 this is not http\r\n\r\n");
  auto r = c.read_reply(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(nlohmann::json::parse(r->body)["code"], "INVALID_INPUT");
  EXPECT_TRUE(c.wait_closed(2s));
  expect_others_served();
}

TEST_F(HostileHttp, HeaderOf64KiB) {
  RawConnection c(port());
  c.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  auto r = c.read_reply(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  expect_others_served();
}

TEST_F(HostileHttp, TenThousandHeaders) {
  std::string req = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 10000; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
  req += "\r\n";
  RawConnection c(port());
  c.send(req);
  auto r = c.read_reply(3s);
  // Either answered 431 or cut off while still sending: both are refusals.
  if (r) {
    EXPECT_EQ(r->status, 431);
  }
  expect_others_served();
}

TEST_F(HostileHttp, OneBytePerSecondClientIsClosed) {
  RawConnection slow(port());
  const std::string req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  bool closed = false;
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < req.size() && !closed; ++i) {
    if (!slow.send(req.substr(i, 1))) {
      closed = true;
      break;
    }
    expect_others_served();
    closed = slow.wait_closed(1s);
    if (std::chrono::steady_clock::now() - start > 10s) break;
  }
  EXPECT_TRUE(closed || slow.wait_closed(3s));
}

TEST_F(HostileHttp, ClientThatNeverReadsIsDropped) {
  RawConnection c(port());
  int small = 4096;
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  // Many pipelined requests for the largest document, never reading a byte.
  std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string burst;
  for (int i = 0; i < 2000; ++i) burst += req;
  c.send(burst);
  // Meanwhile, others are served.
  for (int i = 0; i < 5; ++i) expect_others_served();
  // The server gives up on it after the write timeout (2 s).
  bool dropped = false;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!dropped && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(500ms);
    auto m = http_get(port(), "/metrics");
    dropped = m.body.find("reason=\"write_timeout\"") != std::string::npos;
  }
  EXPECT_TRUE(dropped);
}

TEST_F(HostileHttp, VeryLongUrl) {
  auto r = http_get(port(), "/" + std::string(100000, 'a'));
  EXPECT_EQ(r.status, 431);
  expect_others_served();
}

TEST_F(HostileHttp, PathTraversal) {
  EXPECT_EQ(http_get(port(), "/../../etc/passwd").status, 400);
  EXPECT_EQ(http_get(port(), "/%2e%2e/%2e%2e/etc/passwd").status, 400);
}

TEST_F(HostileHttp, ConnectionsBeyondMaxAreRefusedWhileExistingOnesWork) {
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 50; ++i) {
    held.push_back(std::make_unique<RawConnection>(port()));
    held.back()->send("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(held.back()->read_reply(5s)) << i;
  }
  RawConnection extra(port());
  auto r = extra.read_reply(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(nlohmann::json::parse(r->body)["code"], "CAPACITY_FULL");
  held[10]->send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  auto ok = held[10]->read_reply(5s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  held.clear();
  // Slots free up again once the clients leave.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = http_get(port(), "/health").status == 200;
    if (!served) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(served);
}

}  // namespace
}  // namespace mirror::testing
