// The operator console's server side on the real binary: sign-in sessions,
// the live event stream (also with 1,000 clients), signed playback URLs,
// CORS origins and the API description.
#include "api/playback_access.h"
#include "integration/mirror_fixture.h"
#include "support/api_schema.h"
#include "support/fixtures.h"
#include "support/sse_clients.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <iostream>
#include <regex>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kToken[] = "console-test-admin-token";
constexpr char kSecret[] = "console-test-playback-secret";

std::string bearer() { return std::string("Bearer ") + kToken; }

std::string secured(const std::string& more = "") {
  return std::string("  admin_token: \"") + kToken + "\"\n  playback_secret: \"" + kSecret + "\"\n" + more;
}

// "mirror_session=..." from a Set-Cookie value.
std::string cookie_of(const HttpReply& r) {
  const auto v = r.header("set-cookie");
  return v.substr(0, v.find(';'));
}

TEST(ConsoleApi, SignInWithAWrongThenTheRightTokenThenOut) {
  MirrorInstance mirror(secured());
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  const int admin = mirror.ports().admin;
  const std::map<std::string, std::string> json{{"Content-Type", "application/json"}};

  EXPECT_EQ(http_get(admin, "/api/v1/streams").status, 401);
  auto wrong = http_request(admin, "POST", "/api/v1/session", json, R"({"token":"not-it"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_TRUE(wrong.header("set-cookie").empty());

  auto right = http_request(admin, "POST", "/api/v1/session", json, std::string(R"({"token":")") + kToken + "\"}");
  ASSERT_EQ(right.status, 200) << right.body;
  const auto cookie = cookie_of(right);
  ASSERT_TRUE(cookie.starts_with("mirror_session=")) << right.header("set-cookie");
  EXPECT_NE(right.header("set-cookie").find("HttpOnly"), std::string::npos);
  EXPECT_NE(right.header("set-cookie").find("SameSite=Strict"), std::string::npos);

  EXPECT_EQ(http_request(admin, "GET", "/api/v1/streams", {{"Cookie", cookie}}).status, 200);
  // A forged cookie: the right shape, a signature of its own.
  EXPECT_EQ(http_request(admin, "GET", "/api/v1/streams", {{"Cookie", cookie + "x"}}).status, 401);
  EXPECT_EQ(http_request(admin, "GET", "/api/v1/streams",
                         {{"Cookie", "mirror_session=AAAAAAAAAAAAAAAAAAAAAAAA.9999999999.forged"}})
                .status,
            401);
  // Oversized and malformed bodies get a JSON 400.
  auto big = http_request(admin, "POST", "/api/v1/session", json, std::string(8192, 'x'));
  EXPECT_EQ(big.status, 400) << big.body;
  EXPECT_EQ(nlohmann::json::parse(big.body, nullptr, false).value("code", ""), "INVALID_INPUT");
  EXPECT_EQ(http_request(admin, "POST", "/api/v1/session", json, "{\"token\":").status, 400);

  auto out = http_request(admin, "DELETE", "/api/v1/session", {{"Cookie", cookie}});
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(http_request(admin, "GET", "/api/v1/streams", {{"Cookie", cookie}}).status, 401);
  // The description of the API is behind the same door.
  EXPECT_EQ(http_get(admin, "/api/v1/openapi.json").status, 401);
  auto description = http_request(admin, "GET", "/api/v1/openapi.json", {{"Authorization", bearer()}});
  EXPECT_EQ(description.status, 200);
  EXPECT_EQ(nlohmann::json::parse(description.body, nullptr, false).value("openapi", ""), "3.1.0");
}

TEST(ConsoleApi, EventsTellAStreamsLifeWithoutPolling) {
  MirrorInstance mirror(secured());
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  SseClients events(mirror.ports().admin, "/api/v1/events", 1, {{"Authorization", bearer()}});
  ASSERT_EQ(events.read_until_all_contain("event: hello", 10s), 1) << events.text(0);
  EXPECT_NE(events.text(0).find("text/event-stream"), std::string::npos) << events.text(0);
  EXPECT_NE(events.text(0).find("\"server\":{\"connections\""), std::string::npos) << "the server panel comes first";

  Process sender(live_srt_sender(mirror.ports().srt, "evented"));
  ASSERT_EQ(events.read_until_all_contain("\"name\":\"evented\"", 30s), 1) << mirror.process().stderr_text();
  EXPECT_NE(events.text(0).find("event: stream.added"), std::string::npos);
  // Figures name the stream with its bitrate and levels once it is live.
  ASSERT_EQ(events.read_until(
                [](std::string_view t) {
                  return t.find("\"state\":\"live\"") != std::string_view::npos &&
                         t.find("\"peak_dbfs\"") != std::string_view::npos;
                },
                30s),
            1)
      << events.text(0).substr(0, 4000);

  EXPECT_EQ(http_request(mirror.ports().admin, "DELETE", "/api/v1/streams/evented", {{"Authorization", bearer()}}).status,
            200);
  ASSERT_EQ(events.read_until_all_contain("event: stream.ended\ndata: {\"name\":\"evented\"}", 15s), 1)
      << events.text(0).substr(events.text(0).size() > 3000 ? events.text(0).size() - 3000 : 0);
  sender.signal(SIGKILL);
}

TEST(ConsoleApi, AThousandEventClients) {
  // A thousand sockets here and as many in the server (which raises its own
  // limit): the soft descriptor limit goes up to the hard one first.
  const auto limit = raise_descriptor_limit();
  const int kClients = limit >= 2500 ? 1000 : 400;
  if (kClients < 1000) std::cout << "descriptor limit " << limit << ": " << kClients << " clients\n";
  MirrorInstance mirror(secured("  max_connections_per_ip: 2000\n"));
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  SseClients events(mirror.ports().admin, "/api/v1/events", kClients, {{"Authorization", bearer()}});
  EXPECT_EQ(events.connected(), kClients);
  EXPECT_EQ(events.read_until_all_contain("event: hello", 30s), kClients);
  Process sender(live_srt_sender(mirror.ports().srt, "crowd"));
  // Every client hears of the new stream.
  EXPECT_EQ(events.read_until_all_contain("\"name\":\"crowd\"", 60s), kClients) << mirror.process().stderr_text();
  const auto health = nlohmann::json::parse(http_get(mirror.ports().admin, "/health").body, nullptr, false);
  EXPECT_EQ(health["services"]["events"]["details"].value("clients", 0), kClients) << health.dump();
  // Gone clients are forgotten.
  events.close();
  int left = -1;
  EXPECT_TRUE(eventually(
      [&] {
        const auto h = nlohmann::json::parse(http_get(mirror.ports().admin, "/health").body, nullptr, false);
        left = h.is_object() ? h["services"]["events"]["details"].value("clients", -1) : -2;
        return left == 0;
      },
      30s))
      << left << " clients left";
  sender.signal(SIGKILL);
}

TEST(ConsoleApi, SignedPlaybackUrls) {
  MirrorInstance mirror(secured());
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  const int http = mirror.ports().http;
  // B-frames at 29.97 fps: the tokens must ride on what such a source gives
  // (parts that are not independent, segments cut on its keyframes).
  Process sender(live_srt_sender(mirror.ports().srt, "signed", "30000/1001",
                                 {"-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-g", "60"}));
  auto minted = http_request(mirror.ports().admin, "POST", "/api/v1/streams/signed/token",
                             {{"Authorization", bearer()}, {"Content-Type", "application/json"}}, R"({"ttl":"2h"})");
  ASSERT_EQ(minted.status, 200) << minted.body;
  const auto doc = nlohmann::json::parse(minted.body);
  const std::string token = doc["token"];
  const std::string url = doc["url"];
  ASSERT_TRUE(eventually([&] { return http_get(http, url).status == 200; }, 30s)) << mirror.process().stderr_text();

  // Every URI of every playlist carries the token, and works.
  const auto index = http_get(http, url).body;
  EXPECT_NE(index.find("source/playlist.m3u8?token=" + token), std::string::npos) << index;
  const auto media = http_get(http, "/streams/signed/source/playlist.m3u8?token=" + token);
  ASSERT_EQ(media.status, 200);
  EXPECT_NE(media.body.find(".mp4?token=" + token), std::string::npos) << media.body;
  EXPECT_NE(media.body.find("PRELOAD-HINT:TYPE=PART,URI=\"part-"), std::string::npos);
  const auto part_at = media.body.find("URI=\"part-");
  ASSERT_NE(part_at, std::string::npos);
  const auto part = media.body.substr(part_at + 5, media.body.find('"', part_at + 5) - part_at - 5);
  EXPECT_EQ(http_get(http, "/streams/signed/source/" + part).status, 200) << part;
  EXPECT_EQ(http_get(http, "/streams/signed/source/" + part.substr(0, part.find('?'))).status, 403);

  // Missing, wrong-stream, forged and expired tokens: 403 JSON, never cached.
  const auto expired = api::mint_playback_token(kSecret, "signed", std::chrono::system_clock::now() - 1s);
  const auto other = api::mint_playback_token(kSecret, "another", std::chrono::system_clock::now() + 1h);
  for (const std::string& query : {std::string(), "?token=" + other, "?token=" + expired, "?token=1." + token.substr(2),
                                   std::string("?token=%00")}) {
    auto r = http_get(http, "/streams/signed/index.m3u8" + query);
    EXPECT_EQ(r.status, 403) << query;
    EXPECT_EQ(nlohmann::json::parse(r.body, nullptr, false).value("code", ""), "FORBIDDEN") << r.body;
    EXPECT_EQ(r.header("cache-control"), "no-store");
  }
  // Tokens are minted only with a secret and for valid names.
  EXPECT_EQ(http_request(mirror.ports().admin, "POST", "/api/v1/streams/bad%20name/token", {{"Authorization", bearer()}})
                .status,
            400);
  EXPECT_EQ(http_request(mirror.ports().admin, "POST", "/api/v1/streams/signed/token",
                         {{"Authorization", bearer()}, {"Content-Type", "application/json"}}, R"({"ttl":"30d"})")
                .status,
            400);
  // A wall's token opens every stream, the wall page and its event stream.
  auto wall = http_request(mirror.ports().admin, "POST", "/api/v1/wall/token",
                           {{"Authorization", bearer()}, {"Content-Type", "application/json"}}, R"({"ttl":"10m"})");
  ASSERT_EQ(wall.status, 200) << wall.body;
  const auto wall_doc = nlohmann::json::parse(wall.body);
  const std::string wall_token = wall_doc["token"];
  EXPECT_EQ(wall_doc["url"], "/wall?token=" + wall_token);
  EXPECT_EQ(http_get(http, "/streams/signed/index.m3u8?token=" + wall_token).status, 200);
  EXPECT_EQ(http_get(http, "/wall?token=" + wall_token).status, 200);
  EXPECT_EQ(http_request(mirror.ports().admin, "POST", "/api/v1/wall/token").status, 401);
  sender.signal(SIGKILL);
}

TEST(ConsoleApi, CorsOriginsComeFromTheConfiguration) {
  MirrorInstance mirror("  cors_origins: [\"https://wall.example\"]\n");
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  auto listed = http_request(mirror.ports().http, "GET", "/streams", {{"Origin", "https://wall.example"}});
  EXPECT_EQ(listed.header("access-control-allow-origin"), "https://wall.example");
  EXPECT_EQ(listed.header("vary"), "Origin");
  auto other = http_request(mirror.ports().http, "GET", "/streams", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(other.status, 200);
  EXPECT_TRUE(other.header("access-control-allow-origin").empty());
  auto preflight = http_request(mirror.ports().http, "OPTIONS", "/streams",
                                {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_TRUE(preflight.header("access-control-allow-methods").empty());
}

// Walls hear, on the delivery port, of streams and their meters several times
// a second: a tone's meter moves, a silent feed's stays at the floor (null)
// and is reported silent after 10 s; nothing private (no publisher address).
TEST(WallEvents, MetersMoveForAToneAndStayAtTheFloorForSilence) {
  MirrorInstance mirror;
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  Process tone(live_srt_sender(mirror.ports().srt, "tone"));
  auto quiet_argv = live_srt_sender(mirror.ports().srt, "quiet");
  for (auto& arg : quiet_argv) {
    if (arg == "sine=frequency=440:sample_rate=48000") arg = "anullsrc=channel_layout=stereo:sample_rate=48000";
  }
  Process quiet(quiet_argv);
  SseClients wall(mirror.ports().http, "/streams/events", 1);
  ASSERT_EQ(wall.read_until_all_contain("event: hello", 10s), 1) << wall.text(0);
  // A levels event where the tone reads loud and the silence reads nothing.
  const std::regex loud(R"re("tone":\{"peak":\[-[0-9]{1,2}\.[0-9]+)re");
  const std::regex floor(R"re("quiet":\{"peak":\[null,null\])re");
  ASSERT_EQ(wall.read_until(
                [&](std::string_view t) {
                  const std::string text(t);
                  return std::regex_search(text, loud) && std::regex_search(text, floor);
                },
                45s),
            1)
      << wall.text(0).substr(wall.text(0).size() > 3000 ? wall.text(0).size() - 3000 : 0);
  EXPECT_NE(wall.text(0).find("event: stream.added"), std::string::npos);
  EXPECT_EQ(wall.text(0).find("remote_address"), std::string::npos);
  ASSERT_EQ(wall.read_until_all_contain("\"quiet\":{\"frozen\":false,\"silent\":true", 30s), 1)
      << wall.text(0).substr(wall.text(0).size() > 3000 ? wall.text(0).size() - 3000 : 0);
  EXPECT_EQ(wall.text(0).find("\"tone\":{\"frozen\":false,\"silent\":true"), std::string::npos);
  tone.signal(SIGKILL);
  quiet.signal(SIGKILL);
}

// A feed whose picture stops while its sound goes on (an encoder whose video
// input died) is reported frozen to walls within seconds.
TEST(WallEvents, AStoppedPictureIsReportedFrozen) {
  MirrorInstance mirror;
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  auto argv = live_srt_sender(mirror.ports().srt, "stuck");
  for (auto& arg : argv) {
    if (arg.starts_with("testsrc2=")) arg += ":duration=5";
  }
  Process sender(argv);
  SseClients wall(mirror.ports().http, "/streams/events", 1);
  ASSERT_EQ(wall.read_until_all_contain("\"stuck\":{\"frozen\":false,\"silent\":false,\"state\":\"live\"", 30s), 1)
      << wall.text(0).substr(0, 3000) << mirror.process().stderr_text();
  ASSERT_EQ(wall.read_until_all_contain("\"stuck\":{\"frozen\":true,\"silent\":false,\"state\":\"live\"", 30s), 1)
      << wall.text(0).substr(wall.text(0).size() > 3000 ? wall.text(0).size() - 3000 : 0);
  sender.signal(SIGKILL);
}

// The checker that holds every admin answer of these tests to the API
// description finds what differs.
TEST(ApiDescription, TheCheckerCatchesAnswersThatDiffer) {
  const std::string json = "application/json";
  EXPECT_TRUE(check_api_answer("GET", "/api/v1/version", 200, json, R"({"version":"1","git_commit":"x","build_time":"t"})")
                  .empty());
  EXPECT_FALSE(check_api_answer("GET", "/api/v1/version", 200, json, R"({"version":1})").empty());
  EXPECT_FALSE(check_api_answer("GET", "/api/v1/streams/cam", 404, json, R"({"message":"no such stream"})").empty());
  EXPECT_TRUE(check_api_answer("GET", "/api/v1/streams/cam", 404, json, R"({"code":"NOT_FOUND","message":"x"})").empty());
  EXPECT_FALSE(check_api_answer("GET", "/api/v1/streams", 200, json,
                                R"({"streams":[{"name":"a","state":"flying","protocol":"srt"}]})")
                   .empty());
  EXPECT_FALSE(check_api_answer("POST", "/api/v1/session", 200, "text/plain", "signed in").empty());
  EXPECT_FALSE(check_api_answer("GET", "/api/v1/version", 204, json, "{}").empty()) << "a success not described";
  EXPECT_TRUE(check_api_answer("GET", "/no/such/page", 404, json, "{}").empty()) << "not an API operation";
  EXPECT_TRUE(check_api_answer("PUT", "/api/v1/version", 405, json, R"({"code":"INVALID_INPUT","message":"x"})").empty());
}

}  // namespace
}  // namespace mirror::testing
