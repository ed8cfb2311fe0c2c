#include "api/dvr_window.h"

#include <gtest/gtest.h>

namespace mirror::api {
namespace {

// 2026-12-03T10:00:00Z
constexpr std::int64_t kTen = 1'796'292'000'000;
constexpr std::int64_t kDay = 86'400'000;

TEST(DvrWindow, ReadsRfc3339AndUnixSeconds) {
  EXPECT_EQ(parse_dvr_time("2026-12-03T10:00:00Z"), kTen);
  EXPECT_EQ(parse_dvr_time("2026-12-03t10:00:00.25z"), kTen + 250);
  EXPECT_EQ(parse_dvr_time("2026-12-03T11:30:00+01:30"), kTen);
  EXPECT_EQ(parse_dvr_time("2026-12-03T11:30:00 01:30"), kTen) << "an unescaped '+' reads as a space";
  EXPECT_EQ(parse_dvr_time("2026-12-03T08:00:00.123456789-02:00"), kTen + 123);
  EXPECT_EQ(parse_dvr_time("2024-02-29T00:00:00Z"), 1'709'164'800'000);
  EXPECT_EQ(parse_dvr_time("1796292000"), kTen);
  EXPECT_EQ(parse_dvr_time("1796292000.5"), kTen + 500);
}

TEST(DvrWindow, RefusesWhatIsNotATime) {
  for (const char* bad : {"", "yesterday", "2026-12-03", "2026-12-03T10:00:00", "2026-13-03T10:00:00Z",
                          "2026-02-30T10:00:00Z", "2025-02-29T00:00:00Z", "2026-12-03T24:00:00Z",
                          "2026-12-03T10:00:00+25:00", "2026-12-03T10:00:00Z ", "-1796292000", "1796292000.",
                          "1.2.3", "99999999999999999999", "0", "1e9", "10000-01-01T00:00:00Z",
                          "1999-12-31T23:59:59Z", "2026-12-03T10:00:00.Z"}) {
    EXPECT_FALSE(parse_dvr_time(bad).has_value()) << bad;
  }
}

TEST(DvrWindow, ChecksTheWindowAgainstTheRetainedSpan) {
  const std::int64_t now = kTen + 3'600'000;
  auto w = parse_dvr_window("start=2026-12-03T10:00:00Z&end=1796292900", now, kDay);
  ASSERT_EQ(w.error, "");
  EXPECT_EQ(w.start_ms, kTen);
  EXPECT_EQ(w.end_ms, kTen + 900'000);
  EXPECT_EQ(w.query(), "start=1796292000.000&end=1796292900.000");
  EXPECT_FALSE(parse_dvr_window("", now, kDay).given());
  EXPECT_EQ(parse_dvr_window("token=abc", now, kDay).error, "");
  // Only a start: up to the live edge; only an end: from the oldest segment.
  EXPECT_EQ(parse_dvr_window("start=1796292000", now, kDay).query(), "start=1796292000.000");
  EXPECT_EQ(parse_dvr_window("end=1796292000", now, kDay).query(), "end=1796292000.000");

  EXPECT_NE(parse_dvr_window("start=soon", now, kDay).error.find("start: expected"), std::string::npos);
  EXPECT_NE(parse_dvr_window("end=%00", now, kDay).error.find("end: expected"), std::string::npos);
  EXPECT_EQ(parse_dvr_window("start=1796292900&end=1796292000", now, kDay).error, "end must be after start");
  EXPECT_EQ(parse_dvr_window("start=1796292000&end=1796292000", now, kDay).error, "end must be after start");
  EXPECT_EQ(parse_dvr_window("start=1796299200.001", now, kDay).error, "start is in the future");
  EXPECT_NE(parse_dvr_window("end=1796000000", now, kDay).error.find("before the oldest"), std::string::npos);
  EXPECT_NE(parse_dvr_window("start=2000-01-01T00:00:00Z&end=2026-12-03T10:00:00Z", now, kDay).error.find("longer"),
            std::string::npos);
  // A start before the retained span is fine: the window is what is kept.
  EXPECT_EQ(parse_dvr_window("start=1796200000", now, kDay).error, "");
}

}  // namespace
}  // namespace mirror::api
