// An SSRC spray at the shared RTP port (null TS packets under 40 SSRCs, the
// kind of traffic any scanner sends) must not take stream slots: a real SRT
// publisher that comes after it is accepted.
#include "mirror_fixture.h"
#include "support/fixtures.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

// An RTP packet (PT 33) carrying seven null TS packets.
std::vector<std::uint8_t> null_ts_rtp(std::uint32_t ssrc, std::uint16_t seq) {
  std::vector<std::uint8_t> d = {0x80, 33, static_cast<std::uint8_t>(seq >> 8), static_cast<std::uint8_t>(seq),
                                 0, 0, 0, 0,
                                 static_cast<std::uint8_t>(ssrc >> 24), static_cast<std::uint8_t>(ssrc >> 16),
                                 static_cast<std::uint8_t>(ssrc >> 8), static_cast<std::uint8_t>(ssrc)};
  for (int i = 0; i < 7; ++i) {
    const std::uint8_t header[4] = {0x47, 0x1f, 0xff, 0x10};
    d.insert(d.end(), header, header + 4);
    d.insert(d.end(), 184, 0xff);
  }
  return d;
}

TEST(RtpSpray, NullPacketsUnderManySsrcsNeverRefuseARealPublisher) {
  if (!std::filesystem::exists("/usr/bin/ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  MirrorInstance m("", {{"MIRROR_INGESTION_MAX_STREAMS", "3"}, {"MIRROR_TRANSCODING_ENABLED", "false"}});
  ASSERT_TRUE(m.wait_ready()) << m.process().stderr_text();

  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(m.ports().rtp));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 200; ++i) {
    const auto d = null_ts_rtp(0x5eed0000u + static_cast<std::uint32_t>(i % 40), static_cast<std::uint16_t>(i));
    ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  ::close(fd);
  // The datagrams were read and held as candidates, none as a stream.
  ASSERT_TRUE(eventually([&] {
    return http_get(m.ports().admin, "/metrics").body.find("mirror_rtp_undeclared_pending_datagrams_total 200") !=
           std::string::npos;
  })) << http_get(m.ports().admin, "/metrics").body;
  auto list = nlohmann::json::parse(http_get(m.ports().admin, "/api/v1/streams").body);
  EXPECT_EQ(list["streams"].size(), 0u) << list.dump();

  // A real publisher over SRT gets its slot.
  Process sender(live_srt_sender(m.ports().srt, "real"));
  EXPECT_TRUE(eventually(
      [&] { return http_get(m.ports().http, "/streams/real/source/playlist.m3u8").status == 200; }, 20s))
      << m.process().stderr_text();
  sender.signal(SIGKILL);
}

}  // namespace
}  // namespace mirror::testing
