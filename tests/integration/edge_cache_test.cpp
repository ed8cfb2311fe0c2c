// Mirror behind a real edge: Debian's Varnish with the shipped configuration
// (configs/varnish/mirror.vcl), on loopback. 200 LL-HLS clients (blocking
// playlist reloads, then the part they name) read through it, and Mirror
// sees only a few requests per object: identical requests wait on the one
// that went to the origin and are answered together.
#include "mirror_fixture.h"
#include "support/fixtures.h"
#include "support/varnish.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct ClientTally {
  std::atomic<long long> requests{0};
  std::atomic<long long> failures{0};
  std::mutex mutex;
  std::set<std::string> objects;  // every distinct URL asked for
};

// The preload-hinted part of a playlist: {msn, part}. Plain string search:
// std::regex in 200 threads at once trips libstdc++'s lazily filled locale
// cache (a benign race that TSan reports).
std::optional<std::pair<std::string, std::string>> preload_hint(const std::string& playlist) {
  const std::string tag = "PRELOAD-HINT:TYPE=PART,URI=\"part-";
  const auto at = playlist.find(tag);
  if (at == std::string::npos) return std::nullopt;
  const auto dot = playlist.find('.', at + tag.size());
  const auto end = playlist.find(".m4s", at + tag.size());
  if (dot == std::string::npos || end == std::string::npos || dot > end) return std::nullopt;
  return std::make_pair(playlist.substr(at + tag.size(), dot - at - tag.size()),
                        playlist.substr(dot + 1, end - dot - 1));
}

// One LL-HLS viewer: reads the playlist, then, until `until`, asks for the
// preload-hinted part's blocking reload and then that part, as hls.js does.
void viewer(int port, const std::string& base, std::chrono::steady_clock::time_point until,
            ClientTally& tally) {
  RawConnection c(port);
  auto get = [&](const std::string& path) -> std::optional<HttpReply> {
    if (!c.send("GET " + path + " HTTP/1.1\r\nHost: edge\r\n\r\n")) return std::nullopt;
    auto reply = c.read_reply(10s);
    ++tally.requests;
    if (!reply || reply->status != 200) {
      ++tally.failures;
      return std::nullopt;
    }
    std::lock_guard lock(tally.mutex);
    tally.objects.insert(path);
    return reply;
  };
  auto playlist = get(base + "playlist.m3u8");
  std::optional<std::pair<std::string, std::string>> hint;
  while (playlist && std::chrono::steady_clock::now() < until &&
         (hint = preload_hint(playlist->body))) {
    const auto& [msn, part] = *hint;
    playlist = get(base + "playlist.m3u8?_HLS_msn=" + msn + "&_HLS_part=" + part);
    if (!playlist || !get(base + "part-" + msn + "." + part + ".m4s")) break;
  }
}

TEST(EdgeCache, VarnishCollapsesTwoHundredLlHlsViewersIntoAFewOriginRequestsPerObject) {
  if (!fs::exists("/usr/sbin/varnishd") || !fs::exists("/usr/bin/ffmpeg"))
    GTEST_SKIP() << "varnish or ffmpeg missing";
  MirrorInstance mirror;
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  // B-frames (x264's veryfast: 3) at 29.97 fps, with audio, as encoders in the field send.
  Process sender(live_srt_sender(mirror.ports().srt, "edge", "30000/1001",
                                 {"-c:v", "libx264", "-preset", "veryfast", "-g", "30"}));
  const std::string base = "/streams/edge/source/";
  ASSERT_TRUE(eventually(
      [&] { return http_get(mirror.ports().http, base + "playlist.m3u8").status == 200; }, 30s))
      << mirror.process().stderr_text();
  Varnish edge(source_dir() + "/configs/varnish/mirror.vcl", mirror.ports().http, mirror.dir());
  ASSERT_TRUE(
      eventually([&] { return http_get(edge.port(), base + "playlist.m3u8").status == 200; }, 20s))
      << edge.process().stderr_text();
  const long long origin_before = edge.stat("MAIN.backend_req");

  ClientTally tally;
  const auto until = std::chrono::steady_clock::now() + 6s;
  std::vector<std::thread> viewers;
  for (int i = 0; i < 200; ++i)
    viewers.emplace_back([&] { viewer(edge.port(), base, until, tally); });
  for (auto& t : viewers) t.join();

  const long long origin = edge.stat("MAIN.backend_req") - origin_before;
  const auto objects = static_cast<long long>(tally.objects.size());
  std::cout << "edge: " << tally.requests << " client requests, " << objects << " objects, "
            << origin << " origin requests, " << edge.stat("MAIN.cache_hit") << " hits, "
            << edge.stat("MAIN.busy_wakeup") << " waiters woken\n";
  EXPECT_EQ(tally.failures, 0);
  // Every viewer followed the stream for several parts (fewer under a
  // sanitizer, which slows the server down).
  EXPECT_GT(tally.requests, 200 * 2 * 3);
  EXPECT_GT(objects, 6);
  // The plain playlist each viewer reads once at its start is not kept
  // (no-cache); every other object costs the origin a few requests at most.
  const long long repeat = origin - 200;
  EXPECT_LE(repeat, 3 * objects) << "origin requests " << origin << " for " << objects
                                 << " objects";
  EXPECT_LE(repeat * 20, tally.requests - 200)
      << "the edge should take at least 95% of the requests";
  sender.signal(SIGKILL);
}

}  // namespace
}  // namespace mirror::testing
