// HTTPS delivery on server.http3_port: HTTP/2 and HTTP/1.1 over TLS (ALPN)
// serve the same bytes as plain HTTP/1.1, with real clients (curl, nghttp),
// and the HTTP/2 limits hold against a hand-written abusive client while
// another viewer keeps being served.
#include "mirror_fixture.h"
#include "support/fixtures.h"
#include "support/h2_raw_client.h"
#include "support/quic_probe.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <poll.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::uint8_t kHeaders = 0x1;
constexpr std::uint8_t kContinuation = 0x9;
constexpr std::uint32_t kEnhanceYourCalm = 0xb;

class HttpsDelivery : public ::testing::Test {
 protected:
  void start(std::map<std::string, std::string> env = {}) {
    mirror_ = std::make_unique<MirrorInstance>("", std::move(env));
    ASSERT_TRUE(mirror_->wait_ready()) << mirror_->process().stderr_text();
  }
  void TearDown() override {
    if (sender_) sender_->signal(SIGKILL);
  }

  // A live stream named `name`, ready to play: x264 with one keyframe a
  // second unless `video` names other encoder arguments (and `rate` another
  // frame rate).
  void publish(const std::string& name, const std::vector<std::string>& video = {}, const std::string& rate = "30") {
    sender_ = std::make_unique<Process>(video.empty() ? live_srt_sender(mirror_->ports().srt, name)
                                                      : live_srt_sender(mirror_->ports().srt, name, rate, video));
    ASSERT_TRUE(eventually(
        [&] { return http_get(mirror_->ports().http, "/streams/" + name + "/source/playlist.m3u8").status == 200; },
        30s))
        << mirror_->process().stderr_text();
  }

  std::string https(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(mirror_->ports().https) + path;
  }

  // curl over TLS (the self-signed certificate is not checked); the body,
  // and in `version` what curl says it spoke.
  std::string curl(const std::string& path, const std::string& protocol_flag,
                   std::string* version = nullptr) {
    const std::string out = mirror_->dir() + "/curl.out";
    auto r = run({"/usr/bin/curl", "-sk", protocol_flag, "-o", out, "-w",
                  "%{http_version} %{http_code}", https(path)},
                 {}, {}, 30s);
    if (version != nullptr) *version = r.out;
    return read_file(out);
  }

  double metric(const std::string& series) {
    const auto body = http_get(mirror_->ports().admin, "/metrics").body;
    // At a line's start: "# HELP NAME ..." names the series too.
    const auto at = body.find("\n" + series + " ");
    return at == std::string::npos ? 0.0 : std::stod(body.substr(at + series.size() + 2));
  }

  // The newest complete part of a rendition's playlist, and the next one's
  // blocking-reload query.
  std::pair<std::string, std::string> last_part_and_next(const std::string& playlist_path) {
    const auto text = http_get(mirror_->ports().http, playlist_path).body;
    std::smatch m;
    std::string last;
    long long msn = 0;
    int part = 0;
    const std::regex re(R"#(#EXT-X-PART:[^\n]*URI="(part-(\d+)\.(\d+)\.m4s)")#");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
         ++it) {
      last = (*it)[1];
      msn = std::stoll((*it)[2]);
      part = std::stoi((*it)[3]);
    }
    return {last, "_HLS_msn=" + std::to_string(msn) + "&_HLS_part=" + std::to_string(part + 1)};
  }

  std::unique_ptr<MirrorInstance> mirror_;
  std::unique_ptr<Process> sender_;
};

TEST_F(HttpsDelivery, Http2AndHttp1OverTlsServeTheBytesOfPlainHttp) {
  if (!fs::exists("/usr/bin/curl") || !fs::exists("/usr/bin/ffmpeg"))
    GTEST_SKIP() << "curl or ffmpeg missing";
  start();
  publish("cam");
  const auto [part, next] = last_part_and_next("/streams/cam/source/playlist.m3u8");
  ASSERT_FALSE(part.empty());
  const std::string path = "/streams/cam/source/" + part;
  const auto plain = http_get(mirror_->ports().http, path);
  ASSERT_EQ(plain.status, 200);
  std::string v2;
  std::string v1;
  EXPECT_EQ(curl(path, "--http2", &v2), plain.body);
  EXPECT_EQ(v2, "2 200");
  EXPECT_EQ(curl(path, "--http1.1", &v1), plain.body);
  EXPECT_EQ(v1, "1.1 200");
  // A playlist, a HEAD request and a 404 with its JSON body, over HTTP/2.
  std::string v;
  EXPECT_NE(curl("/streams/cam/source/playlist.m3u8", "--http2", &v).find("#EXT-X-PART-INF"),
            std::string::npos);
  EXPECT_EQ(v, "2 200");
  auto head = run({"/usr/bin/curl", "-skI", "--http2", https(path)}, {}, {}, 30s);
  EXPECT_NE(head.out.find("content-length: " + std::to_string(plain.body.size())),
            std::string::npos)
      << head.out;
  EXPECT_NE(curl("/streams/nope/index.m3u8", "--http2", &v).find("\"NOT_FOUND\""),
            std::string::npos);
  EXPECT_EQ(v, "2 404");
}

// nghttp sends every request on one connection: a blocking reload for the
// next part, the preload-hinted part and the one after, held side by side
// and answered as their parts appear.
TEST_F(HttpsDelivery, NghttpHoldsSeveralRequestsOnOneConnection) {
  if (!fs::exists("/usr/bin/nghttp") || !fs::exists("/usr/bin/ffmpeg"))
    GTEST_SKIP() << "nghttp or ffmpeg missing";
  start();
  publish("cam");
  const auto playlist = http_get(mirror_->ports().http, "/streams/cam/source/playlist.m3u8").body;
  std::smatch hint;
  ASSERT_TRUE(std::regex_search(
      playlist, hint, std::regex(R"#(PRELOAD-HINT:TYPE=PART,URI="(part-(\d+)\.(\d+)\.m4s)")#")))
      << playlist;
  const std::string hinted = hint[1];
  const auto [part, next] = last_part_and_next("/streams/cam/source/playlist.m3u8");
  auto r = run({"/usr/bin/nghttp", "-n", "-s", https("/streams/cam/source/playlist.m3u8?" + next),
                https("/streams/cam/source/" + hinted),
                https("/streams/cam/source/playlist.m3u8?" + next + "&_HLS_skip=YES"),
                https("/streams/cam/source/" + part)},
               {}, {}, 30s);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  std::istringstream lines(r.out);
  int ok = 0;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_search(line, std::regex(R"(\s200\s+\S+\s+/streams/cam/)"))) ++ok;
  }
  EXPECT_EQ(ok, 4) << r.out;
  // The connection was HTTP/2: its requests show in the route metrics as such.
  EXPECT_GE(metric("mirror_http_connections_total{server=\"delivery_tls\"}"), 1.0);
}

TEST_F(HttpsDelivery, RapidResetEndsTheConnectionAndOthersKeepPlaying) {
  start();
  H2RawClient client(mirror_->ports().https);
  ASSERT_TRUE(client.connected());
  EXPECT_EQ(client.alpn(), "h2");
  // HEADERS then RST_STREAM, over and over (CVE-2023-44487).
  for (std::uint32_t id = 1; id < 2 * 1000; id += 2) {
    client.queue_frame(kHeaders, 0x5, id,
                       H2RawClient::header_block({{":method", "GET"},
                                                  {":scheme", "https"},
                                                  {":authority", "127.0.0.1"},
                                                  {":path", "/streams"}}));
    client.queue_frame(0x3, 0, id, std::string("\0\0\0\x08", 4));
  }
  client.flush();
  EXPECT_EQ(client.wait_goaway(10s), kEnhanceYourCalm);
  EXPECT_TRUE(eventually(
      [&] {
        return metric(
                   "mirror_http_protocol_errors_total{server=\"delivery_tls\",reason=\"h2_rapid_"
                   "reset\"}") >= 1;
      },
      10s));
  EXPECT_EQ(http_get(mirror_->ports().http, "/streams").status, 200);
  std::string v;
  curl("/streams", "--http2", &v);
  EXPECT_EQ(v, "2 200");
}

TEST_F(HttpsDelivery, ContinuationFloodEndsTheConnection) {
  start();
  H2RawClient client(mirror_->ports().https);
  ASSERT_TRUE(client.connected());
  // A header block that never ends (CVE-2024-27316 class).
  client.queue_frame(
      kHeaders, 0x1, 1,
      H2RawClient::header_block({{":method", "GET"}, {":scheme", "https"}, {":path", "/streams"}}));
  for (int i = 0; i < 200; ++i)
    client.queue_frame(kContinuation, 0, 1, H2RawClient::header_block({{"x-a", "b"}}));
  client.flush();
  client.wait_goaway(10s);
  client.read_frame(2s);
  EXPECT_TRUE(client.closed());
  std::string v;
  curl("/streams", "--http2", &v);
  EXPECT_EQ(v, "2 200");
}

TEST_F(HttpsDelivery, PingAndSettingsFloodsEndTheConnection) {
  start();
  for (std::uint8_t type : {std::uint8_t{0x6}, std::uint8_t{0x4}}) {
    H2RawClient client(mirror_->ports().https);
    ASSERT_TRUE(client.connected());
    for (int i = 0; i < 5000; ++i)
      client.queue_frame(type, 0, 0, type == 0x6 ? std::string(8, '\0') : std::string());
    client.flush();
    EXPECT_EQ(client.wait_goaway(10s), kEnhanceYourCalm) << int(type);
  }
  EXPECT_TRUE(eventually(
      [&] {
        return metric(
                   "mirror_http_protocol_errors_total{server=\"delivery_tls\",reason=\"h2_control_"
                   "flood\"}") >= 2;
      },
      10s));
}

TEST_F(HttpsDelivery, TenThousandStreamsOnOneConnectionAreContained) {
  start();
  H2RawClient client(mirror_->ports().https);
  ASSERT_TRUE(client.connected());
  const auto block = H2RawClient::header_block({{":method", "GET"},
                                                {":scheme", "https"},
                                                {":authority", "127.0.0.1"},
                                                {":path", "/health"}});
  for (std::uint32_t i = 0; i < 10000; ++i) client.queue_frame(kHeaders, 0x5, 2 * i + 1, block);
  client.flush();
  // The server answers what it accepted, refuses the rest (beyond
  // SETTINGS_MAX_CONCURRENT_STREAMS) and stays up for others.
  int frames = 0;
  while (client.read_frame(3s)) ++frames;
  EXPECT_GT(frames, 0);
  EXPECT_EQ(http_get(mirror_->ports().http, "/streams").status, 200);
  std::string v;
  curl("/streams", "--http2", &v);
  EXPECT_EQ(v, "2 200");
}

// A client that opens no flow-control window (SETTINGS_INITIAL_WINDOW_SIZE 0)
// holds its answer on the server: after write_timeout the connection goes.
TEST_F(HttpsDelivery, AZeroWindowClientIsDroppedAfterTheWriteTimeout) {
  if (!fs::exists("/usr/bin/ffmpeg")) GTEST_SKIP() << "ffmpeg missing";
  start({{"MIRROR_SERVER_WRITE_TIMEOUT", "2s"}});
  publish("cam");
  const auto [part, next] = last_part_and_next("/streams/cam/source/playlist.m3u8");
  H2RawClient client(mirror_->ports().https, {{0x4, 0}});
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_get(1, "/streams/cam/source/" + part));
  while (client.read_frame(8s)) {
  }
  EXPECT_TRUE(client.closed());
  EXPECT_GE(
      metric("mirror_http_protocol_errors_total{server=\"delivery_tls\",reason=\"h2_stalled\"}"),
      1.0);
}

TEST_F(HttpsDelivery, OversizedHeadersGet431) {
  start();
  H2RawClient client(mirror_->ports().https);
  ASSERT_TRUE(client.connected());
  std::vector<std::pair<std::string, std::string>> extra;
  for (int i = 0; i < 150; ++i) extra.emplace_back("x-filler-" + std::to_string(i), "v");
  ASSERT_TRUE(client.send_get(1, "/streams", true, extra));
  std::optional<H2Frame> headers;
  while (auto f = client.read_frame(5s)) {
    if (f->type == kHeaders && f->stream == 1) {
      headers = f;
      break;
    }
  }
  ASSERT_TRUE(headers.has_value());
  // ":status: 431" as a literal or from the static table: either way the
  // digits are there, uncompressed (431 is not in the static table).
  EXPECT_NE(headers->payload.find("431"), std::string::npos);
}

TEST_F(HttpsDelivery, GarbageAndSlowHandshakesAreClosedAndCounted) {
  start({{"MIRROR_SERVER_READ_TIMEOUT", "2s"}});
  RawConnection garbage(mirror_->ports().https);
  ASSERT_TRUE(garbage.connected());
  garbage.send(std::string("\x16\x03\x01\x00\x05garbage-not-a-client-hello", 32));
  EXPECT_TRUE(garbage.wait_closed(5s));
  RawConnection slow(mirror_->ports().https);
  ASSERT_TRUE(slow.connected());
  EXPECT_TRUE(slow.wait_closed(10s));  // the handshake deadline (read_timeout here)
  EXPECT_TRUE(eventually(
      [&] {
        return metric(
                   "mirror_http_protocol_errors_total{server=\"delivery_tls\",reason=\"tls_"
                   "handshake\"}") >= 1 &&
               metric(
                   "mirror_http_protocol_errors_total{server=\"delivery_tls\",reason=\"tls_"
                   "handshake_timeout\"}") >= 1;
      },
      10s));
  std::string v;
  curl("/streams", "--http2", &v);
  EXPECT_EQ(v, "2 200");
}

// --- HTTP/3 on the same port number (UDP) ---

// A UDP relay between a QUIC client and Mirror that replays every Initial
// the client sends (twice more) and first sends two truncated copies of it:
// the handshake must survive both.
class InitialMangler {
 public:
  explicit InitialMangler(int server_port) {
    front_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    back_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(front_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(front_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    a.sin_port = htons(static_cast<std::uint16_t>(server_port));
    ::connect(back_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    thread_ = std::thread([this] { loop(); });
  }
  ~InitialMangler() {
    stop_ = true;
    thread_.join();
    ::close(front_);
    ::close(back_);
  }
  int port() const { return port_; }
  int initials() const { return initials_; }

 private:
  void loop() {
    std::vector<std::uint8_t> buf(65536);
    sockaddr_in client{};
    socklen_t client_len = 0;
    while (!stop_) {
      pollfd fds[2] = {{front_, POLLIN, 0}, {back_, POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      if ((fds[0].revents & POLLIN) != 0) {
        client_len = sizeof(client);
        const auto n = recvfrom(front_, buf.data(), buf.size(), 0,
                                reinterpret_cast<sockaddr*>(&client), &client_len);
        if (n <= 0) continue;
        const bool initial = (buf[0] & 0xf0) == 0xc0;
        if (initial && initials_++ == 0) {
          ::send(back_, buf.data(), 60, 0);
          ::send(back_, buf.data(), static_cast<std::size_t>(n) / 2, 0);
        }
        for (int copies = initial ? 3 : 1; copies > 0; --copies)
          ::send(back_, buf.data(), static_cast<std::size_t>(n), 0);
      }
      if ((fds[1].revents & POLLIN) != 0) {
        const auto n = recv(back_, buf.data(), buf.size(), 0);
        if (n > 0 && client_len > 0) {
          sendto(front_, buf.data(), static_cast<std::size_t>(n), 0,
                 reinterpret_cast<sockaddr*>(&client), client_len);
        }
      }
    }
  }

  int front_ = -1;
  int back_ = -1;
  int port_ = 0;
  std::atomic<int> initials_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// One datagram to Mirror's QUIC port; the answer, if one comes within 2 s.
std::optional<std::vector<std::uint8_t>> udp_exchange(int port,
                                                      const std::vector<std::uint8_t>& datagram) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  pollfd p{fd, POLLIN, 0};
  std::optional<std::vector<std::uint8_t>> answer;
  if (::poll(&p, 1, 2000) > 0) {
    std::vector<std::uint8_t> buf(2048);
    const auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n > 0) answer = std::vector<std::uint8_t>(buf.begin(), buf.begin() + n);
  }
  ::close(fd);
  return answer;
}

class Http3Delivery : public HttpsDelivery {
 protected:
  // gtlsclient (ngtcp2's example client) fetches `paths` on one connection
  // into `dir`; true when it exits cleanly.
  bool gtlsclient(const std::vector<std::string>& paths, const std::string& dir, int port = 0,
                  std::vector<std::string> extra = {}) {
    fs::create_directories(dir);
    const int p = port != 0 ? port : mirror_->ports().https;
    std::vector<std::string> argv = {"/usr/bin/gtlsclient", "-q", "--exit-on-all-streams-close",
                                     "--download=" + dir};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"127.0.0.1", std::to_string(p)});
    for (const auto& path : paths) argv.push_back("https://127.0.0.1:" + std::to_string(p) + path);
    auto r = run(argv, {}, {}, 30s);
    return r.status == 0;
  }
  static bool available() {
    return fs::exists("/usr/bin/gtlsclient") && fs::exists("/usr/bin/ffmpeg");
  }
};

// ngtcp2's client gets the bytes plain HTTP/1.1 serves, with a blocking
// playlist reload and the preload-hinted part held side by side on one
// connection; HTTPS answers name HTTP/3 in Alt-Svc.
TEST_F(Http3Delivery, GtlsclientGetsTheBytesOfPlainHttpAndHeldAnswers) {
  if (!available()) GTEST_SKIP() << "gtlsclient or ffmpeg missing";
  start();
  // Open-GOP HEVC from x265's defaults (CRA pictures, leading pictures).
  publish("cam", {"-c:v", "libx265", "-preset", "fast", "-x265-params", "keyint=60:log-level=error"});
  const auto [part, next] = last_part_and_next("/streams/cam/source/playlist.m3u8");
  ASSERT_FALSE(part.empty());
  const std::string dir = mirror_->dir() + "/h3";
  ASSERT_TRUE(gtlsclient({"/streams/cam/source/" + part}, dir));
  const auto plain = http_get(mirror_->ports().http, "/streams/cam/source/" + part);
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(read_file(dir + "/" + part), plain.body);

  // The next part is not there yet: both requests wait for it.
  const std::string playlist =
      http_get(mirror_->ports().http, "/streams/cam/source/playlist.m3u8").body;
  std::smatch hint;
  ASSERT_TRUE(std::regex_search(playlist, hint,
                                std::regex(R"#(PRELOAD-HINT:TYPE=PART,URI="(part-[0-9.]+m4s)")#")));
  const std::string hinted = hint[1];
  const std::string held = "/streams/cam/source/playlist.m3u8?" + next;
  ASSERT_TRUE(gtlsclient({held, "/streams/cam/source/" + hinted}, dir));
  EXPECT_NE(read_file(dir + "/playlist.m3u8?" + next).find(hinted), std::string::npos);
  EXPECT_EQ(read_file(dir + "/" + hinted),
            http_get(mirror_->ports().http, "/streams/cam/source/" + hinted).body);

  auto head =
      run({"/usr/bin/curl", "-skI", "--http2", https("/streams/cam/source/" + part)}, {}, {}, 30s);
  EXPECT_NE(
      head.out.find("alt-svc: h3=\":" + std::to_string(mirror_->ports().https) + "\"; ma=86400"),
      std::string::npos)
      << head.out;
  EXPECT_EQ(http_get(mirror_->ports().http, "/streams/cam/source/" + part).headers.count("alt-svc"),
            0u);
}

// Datagrams that are not QUIC, versions Mirror does not speak, packets of
// connections it does not know, truncated and replayed Initials: each is
// answered statelessly or dropped, counted, and a real client right after
// is served.
TEST_F(Http3Delivery, StrayDatagramsAndMangledInitialsAreContained) {
  if (!available()) GTEST_SKIP() << "gtlsclient or ffmpeg missing";
  start();
  publish("cam");
  const int port = mirror_->ports().https;
  std::mt19937 random(7);
  for (int i = 0; i < 50; ++i) {
    std::vector<std::uint8_t> junk(1 + random() % 1400);
    for (auto& b : junk) b = static_cast<std::uint8_t>(random());
    junk[0] &= 0x3f;  // no long-header bit: never mistaken for a new connection
    udp_exchange(port, junk);
  }
  // An Initial-sized packet of an unknown version: version negotiation.
  std::vector<std::uint8_t> unknown(1200, 0);
  const std::vector<std::uint8_t> head = {0xc0, 0xfa, 0xce, 0xb0, 0x0c, 8, 1, 2, 3, 4, 5, 6,
                                          7,    8,    8,    9,    9,    9, 9, 9, 9, 9, 9};
  std::copy(head.begin(), head.end(), unknown.begin());
  auto vn = udp_exchange(port, unknown);
  ASSERT_TRUE(vn.has_value());
  ASSERT_GE(vn->size(), 7u);
  EXPECT_EQ((*vn)[1] | (*vn)[2] | (*vn)[3] | (*vn)[4], 0) << "version 0 marks version negotiation";
  // A short-header packet for an unknown connection: a smaller stateless reset.
  std::vector<std::uint8_t> stranger(100);
  for (auto& b : stranger) b = static_cast<std::uint8_t>(random());
  stranger[0] = 0x41;
  auto reset = udp_exchange(port, stranger);
  ASSERT_TRUE(reset.has_value());
  EXPECT_LT(reset->size(), stranger.size());
  EXPECT_EQ((*reset)[0] & 0xc0, 0x40);

  InitialMangler mangler(port);
  const auto [part, next] = last_part_and_next("/streams/cam/source/playlist.m3u8");
  ASSERT_TRUE(
      gtlsclient({"/streams/cam/source/" + part}, mirror_->dir() + "/mangled", mangler.port()));
  EXPECT_GT(mangler.initials(), 0);
  EXPECT_EQ(read_file(mirror_->dir() + "/mangled/" + part),
            http_get(mirror_->ports().http, "/streams/cam/source/" + part).body);
  const std::string series = "mirror_quic_stateless_packets_total{server=\"delivery_h3\",kind=\"";
  // Every stray datagram is accounted for: dropped, or answered statelessly.
  double stray = 0;
  for (const char* kind :
       {"not_quic", "unknown_connection", "stateless_reset", "version_negotiation"}) {
    stray += metric(series + kind + "\"}");
  }
  EXPECT_GE(stray, 52);
  EXPECT_GE(metric(series + "version_negotiation\"}"), 1);
  EXPECT_GE(metric(series + "stateless_reset\"}"), 1);
}

// With server.quic.retry "always", a new client first proves its address
// (Retry), then is served; a client that moves to a new address mid-way
// (path validation, possibly landing on another event loop's socket) keeps
// its connection.
TEST_F(Http3Delivery, RetryAndMigrationKeepClientsServed) {
  if (!available()) GTEST_SKIP() << "gtlsclient or ffmpeg missing";
  start({{"MIRROR_SERVER_QUIC_RETRY", "always"}});
  publish("cam");
  const auto [part, next] = last_part_and_next("/streams/cam/source/playlist.m3u8");
  ASSERT_TRUE(gtlsclient({"/streams/cam/source/" + part}, mirror_->dir() + "/retry"));
  EXPECT_GE(metric("mirror_quic_stateless_packets_total{server=\"delivery_h3\",kind=\"retry\"}"),
            1);
  ASSERT_TRUE(gtlsclient({"/streams/cam/source/" + part}, mirror_->dir() + "/moved", 0,
                         {"--change-local-addr=100ms", "--delay-stream=400ms"}));
  EXPECT_EQ(read_file(mirror_->dir() + "/moved/" + part),
            http_get(mirror_->ports().http, "/streams/cam/source/" + part).body);
}

// server.quic.enabled false: no HTTP/3 socket, and no Alt-Svc pointing at one.
TEST_F(Http3Delivery, DisabledQuicLeavesTheUdpPortAloneAndSendsNoAltSvc) {
  if (!fs::exists("/usr/bin/curl")) GTEST_SKIP() << "curl missing";
  start({{"MIRROR_SERVER_QUIC_ENABLED", "false"}});
  auto head = run({"/usr/bin/curl", "-skI", "--http2", https("/")}, {}, {}, 30s);
  EXPECT_NE(head.out.find("HTTP/2 200"), std::string::npos) << head.out;
  EXPECT_EQ(head.out.find("alt-svc"), std::string::npos) << head.out;
  // An Initial-sized packet of an unknown version would get version
  // negotiation from a QUIC server; nothing listens.
  std::vector<std::uint8_t> probe(1200, 0);
  const std::vector<std::uint8_t> start = {0xc0, 0xfa, 0xce, 0xb0, 0x0c, 8, 1, 2,
                                           3,    4,    5,    6,    7,    8, 0};
  std::copy(start.begin(), start.end(), probe.begin());
  EXPECT_FALSE(udp_exchange(mirror_->ports().https, probe).has_value());
  // Nothing holds the UDP port: it can be bound again.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(static_cast<std::uint16_t>(mirror_->ports().https));
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(fd);
}

// A server asked to stop while an HTTP/3 request is held (a blocking reload
// for a part a second ahead): GOAWAY, the request still gets its playlist
// once the part exists, and the server exits cleanly.
TEST_F(Http3Delivery, ShutdownLetsAHeldRequestFinish) {
  if (!available()) GTEST_SKIP() << "gtlsclient or ffmpeg missing";
  start();
  // B-frames at 29.97 fps: parts end where the source's frames let them.
  publish("cam", {"-c:v", "libx264", "-preset", "veryfast", "-g", "30"}, "30000/1001");
  const std::string playlist =
      http_get(mirror_->ports().http, "/streams/cam/source/playlist.m3u8").body;
  std::smatch hint;
  ASSERT_TRUE(std::regex_search(
      playlist, hint, std::regex(R"#(PRELOAD-HINT:TYPE=PART,URI="part-(\d+)\.(\d+)\.m4s")#")));
  const long long next_segment = std::stoll(hint[1]) + 1;
  const std::string held =
      "/streams/cam/source/playlist.m3u8?_HLS_msn=" + std::to_string(next_segment) + "&_HLS_part=2";
  const std::string dir = mirror_->dir() + "/held";
  fs::create_directories(dir);
  const int port = mirror_->ports().https;
  Process client({"/usr/bin/gtlsclient", "-q", "--exit-on-all-streams-close", "--download=" + dir,
                  "127.0.0.1", std::to_string(port),
                  "https://127.0.0.1:" + std::to_string(port) + held});
  ASSERT_TRUE(eventually([&] { return metric("mirror_hls_held_requests") >= 1; }, 10s));
  mirror_->process().signal(SIGTERM);
  const auto exited = mirror_->process().wait(20s);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(*exited, 0) << mirror_->process().stderr_text();
  const auto client_exit = client.wait(10s);
  ASSERT_TRUE(client_exit.has_value());
  EXPECT_EQ(*client_exit, 0);
  EXPECT_NE(
      read_file(dir + "/playlist.m3u8?_HLS_msn=" + std::to_string(next_segment) + "&_HLS_part=2")
          .find("part-" + std::to_string(next_segment) + ".2.m4s"),
      std::string::npos);
}

// A ClientHello scrambled inside a correctly protected Initial fails the
// handshake (CONNECTION_CLOSE with a TLS alert), a client that sends its
// first Initial and then goes silent is forgotten at the handshake
// deadline, and both are counted; a real client right after is served.
TEST_F(Http3Delivery, GarbageAndSilentHandshakesAreClosedAndCounted) {
  if (!available()) GTEST_SKIP() << "gtlsclient or ffmpeg missing";
  start({{"MIRROR_SERVER_READ_TIMEOUT", "2s"}});
  const int port = mirror_->ports().https;
  const auto garbage = run_quic_probe(port, QuicMisbehaviour::kGarbageClientHello, 5s);
  EXPECT_TRUE(garbage.error.empty()) << garbage.error;
  EXPECT_FALSE(garbage.handshake_completed);
  ASSERT_TRUE(garbage.closed_by_server);
  EXPECT_FALSE(garbage.application_close);
  // CRYPTO_ERROR: 0x100 plus the TLS alert.
  EXPECT_GE(garbage.close_code, 0x100u);
  EXPECT_LT(garbage.close_code, 0x200u);
  const auto silent = run_quic_probe(port, QuicMisbehaviour::kSilentAfterInitial, 500ms);
  EXPECT_TRUE(silent.error.empty()) << silent.error;
  EXPECT_FALSE(silent.handshake_completed);
  const std::string series = "mirror_http_protocol_errors_total{server=\"delivery_h3\",reason=\"";
  EXPECT_TRUE(eventually(
      [&] {
        return metric(series + "quic_handshake\"}") >= 1 &&
               metric(series + "quic_handshake_timeout\"}") >= 1;
      },
      10s));
  ASSERT_TRUE(gtlsclient({"/streams"}, mirror_->dir() + "/after"));
  EXPECT_NE(read_file(mirror_->dir() + "/after/streams").find("\"streams\""), std::string::npos);
}

// A client that acknowledges packets but never reads (no flow-control
// credit beyond the first KiB of a part) holds its answer on the server:
// after write_timeout the connection is closed and counted.
TEST_F(Http3Delivery, AClientThatStopsReadingIsClosedAfterTheWriteTimeout) {
  if (!available()) GTEST_SKIP() << "gtlsclient or ffmpeg missing";
  start({{"MIRROR_SERVER_WRITE_TIMEOUT", "2s"}});
  publish("cam");
  const auto [part, next] = last_part_and_next("/streams/cam/source/playlist.m3u8");
  ASSERT_FALSE(part.empty());
  const auto full = http_get(mirror_->ports().http, "/streams/cam/source/" + part).body;
  ASSERT_GT(full.size(), 4096u);
  const auto r = run_quic_probe(mirror_->ports().https, QuicMisbehaviour::kStopsReading, 15s,
                                "/streams/cam/source/" + part, 1024);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.handshake_completed);
  EXPECT_TRUE(r.closed_by_server);
  EXPECT_LE(r.answer_bytes, 1024u);
  EXPECT_GE(
      metric("mirror_http_protocol_errors_total{server=\"delivery_h3\",reason=\"h3_stalled\"}"),
      1.0);
}

// One connection asks for 10,000 objects: QUIC's stream credit keeps at
// most server.quic.max_bidi_streams of them open at once, every one is
// answered, and the server serves others meanwhile.
TEST_F(Http3Delivery, TenThousandStreamsOnOneConnectionAreServedWithinTheStreamLimit) {
  if (!available()) GTEST_SKIP() << "gtlsclient or ffmpeg missing";
  start({{"MIRROR_SERVER_QUIC_MAX_BIDI_STREAMS", "100"}});
  const std::string dir = mirror_->dir() + "/flood";
  fs::create_directories(dir);
  const int port = mirror_->ports().https;
  Process flood({"/usr/bin/gtlsclient", "-q", "--exit-on-all-streams-close", "--no-http-dump",
                 "--no-quic-dump", "-n", "10000", "127.0.0.1", std::to_string(port),
                 "https://127.0.0.1:" + std::to_string(port) + "/streams"});
  ASSERT_TRUE(gtlsclient({"/streams"}, mirror_->dir() + "/beside"));
  const auto exited = flood.wait(120s);
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(*exited, 0) << flood.stderr_text();
  // Every request of the flood was answered with 200 (the one beside it
  // too), as the server counts them when their streams end.
  const auto answered = [&] {
    const auto metrics = http_get(mirror_->ports().admin, "/metrics").body;
    double sum = 0;
    const std::regex line(R"(\nmirror_http_requests_total\{([^}]*)\} ([0-9.e+]+))");
    for (auto it = std::sregex_iterator(metrics.begin(), metrics.end(), line);
         it != std::sregex_iterator(); ++it) {
      const std::string labels = (*it)[1];
      if (labels.find("route=\"/streams\"") != std::string::npos &&
          labels.find("status=\"200\"") != std::string::npos) {
        sum += std::stod((*it)[2]);
      }
    }
    return sum;
  };
  EXPECT_TRUE(eventually([&] { return answered() >= 10001.0; }, 10s)) << answered();
}

// The subject of the certificate the HTTPS port presents, as openssl says it.
std::string served_subject(int port) {
  auto r = run({"/bin/sh", "-c",
                "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                    " </dev/null 2>/dev/null | openssl x509 -noout -subject"},
               {}, {}, 30s);
  return r.out;
}

void make_certificate(const std::string& dir, const std::string& name) {
  auto r = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/" + name + ".key",
                "-out", dir + "/" + name + ".crt", "-days", "2", "-subj", "/CN=" + name, "-addext",
                "subjectAltName=IP:127.0.0.1"},
               {}, {}, 30s);
  ASSERT_EQ(r.status, 0) << r.err;
}

// SIGHUP reads a configured certificate again: new connections get the new
// one, an open connection goes on, and files that do not load leave the
// current certificate in place.
TEST(HttpsCertificate, SighupReloadsTheCertificateWithoutDroppingConnections) {
  if (!fs::exists("/usr/bin/openssl")) GTEST_SKIP() << "openssl missing";
  const std::string dir = make_temp_dir("mirror-certs");
  make_certificate(dir, "first");
  make_certificate(dir, "second");
  const std::string cert = dir + "/served.crt";
  const std::string key = dir + "/served.key";
  fs::copy_file(dir + "/first.crt", cert);
  fs::copy_file(dir + "/first.key", key);
  MirrorInstance mirror("  tls_cert_file: " + cert + "\n  tls_key_file: " + key + "\n");
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  const int port = mirror.ports().https;
  EXPECT_NE(served_subject(port).find("first"), std::string::npos);

  H2RawClient open_connection(port);
  ASSERT_TRUE(open_connection.connected());
  fs::copy_file(dir + "/second.crt", cert, fs::copy_options::overwrite_existing);
  fs::copy_file(dir + "/second.key", key, fs::copy_options::overwrite_existing);
  mirror.process().signal(SIGHUP);
  EXPECT_TRUE(
      eventually([&] { return served_subject(port).find("second") != std::string::npos; }, 10s));
  ASSERT_TRUE(open_connection.send_get(1, "/streams"));
  bool answered = false;
  while (auto f = open_connection.read_frame(5s)) {
    if (f->type == kHeaders && f->stream == 1) {
      answered = true;
      break;
    }
  }
  EXPECT_TRUE(answered);

  write_file(cert, "not a certificate");
  mirror.process().signal(SIGHUP);
  EXPECT_TRUE(eventually(
      [&] {
        return mirror.process().stderr_text().find("TLS certificate not reloaded") !=
               std::string::npos;
      },
      10s));
  EXPECT_NE(served_subject(port).find("second"), std::string::npos);
}

}  // namespace
}  // namespace mirror::testing
