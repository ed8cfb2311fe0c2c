// The real server process: start, admin endpoints, metrics accepted by
// promtool, graceful stop on SIGTERM, a port in use.
#include "mirror_fixture.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

TEST(Server, ServesHealthReadyVersionAndMetrics) {
  MirrorInstance m;
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  const int port = m.ports().admin;

  auto health = http_get(port, "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.header("content-type"), "application/json");
  auto h = nlohmann::json::parse(health.body);
  EXPECT_EQ(h["status"], "healthy");
  EXPECT_TRUE(h["version"].contains("git_commit"));
  for (const char* svc : {"storage", "state", "admin_http"}) {
    EXPECT_EQ(h["services"][svc]["status"], "healthy") << svc << ": " << health.body;
  }

  auto version = http_get(port, "/api/v1/version");
  EXPECT_EQ(version.status, 200);
  EXPECT_TRUE(nlohmann::json::parse(version.body).contains("version"));

  auto metrics = http_get(port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.header("content-type").find("version=0.0.4"), std::string::npos);
  for (const char* name :
       {"mirror_build_info", "process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_open_fds", "process_start_time_seconds", "mirror_http_requests_total",
        "mirror_service_up"}) {
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
  }
}

TEST(Server, MetricsPassPromtool) {
  if (!std::filesystem::exists("/usr/bin/promtool")) GTEST_SKIP() << "promtool not installed";
  MirrorInstance m;
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  // A few requests first, so per-route series exist.
  http_get(m.ports().admin, "/health");
  http_get(m.ports().admin, "/nope");
  auto metrics = http_get(m.ports().admin, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  auto r = run({"/usr/bin/promtool", "check", "metrics"}, {}, metrics.body);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST(Server, UnknownRouteAndWrongMethodAnswerJson) {
  MirrorInstance m;
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  auto nf = http_get(m.ports().admin, "/no/such/thing");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nlohmann::json::parse(nf.body)["code"], "NOT_FOUND");
  auto na = http_request(m.ports().admin, "POST", "/health");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.header("allow"), "GET, HEAD");
}

TEST(Server, SigtermStopsGracefullyWithExitZero) {
  MirrorInstance m;
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  m.process().signal(SIGTERM);
  auto st = m.process().wait(10s);
  ASSERT_TRUE(st.has_value()) << "still running 10 s after SIGTERM";
  EXPECT_EQ(*st, 0) << m.process().stderr_text();
  EXPECT_NE(m.process().stderr_text().find("mirror stopped"), std::string::npos);
}

TEST(Server, SigintStopsGracefullyWithExitZero) {
  MirrorInstance m;
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  m.process().signal(SIGINT);
  auto st = m.process().wait(10s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, 0);
}

TEST(Server, PortInUseFailsNamingPortAndProtocol) {
  MirrorInstance first;
  ASSERT_TRUE(first.wait_ready()) << first.process().stderr_text();
  // A second instance whose admin port is the first one's.
  auto dir = make_temp_dir("mirror-it");
  MirrorPorts p;
  p.admin = first.ports().admin;
  write_file(dir + "/mirror.yaml", test_config(p, dir));
  auto r = run({mirror_binary(), "-c", dir + "/mirror.yaml"}, {}, {}, 20s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("tcp port " + std::to_string(p.admin)), std::string::npos) << r.err;
}

// HTTP/3's UDP port held by another program, even one that allows sharing
// it (SO_REUSEPORT, as Mirror's own sockets do): a start-up error naming the
// port, never two servers splitting each other's datagrams.
TEST(Server, UdpPortOfHttp3InUseFailsNamingIt) {
  auto dir = make_temp_dir("mirror-it");
  MirrorPorts p;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(static_cast<std::uint16_t>(p.https));
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  write_file(dir + "/mirror.yaml", test_config(p, dir));
  auto r = run({mirror_binary(), "-c", dir + "/mirror.yaml"}, {}, {}, 20s);
  ::close(fd);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("udp port " + std::to_string(p.https)), std::string::npos) << r.err;
}

TEST(Server, GeneratesSelfSignedCertificateAndLogsItsHash) {
  MirrorInstance m;
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  EXPECT_TRUE(std::filesystem::exists(m.dir() + "/data/tls/self-signed.crt"));
  EXPECT_TRUE(std::filesystem::exists(m.dir() + "/data/tls/self-signed.key"));
  EXPECT_NE(m.process().stderr_text().find("spki_sha256"), std::string::npos);
}

TEST(Server, LogsAreJsonLines) {
  MirrorInstance m;
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();
  m.process().signal(SIGTERM);
  m.process().wait(10s);
  std::istringstream lines(m.process().stderr_text());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    // RFC 3339 with nanoseconds: 2026-01-02T03:04:05.123456789Z
    EXPECT_EQ(j["time"].get<std::string>().size(), 30u) << line;
    ++count;
  }
  EXPECT_GT(count, 3);
}

}  // namespace
}  // namespace mirror::testing
