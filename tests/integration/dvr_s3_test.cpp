// S3 archiving through the real binary against a real S3-compatible server
// (s3rver, which checks SigV4 signatures and Content-MD5) on loopback: the
// segments land in the bucket byte for byte, the DVR reads them back from S3
// once the cache lets them go, a wrong secret is named without losing
// anything, a 60 s outage loses nothing while live goes on, and retention
// empties the bucket as it empties the cache.
#include "mirror_fixture.h"
#include "api/dvr_window.h"
#include "storage/s3/s3_client.h"
#include "support/fixtures.h"
#include "support/s3rver.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <sstream>
#include <thread>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kBucket = "mirror-dvr";

struct Recorded {
  std::string uri;  // <session>/seg-<msn>.m4s
  std::int64_t pdt_ms = 0;
};

std::vector<Recorded> recorded(const std::string& playlist) {
  std::vector<Recorded> out;
  std::istringstream in(playlist);
  std::int64_t pdt = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#EXT-X-PROGRAM-DATE-TIME:", 0) == 0) pdt = api::parse_dvr_time(line.substr(25)).value_or(0);
    if (!line.empty() && line[0] != '#') out.push_back({line, pdt});
  }
  return out;
}

// The object key Mirror gives a recorded segment.
std::string object_key(const std::string& stream, const std::string& rendition, const Recorded& r) {
  const auto t = static_cast<std::time_t>(r.pdt_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[16];
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  const std::string msn = r.uri.substr(r.uri.find("seg-") + 4, r.uri.size() - r.uri.find("seg-") - 8);
  return stream + "/" + rendition + "/" + date + "/" + msn + ".m4s";
}

class DvrS3 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
    s3_dir_ = make_temp_dir("dvr-s3rver");
    s3_ = std::make_unique<S3rver>(source_dir(), s3_dir_, kBucket);
    if (!s3_->ready()) GTEST_SKIP() << "node or npm @20minutes/s3rver missing";
  }
  void TearDown() override {
    for (auto& s : senders_) s->signal(SIGKILL);
    mirror_.reset();
    s3_.reset();
    fs::remove_all(s3_dir_);
  }

  void start(const std::string& secret = "S3RVER", std::map<std::string, std::string> env = {}) {
    env.emplace("MIRROR_TRANSCODING_ENABLED", "false");
    env.emplace("MIRROR_STORAGE_S3_ENABLED", "true");
    env.emplace("MIRROR_STORAGE_S3_ENDPOINT", s3_->endpoint());
    env.emplace("MIRROR_STORAGE_S3_BUCKET", kBucket);
    env.emplace("MIRROR_STORAGE_S3_ACCESS_KEY_ID", "S3RVER");
    env.emplace("MIRROR_STORAGE_S3_SECRET_ACCESS_KEY", secret);
    env.emplace("MIRROR_STORAGE_S3_USE_SSL", "false");
    mirror_ = std::make_unique<MirrorInstance>("", std::move(env));
    ASSERT_TRUE(mirror_->wait_ready()) << mirror_->process().stderr_text();
  }

  void publish(const std::string& name) {
    senders_.push_back(std::make_unique<Process>(live_srt_sender(mirror_->ports().srt, name)));
    ASSERT_TRUE(eventually([&] { return get("/streams/" + name + "/index.m3u8").status == 200; }, 20s))
        << mirror_->process().stderr_text();
  }

  HttpReply get(const std::string& path) { return http_get(mirror_->ports().http, path); }

  std::vector<Recorded> dvr(const std::string& name, const std::string& rendition) {
    auto r = get("/streams/" + name + "/dvr/" + rendition + "/playlist.m3u8");
    return r.status == 200 ? recorded(r.body) : std::vector<Recorded>{};
  }

  nlohmann::json storage_health() {
    auto h = nlohmann::json::parse(http_get(mirror_->ports().admin, "/health").body, nullptr, false);
    if (h.is_discarded() || !h["services"].contains("storage")) return {};
    return h["services"]["storage"];
  }

  std::int64_t waiting() {
    auto h = storage_health();
    return h.is_null() ? -1 : h["details"]["s3"].value("waiting", std::int64_t{-1});
  }

  storage::s3::S3Client client() {
    storage::s3::S3Settings s;
    s.endpoint = s3_->endpoint();
    s.bucket = kBucket;
    s.access_key_id = "S3RVER";
    s.secret_access_key = "S3RVER";
    return storage::s3::S3Client(s);
  }

  std::string s3_dir_;
  std::unique_ptr<S3rver> s3_;
  std::unique_ptr<MirrorInstance> mirror_;
  std::vector<std::unique_ptr<Process>> senders_;
};

TEST_F(DvrS3, SegmentsLandInTheBucketByteForByteAndAreReadBackFromIt) {
  start();
  publish("cam");
  ASSERT_TRUE(eventually([&] { return dvr("cam", "source").size() >= 6; }, 40s));
  // Everything recorded so far reaches the bucket.
  ASSERT_TRUE(eventually([&] { return waiting() == 0; }, 30s)) << storage_health().dump();
  auto s3 = client();
  for (const char* rendition : {"source", "audio"}) {
    const auto segments = dvr("cam", rendition);
    ASSERT_FALSE(segments.empty());
    std::size_t checked = 0;
    for (const auto& seg : segments) {
      const auto local = get(std::string("/streams/cam/dvr/") + rendition + "/" + seg.uri);
      ASSERT_EQ(local.status, 200);
      // Recorded since the backlog was last counted: on its way.
      auto remote = s3.get_object(object_key("cam", rendition, seg));
      if (!remote) {
        eventually([&] { return (remote = s3.get_object(object_key("cam", rendition, seg))).ok(); }, 20s);
      }
      ASSERT_TRUE(remote) << object_key("cam", rendition, seg) << ": " << remote.error().message;
      EXPECT_TRUE(*remote == local.body) << seg.uri << " differs in S3";
      ++checked;
    }
    EXPECT_EQ(checked, segments.size());
  }
  // The cache lets a segment go: the DVR reads it back from S3, and its
  // init segment too.
  const auto segments = dvr("cam", "source");
  const auto& oldest = segments.front();
  const std::string session = oldest.uri.substr(0, oldest.uri.find('/'));
  const std::string folder = mirror_->dir() + "/cache/cam/source/" + session;
  const std::string file = folder + "/" + oldest.uri.substr(oldest.uri.find("seg-") + 4);
  const auto before = get("/streams/cam/dvr/source/" + oldest.uri).body;
  ASSERT_TRUE(fs::remove(file)) << file;
  std::string init_name;
  for (const auto& e : fs::directory_iterator(folder)) {
    if (e.path().extension() == ".mp4") init_name = e.path().filename().string();
  }
  ASSERT_FALSE(init_name.empty());
  const auto init_before = get("/streams/cam/dvr/source/" + session + "/" + init_name).body;
  ASSERT_TRUE(fs::remove(folder + "/" + init_name));
  const auto after = get("/streams/cam/dvr/source/" + oldest.uri);
  EXPECT_EQ(after.status, 200);
  EXPECT_TRUE(after.body == before) << "read back from S3";
  EXPECT_TRUE(get("/streams/cam/dvr/source/" + session + "/" + init_name).body == init_before);
  // The segment came from S3 (the init segment too, unless the writer wrote
  // it again for a newer segment meanwhile: the stream is live).
  const auto metrics = http_get(mirror_->ports().admin, "/metrics").body;
  const std::string sample = "\nmirror_storage_remote_reads_total ";
  const auto at = metrics.find(sample);
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::stod(metrics.substr(at + sample.size())), 1.0);
  EXPECT_EQ(storage_health().value("status", ""), "healthy") << storage_health().dump();
}

TEST_F(DvrS3, AWrongSecretIsNamedAndNothingIsLost) {
  start("not-the-secret");
  publish("cam");
  nlohmann::json h;
  ASSERT_TRUE(eventually([&] { return (h = storage_health()).value("status", "") == "degraded"; }, 30s)) << h.dump();
  EXPECT_NE(h.value("message", "").find("credentials are wrong"), std::string::npos) << h.dump();
  EXPECT_NE(mirror_->process().stderr_text().find("S3 archiving is failing"), std::string::npos);
  // Recording goes on locally, and the DVR serves it.
  ASSERT_TRUE(eventually([&] { return dvr("cam", "source").size() >= 4; }, 30s));
  EXPECT_EQ(get("/streams/cam/dvr/source/" + dvr("cam", "source").front().uri).status, 200);
  EXPECT_GT(waiting(), 0) << "the segments wait in the cache";
  const auto metrics = http_get(mirror_->ports().admin, "/metrics").body;
  EXPECT_EQ(metrics.find("mirror_s3_request_failures_total 0\n"), std::string::npos) << "failures are counted";
  EXPECT_NE(metrics.find("mirror_s3_uploads_total 0\n"), std::string::npos) << "nothing uploaded";
}

// S3 goes away for 60 s while two streams record; when it returns, every
// segment arrives, and live delivery never waited for it.
TEST_F(DvrS3, ASixtySecondOutageLosesNothingAndLiveGoesOn) {
  start();
  publish("cam1");
  publish("cam2");
  ASSERT_TRUE(eventually([&] { return waiting() == 0 && dvr("cam2", "source").size() >= 2; }, 30s));
  s3_->stop();
  const auto outage_end = std::chrono::steady_clock::now() + 60s;
  // Live goes on: both streams' live playlists keep moving.
  std::map<std::string, std::string> last;
  int advances = 0;
  while (std::chrono::steady_clock::now() < outage_end) {
    for (const char* name : {"cam1", "cam2"}) {
      const auto r = get(std::string("/streams/") + name + "/source/playlist.m3u8");
      ASSERT_EQ(r.status, 200);
      const auto segs = recorded(r.body);
      ASSERT_FALSE(segs.empty());
      if (!last[name].empty() && segs.back().uri != last[name]) ++advances;
      last[name] = segs.back().uri;
    }
    std::this_thread::sleep_for(2s);
  }
  EXPECT_GE(advances, 40) << "both live playlists advanced through the outage";
  EXPECT_GT(waiting(), 60) << "a minute of two streams waits in the cache";
  EXPECT_EQ(storage_health().value("status", ""), "degraded");
  ASSERT_TRUE(s3_->start());
  ASSERT_TRUE(eventually([&] { return waiting() == 0; }, 120s)) << storage_health().dump();
  // Every segment of both streams, both renditions, in the bucket, in order
  // of time with no gap.
  auto s3 = client();
  for (const char* name : {"cam1", "cam2"}) {
    for (const char* rendition : {"source", "audio"}) {
      const auto segments = dvr(name, rendition);
      ASSERT_GE(segments.size(), 60u);
      for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
        auto remote = s3.get_object(object_key(name, rendition, segments[i]));
        ASSERT_TRUE(remote) << name << "/" << rendition << " " << segments[i].uri << " is missing from the bucket";
        const auto local = get(std::string("/streams/") + name + "/dvr/" + rendition + "/" + segments[i].uri);
        EXPECT_TRUE(*remote == local.body) << segments[i].uri;
      }
    }
  }
  EXPECT_EQ(storage_health().value("status", ""), "healthy") << storage_health().dump();
}

// Retention of 30 s empties the bucket as it empties the cache.
TEST_F(DvrS3, RetentionRemovesOldSegmentsFromTheBucket) {
  start("S3RVER", {{"MIRROR_STORAGE_DVR_RETENTION_TIME", "30s"}});
  publish("cam");
  ASSERT_TRUE(eventually([&] { return dvr("cam", "source").size() >= 3 && waiting() == 0; }, 30s));
  const auto oldest = dvr("cam", "source").front();
  auto s3 = client();
  ASSERT_TRUE(s3.get_object(object_key("cam", "source", oldest))) << "archived first";
  ASSERT_TRUE(eventually([&] { return !s3.get_object(object_key("cam", "source", oldest)).ok(); }, 60s))
      << "gone from the bucket after the retention time";
  EXPECT_EQ(get("/streams/cam/dvr/source/" + oldest.uri).status, 404);
  const auto now = dvr("cam", "source");
  ASSERT_FALSE(now.empty());
  EXPECT_GT(now.front().pdt_ms, oldest.pdt_ms);
}

}  // namespace
}  // namespace mirror::testing
