#include "api/playback_access.h"

#include "core/metrics.h"
#include "recording_exchange.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace mirror::api {
namespace {

using namespace std::chrono_literals;
using testing::RecordingExchange;

constexpr std::string_view kSecret = "0123456789abcdef-secret";

TEST(PlaybackToken, OpensOneStreamUntilItExpires) {
  const auto now = std::chrono::system_clock::now();
  const auto token = mint_playback_token(kSecret, "cam1", now + 1h);
  EXPECT_EQ(check_playback_token(kSecret, "cam1", token, now), TokenVerdict::kValid);
  EXPECT_EQ(check_playback_token(kSecret, "cam2", token, now), TokenVerdict::kWrong);
  EXPECT_EQ(check_playback_token("another-secret-entirely", "cam1", token, now), TokenVerdict::kWrong);
  EXPECT_EQ(check_playback_token(kSecret, "cam1", token, now + 2h), TokenVerdict::kExpired);
  EXPECT_EQ(check_playback_token(kSecret, "cam1", "", now), TokenVerdict::kMissing);
}

// A wall's token is signed for "*": it opens every stream, and no stream's
// own token opens another.
TEST(PlaybackToken, AWallTokenOpensEveryStream) {
  const auto now = std::chrono::system_clock::now();
  const auto wall = mint_playback_token(kSecret, "*", now + 1h);
  for (const char* stream : {"cam1", "cam2", "a-very-long-stream-name_0123456789"}) {
    EXPECT_EQ(check_playback_token(kSecret, stream, wall, now), TokenVerdict::kValid) << stream;
  }
  EXPECT_EQ(check_playback_token(kSecret, "cam1", wall, now + 2h), TokenVerdict::kExpired);
  EXPECT_EQ(check_playback_token("another-secret-entirely", "cam1", wall, now), TokenVerdict::kWrong);
  const auto one = mint_playback_token(kSecret, "cam1", now + 1h);
  EXPECT_EQ(check_playback_token(kSecret, "*", one, now), TokenVerdict::kWrong);
}

TEST(PlaybackToken, AForgedExpiryOrMalformedTokenIsRefused) {
  const auto now = std::chrono::system_clock::now();
  const auto token = mint_playback_token(kSecret, "cam1", now - 1s);
  EXPECT_EQ(check_playback_token(kSecret, "cam1", token, now), TokenVerdict::kExpired);
  const auto later = "9999999999" + token.substr(token.find('.'));
  EXPECT_EQ(check_playback_token(kSecret, "cam1", later, now), TokenVerdict::kWrong);
  for (const std::string& bad : std::vector<std::string>{".", "abc", "12.", ".sig", "-5.sig", "1x.sig", "99999999999999.sig",
                          std::string(200, '1') + ".x", std::string("1\0.x", 4)}) {
    const auto v = check_playback_token(kSecret, "cam1", bad, now);
    EXPECT_TRUE(v == TokenVerdict::kMalformed || v == TokenVerdict::kWrong) << bad;
  }
}

TEST(PlaybackToken, TravelsIntoEveryUriOfAPlaylist) {
  const std::string media =
      "#EXTM3U\n"
      "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
      "#EXT-X-PART:DURATION=0.1,URI=\"part-7.0.m4s\",INDEPENDENT=YES\n"
      "#EXTINF:1.0,\n"
      "seg-7.m4s\n"
      "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-8.1.m4s\"\n"
      "#EXT-X-RENDITION-REPORT:URI=\"../audio/playlist.m3u8\",LAST-MSN=8,LAST-PART=0\n"
      "#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n"
      "other.m4s?x=1\r\n";
  const auto out = add_query_to_uris(media, "token=T.S");
  EXPECT_EQ(out,
            "#EXTM3U\n"
            "#EXT-X-MAP:URI=\"init-0.mp4?token=T.S\"\n"
            "#EXT-X-PART:DURATION=0.1,URI=\"part-7.0.m4s?token=T.S\",INDEPENDENT=YES\n"
            "#EXTINF:1.0,\n"
            "seg-7.m4s?token=T.S\n"
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-8.1.m4s?token=T.S\"\n"
            "#EXT-X-RENDITION-REPORT:URI=\"../audio/playlist.m3u8?token=T.S\",LAST-MSN=8,LAST-PART=0\n"
            "#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n"
            "other.m4s?x=1&token=T.S\r\n");
  EXPECT_EQ(add_query_to_uris("", "token=x"), "");
  EXPECT_EQ(add_query_to_uris("#EXT-X-MEDIA:URI=\"unterminated", "token=x"), "#EXT-X-MEDIA:URI=\"unterminated");
  EXPECT_EQ(add_query_to_uris("a\n\nb", "t=1"), "a?t=1\n\nb?t=1");
}

struct Filtered {
  bool passed = false;
  int status = 0;
  std::string code;
  std::string cache;
};

Filtered filter(const http::Filter& f, std::string path, std::string query = {}) {
  http::Request r;
  r.method = "GET";
  r.path = std::move(path);
  r.query = std::move(query);
  auto ex = std::make_shared<RecordingExchange>(std::move(r));
  Filtered out;
  out.passed = f(ex);
  out.status = ex->response.status;
  if (const auto body = nlohmann::json::parse(ex->response.body, nullptr, false); body.is_object()) {
    out.code = body.value("code", "");
  }
  out.cache = std::string(ex->response.headers.get("Cache-Control").value_or(""));
  return out;
}

TEST(PlaybackAccess, StreamsNeedATokenWhenASecretIsSet) {
  core::MetricsRegistry metrics;
  const auto f = playback_access_filter(std::string(kSecret), metrics);
  const auto token = mint_playback_token(kSecret, "cam1", std::chrono::system_clock::now() + 1h);
  EXPECT_TRUE(filter(f, "/streams/cam1/index.m3u8", "token=" + token).passed);
  EXPECT_TRUE(filter(f, "/streams/cam1/360p/part-1.0.m4s", "_HLS_msn=3&token=" + token).passed);
  EXPECT_TRUE(filter(f, "/streams").passed);
  EXPECT_TRUE(filter(f, "/").passed);
  for (auto [path, query] : {std::pair{"/streams/cam1/index.m3u8", ""},
                             std::pair{"/streams/cam2/index.m3u8", "token="},
                             std::pair{"/streams/cam1/thumbnail.jpg", "token=1.x"}}) {
    auto r = filter(f, path, std::string(query) + (std::string(query) == "token=" ? token : ""));
    EXPECT_FALSE(r.passed) << path << "?" << query;
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.code, "FORBIDDEN");
    EXPECT_EQ(r.cache, "no-store");
  }
  const auto text = metrics.render();
  EXPECT_NE(text.find("mirror_playback_denied_total{reason=\"missing\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("mirror_playback_denied_total{reason=\"wrong\"} 2"), std::string::npos) << text;
}

TEST(PlaybackAccess, OpenWithoutASecret) {
  core::MetricsRegistry metrics;
  EXPECT_TRUE(filter(playback_access_filter("", metrics), "/streams/cam1/index.m3u8").passed);
}

}  // namespace
}  // namespace mirror::api
