#include "storage/segment_index.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mirror::storage {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kT0 = 1'796'000'000'000;  // a Unix time in ms

std::string fresh_file(const char* name) {
  auto dir = fs::path(::testing::TempDir()) / (std::string("segment-index-") + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return (dir / "index.db").string();
}

SegmentRecord segment(const std::string& stream, std::int64_t session, std::int64_t msn, std::int64_t pdt_ms,
                      std::uint8_t places = kLocal, const std::string& rendition = "360p") {
  SegmentRecord r;
  r.key = {stream, rendition, session, msn};
  r.discontinuity_sequence = session - 1;
  r.init_version = 1;
  r.program_date_time_ms = pdt_ms;
  r.duration_us = 500'000;
  r.size_bytes = 1000 + msn;
  r.places = places;
  return r;
}

std::unique_ptr<SegmentIndex> open_or_die(const std::string& path, bool read_only = false) {
  auto index = SegmentIndex::open(path, read_only);
  EXPECT_TRUE(index.ok()) << (index.ok() ? "" : index.error().message);
  return index.ok() ? std::move(*index) : nullptr;
}

TEST(SegmentIndex, FindsAWindowInTimeOrderAcrossSessions) {
  auto index = open_or_die(":memory:");
  ASSERT_TRUE(index);
  // The stream restarted: its second session's sequence numbers begin again.
  std::vector<SegmentRecord> batch = {segment("cam", 1, 0, kT0), segment("cam", 1, 1, kT0 + 500),
                                      segment("cam", 2, 0, kT0 + 5000), segment("cam", 2, 1, kT0 + 5500),
                                      segment("other", 1, 0, kT0 + 100), segment("cam", 1, 1, kT0 + 500, kLocal, "180p")};
  ASSERT_TRUE(index->add(batch));
  auto all = index->window("cam", "360p", kT0, kT0 + 10'000, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].key.session, 1);
  EXPECT_EQ((*all)[2].key, (SegmentKey{"cam", "360p", 2, 0}));
  EXPECT_EQ((*all)[2].discontinuity_sequence, 1);
  // [from, to): the bounds, and the limit.
  EXPECT_EQ(index->window("cam", "360p", kT0 + 500, kT0 + 5000, 100)->size(), 1u);
  EXPECT_EQ(index->window("cam", "360p", kT0, kT0 + 10'000, 3)->size(), 3u);
  EXPECT_TRUE(index->window("nobody", "360p", kT0, kT0 + 10'000, 100)->empty());
  EXPECT_EQ(*index->count(), 6);
  // Replacing a segment (written again after a crash) keeps one row.
  ASSERT_TRUE(index->add(std::vector{segment("cam", 1, 0, kT0)}));
  EXPECT_EQ(*index->count(), 6);
}

TEST(SegmentIndex, SessionsBeginEndAndDescribeThemselves) {
  auto index = open_or_die(":memory:");
  ASSERT_TRUE(index);
  ASSERT_TRUE(index->open_session("cam", 100, kT0));
  ASSERT_TRUE(index->open_session("other", 100, kT0 + 10));
  ASSERT_TRUE(index->end_session("cam", 100, kT0 + 60'000));
  ASSERT_TRUE(index->open_session("cam", 7100, kT0 + 70'000));
  ASSERT_TRUE(index->open_session("cam", 7100, kT0 + 99'000)) << "opening again changes nothing";
  ASSERT_TRUE(index->describe_session("cam", 7100, "#EXTM3U\n#EXT-X-VERSION:9\n"));
  EXPECT_FALSE(index->describe_session("cam", 7100, "<html>").ok());
  EXPECT_FALSE(index->describe_session("cam", 7100, "#EXTM3U" + std::string(70'000, 'x')).ok());
  EXPECT_FALSE(index->open_session("../etc", 1, kT0).ok());
  EXPECT_FALSE(index->open_session("cam", 0, kT0).ok());
  auto sessions = index->sessions("cam");
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 2u);
  EXPECT_EQ((*sessions)[0].ended_ms, kT0 + 60'000);
  EXPECT_EQ((*sessions)[1].started_ms, kT0 + 70'000);
  EXPECT_FALSE((*sessions)[1].ended_ms.has_value());
  EXPECT_EQ((*sessions)[1].playlist, "#EXTM3U\n#EXT-X-VERSION:9\n");
  EXPECT_TRUE(index->sessions("nobody")->empty());

  // After a crash, an open session ends where its last segment ends.
  ASSERT_TRUE(index->add(std::vector{segment("cam", 7100, 7100, kT0 + 70'000), segment("cam", 7100, 7101, kT0 + 70'500)}));
  EXPECT_EQ(*index->close_open_sessions(), 2);  // cam's second, and other's (no segment: ends at its start)
  sessions = index->sessions("cam");
  EXPECT_EQ((*sessions)[1].ended_ms, kT0 + 70'500 + 500);
  EXPECT_EQ(index->sessions("other")->front().ended_ms, kT0 + 10);
  ASSERT_TRUE(index->drop_sessions_ended_before(kT0 + 61'000));
  EXPECT_EQ(index->sessions("cam")->size(), 1u);
  EXPECT_TRUE(index->sessions("other")->empty());
}

TEST(SegmentIndex, EvictionCandidatesAreTheLeastRecentlyUsedLocalSegments) {
  auto index = open_or_die(":memory:");
  ASSERT_TRUE(index);
  ASSERT_TRUE(index->add(std::vector{segment("cam", 1, 0, kT0), segment("cam", 1, 1, kT0 + 500, kLocal | kRemote),
                                     segment("cam", 1, 2, kT0 + 1000, kLocal | kRemote),
                                     segment("cam", 1, 3, kT0 + 1500, kRemote)}));
  EXPECT_EQ(*index->local_bytes(), 1000 + 1001 + 1002);
  // Segment 1 was just read: it goes last.
  ASSERT_TRUE(index->touch(std::vector{SegmentKey{"cam", "360p", 1, 1}}, kT0 + 60'000));
  auto lru = index->least_recently_used_local(10, false);
  ASSERT_TRUE(lru.ok());
  ASSERT_EQ(lru->size(), 3u);
  EXPECT_EQ((*lru)[0].key.media_sequence, 0);
  EXPECT_EQ((*lru)[1].key.media_sequence, 2);
  EXPECT_EQ((*lru)[2].key.media_sequence, 1);
  // Only what S3 also has may go while S3 is enabled.
  auto archived = index->least_recently_used_local(10, true);
  ASSERT_EQ(archived->size(), 2u);
  EXPECT_EQ((*archived)[0].key.media_sequence, 2);
  // Evicted from the cache: the bytes are in S3 only.
  ASSERT_TRUE(index->set_places({"cam", "360p", 1, 2}, kRemote));
  EXPECT_EQ(*index->local_bytes(), 1000 + 1001);
}

TEST(SegmentIndex, TheSweeperFindsAndRemovesWhatIsTooOld) {
  auto index = open_or_die(":memory:");
  ASSERT_TRUE(index);
  std::vector<SegmentRecord> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(segment(i % 2 ? "a" : "b", 1, i, kT0 + i * 500));
  ASSERT_TRUE(index->add(batch));
  auto old = index->older_than(kT0 + 2500, 100);
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->size(), 5u);
  EXPECT_EQ(old->front().program_date_time_ms, kT0);
  std::vector<SegmentKey> keys;
  for (const auto& r : *old) keys.push_back(r.key);
  ASSERT_TRUE(index->remove(keys));
  EXPECT_EQ(*index->count(), 5);
  EXPECT_TRUE(index->older_than(kT0 + 2500, 100)->empty());
}

TEST(SegmentIndex, ImpossibleRecordsAreRefusedAndBadRowsAreNotServed) {
  const auto path = fresh_file("bad-rows");
  auto index = open_or_die(path);
  ASSERT_TRUE(index);
  auto bad = segment("cam", 1, 0, kT0);
  bad.duration_us = -1;
  auto refused = index->add(std::vector{segment("cam", 1, 1, kT0 + 500), bad});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kInvalidInput);
  for (const char* name : {"", "../etc", "a/b"}) {
    auto r = segment(name, 1, 0, kT0);
    EXPECT_FALSE(index->add(std::vector{r}).ok()) << name;
  }
  EXPECT_EQ(*index->count(), 0) << "a refused batch adds nothing";
  ASSERT_TRUE(index->add(std::vector{segment("cam", 1, 1, kT0 + 500)}));
  // Rows written behind the index's back (a damaged or tampered file).
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "INSERT INTO segments VALUES('cam','360p',1,2,0,1,1796000001000,-5,10,1,0);"
                         "INSERT INTO segments VALUES('../x','360p',1,3,0,1,1796000001500,500000,10,1,0);"
                         "INSERT INTO segments VALUES('cam','360p',1,4,0,1,1796000002000,500000,10,99,0);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto window = index->window("cam", "360p", kT0, kT0 + 10'000, 100);
  ASSERT_TRUE(window.ok());
  ASSERT_EQ(window->size(), 1u);
  EXPECT_EQ(window->front().key.media_sequence, 1);
  EXPECT_EQ(index->rejected_rows(), 2u);  // the third row is another stream's
}

TEST(SegmentIndex, AFileThatIsNoIndexIsRefusedClearly) {
  const auto path = fresh_file("garbage");
  std::ofstream(path) << std::string(8192, 'x');
  auto index = SegmentIndex::open(path);
  ASSERT_FALSE(index.ok());
  EXPECT_NE(index.error().message.find("segment index"), std::string::npos) << index.error().message;
  EXPECT_FALSE(SegmentIndex::open(fresh_file("missing") + ".none", /*read_only=*/true).ok());
}

TEST(SegmentIndex, AReaderSeesWhatTheWriterCommittedAndSurvivesAReopen) {
  const auto path = fresh_file("reopen");
  {
    auto writer = open_or_die(path);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->open_session("cam", 1, kT0));
    ASSERT_TRUE(writer->add(std::vector{segment("cam", 1, 0, kT0), segment("cam", 1, 1, kT0 + 500)}));
    auto reader = open_or_die(path, /*read_only=*/true);
    ASSERT_TRUE(reader);
    EXPECT_EQ(reader->window("cam", "360p", kT0, kT0 + 1000, 10)->size(), 2u);
    EXPECT_FALSE(reader->add(std::vector{segment("cam", 1, 2, kT0 + 1000)}).ok()) << "a reader writes nothing";
    ASSERT_TRUE(writer->add(std::vector{segment("cam", 1, 2, kT0 + 1000)}));
    EXPECT_EQ(reader->window("cam", "360p", kT0, kT0 + 2000, 10)->size(), 3u);
  }
  auto again = open_or_die(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again->count(), 3);
  EXPECT_EQ(again->sessions("cam")->size(), 1u);
}

}  // namespace
}  // namespace mirror::storage
