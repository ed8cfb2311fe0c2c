#include "core/units.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

namespace mirror::core {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

nanoseconds duration_of(std::string_view text) {
  auto result = parse_duration(text);
  EXPECT_TRUE(result.ok()) << text << ": " << (result.ok() ? "" : result.error().message);
  return result.ok() ? *result : nanoseconds{-1};
}

std::string duration_error(std::string_view text) {
  auto result = parse_duration(text);
  EXPECT_FALSE(result.ok()) << text << " parsed as " << (result.ok() ? result->count() : 0);
  return result.ok() ? "" : result.error().message;
}

std::int64_t size_of(std::string_view text) {
  auto result = parse_size(text);
  EXPECT_TRUE(result.ok()) << text << ": " << (result.ok() ? "" : result.error().message);
  return result.ok() ? *result : -1;
}

std::int64_t bitrate_of(std::string_view text) {
  auto result = parse_bitrate(text);
  EXPECT_TRUE(result.ok()) << text << ": " << (result.ok() ? "" : result.error().message);
  return result.ok() ? *result : -1;
}

TEST(UnitsDuration, ParsesSingleUnits) {
  EXPECT_EQ(duration_of("120ms"), 120ms);
  EXPECT_EQ(duration_of("30s"), 30s);
  EXPECT_EQ(duration_of("24h"), 24h);
  EXPECT_EQ(duration_of("5m"), 5min);
  EXPECT_EQ(duration_of("500us"), 500us);
  EXPECT_EQ(duration_of("7ns"), 7ns);
}

TEST(UnitsDuration, ParsesMicroSignsLikeGo) {
  EXPECT_EQ(duration_of("3\xC2\xB5s"), 3us);
  EXPECT_EQ(duration_of("3\xCE\xBCs"), 3us);
}

TEST(UnitsDuration, ParsesCompoundTerms) {
  EXPECT_EQ(duration_of("1h30m"), 90min);
  EXPECT_EQ(duration_of("1h0m5s"), 1h + 5s);
  EXPECT_EQ(duration_of("2m3s4ms"), 2min + 3s + 4ms);
}

TEST(UnitsDuration, ParsesFractions) {
  EXPECT_EQ(duration_of("1.5s"), 1500ms);
  EXPECT_EQ(duration_of("0.1s"), 100ms);
  EXPECT_EQ(duration_of(".5ms"), 500us);
  EXPECT_EQ(duration_of("1.5h"), 90min);
  EXPECT_EQ(duration_of("0.000000001s"), 1ns);
}

TEST(UnitsDuration, AcceptsLoneZeroAndSurroundingBlanks) {
  EXPECT_EQ(duration_of("0"), 0ns);
  EXPECT_EQ(duration_of("0s"), 0ns);
  EXPECT_EQ(duration_of(" 30s "), 30s);
  EXPECT_EQ(duration_of("+2s"), 2s);
}

TEST(UnitsDuration, RejectsBareNumberAsAmbiguous) {
  const std::string error = duration_error("30");
  EXPECT_NE(error.find("\"30\""), std::string::npos) << error;
  EXPECT_NE(error.find("no unit"), std::string::npos) << error;
  duration_error("1.5");
  duration_error("0.0");
  duration_error("1h30");
}

TEST(UnitsDuration, RejectsNegative) {
  const std::string error = duration_error("-5s");
  EXPECT_NE(error.find("negative"), std::string::npos) << error;
}

TEST(UnitsDuration, RejectsUnknownUnitsAndGarbage) {
  EXPECT_NE(duration_error("5x").find("unknown unit \"x\""), std::string::npos);
  duration_error("");
  duration_error("s");
  duration_error("abc");
  duration_error("5 s");
  duration_error("1d");
  duration_error(".s");
}

TEST(UnitsDuration, RejectsOverflow) {
  EXPECT_NE(duration_error("3000000h").find("too large"), std::string::npos);
  duration_error("99999999999999999999ns");
  duration_error("9223372036854775807ns1ns");
  EXPECT_EQ(duration_of("9223372036854775807ns"), nanoseconds::max());
}

TEST(UnitsDuration, RejectsPrecisionFinerThanNanosecond) {
  EXPECT_NE(duration_error("0.5ns").find("finer"), std::string::npos);
  duration_error("1.0000000001s");
}

TEST(UnitsDuration, FormatsShortestGoLikeForm) {
  EXPECT_EQ(format_duration(0ns), "0s");
  EXPECT_EQ(format_duration(120ms), "120ms");
  EXPECT_EQ(format_duration(1500us), "1.5ms");
  EXPECT_EQ(format_duration(500us), "500us");
  EXPECT_EQ(format_duration(1ns), "1ns");
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(90min), "1h30m");
  EXPECT_EQ(format_duration(24h), "24h");
  EXPECT_EQ(format_duration(2min), "2m");
  EXPECT_EQ(format_duration(1h + 500ms), "1h0.5s");
  EXPECT_EQ(format_duration(-3s), "-3s");
}

TEST(UnitsDuration, FormatParsesBackToSameValue) {
  for (const nanoseconds value : std::initializer_list<nanoseconds>{
           1ns, 999ns, 1001ns, 1234567ns, 1s + 1ns, 59min + 59s + 999999999ns, 25h + 1ms,
           nanoseconds::max()}) {
    EXPECT_EQ(duration_of(format_duration(value)), value) << format_duration(value);
  }
}

TEST(UnitsSize, ParsesPlainBytes) {
  EXPECT_EQ(size_of("1048576"), 1048576);
  EXPECT_EQ(size_of("0"), 0);
  EXPECT_EQ(size_of("512B"), 512);
}

TEST(UnitsSize, ParsesDecimalSuffixesAsPowersOf1000) {
  EXPECT_EQ(size_of("2KB"), 2000);
  EXPECT_EQ(size_of("2MB"), 2000000);
  EXPECT_EQ(size_of("3GB"), 3000000000);
  EXPECT_EQ(size_of("1TB"), 1000000000000);
}

TEST(UnitsSize, ParsesBinarySuffixesAsPowersOf1024) {
  EXPECT_EQ(size_of("64KiB"), 65536);
  EXPECT_EQ(size_of("2MiB"), 2097152);
  EXPECT_EQ(size_of("10GiB"), 10737418240);
  EXPECT_EQ(size_of("1TiB"), 1099511627776);
  EXPECT_EQ(size_of("1.5KiB"), 1536);
  EXPECT_EQ(size_of("10 GiB"), 10737418240);
}

TEST(UnitsSize, RejectsNegativeOverflowFractionsAndUnknownUnits) {
  EXPECT_NE(parse_size("-1").error().message.find("negative"), std::string::npos);
  EXPECT_NE(parse_size("9999999TiB").error().message.find("too large"), std::string::npos);
  EXPECT_FALSE(parse_size("9223372036854775808").ok());
  EXPECT_EQ(size_of("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
  EXPECT_NE(parse_size("1.5B").error().message.find("whole number"), std::string::npos);
  EXPECT_NE(parse_size("10gb").error().message.find("unknown unit \"gb\""), std::string::npos);
  EXPECT_FALSE(parse_size("").ok());
  EXPECT_FALSE(parse_size("GiB").ok());
  EXPECT_FALSE(parse_size("abc").ok());
}

TEST(UnitsSize, FormatsWithLargestExactSuffix) {
  EXPECT_EQ(format_size(10737418240), "10GiB");
  EXPECT_EQ(format_size(2097152), "2MiB");
  EXPECT_EQ(format_size(2000000), "2MB");
  EXPECT_EQ(format_size(1024), "1KiB");
  EXPECT_EQ(format_size(1234), "1234");
  EXPECT_EQ(format_size(0), "0");
  for (const std::int64_t value : {std::int64_t{1}, std::int64_t{1536}, std::int64_t{10737418240},
                                   std::numeric_limits<std::int64_t>::max()}) {
    EXPECT_EQ(size_of(format_size(value)), value);
  }
}

TEST(UnitsBitrate, ParsesPlainNumbersAndSuffixes) {
  EXPECT_EQ(bitrate_of("400000"), 400000);
  EXPECT_EQ(bitrate_of("400k"), 400000);
  EXPECT_EQ(bitrate_of("400K"), 400000);
  EXPECT_EQ(bitrate_of("60M"), 60000000);
  EXPECT_EQ(bitrate_of("1G"), 1000000000);
  EXPECT_EQ(bitrate_of("2.5M"), 2500000);
  EXPECT_EQ(bitrate_of("64kbps"), 64000);
  EXPECT_EQ(bitrate_of("6Mbps"), 6000000);
}

TEST(UnitsBitrate, RejectsNegativeOverflowAndUnknownUnits) {
  EXPECT_NE(parse_bitrate("-400k").error().message.find("negative"), std::string::npos);
  EXPECT_NE(parse_bitrate("99999999999G").error().message.find("too large"), std::string::npos);
  EXPECT_NE(parse_bitrate("400x").error().message.find("unknown unit"), std::string::npos);
  EXPECT_FALSE(parse_bitrate("0.5").ok());
  EXPECT_FALSE(parse_bitrate("k").ok());
}

TEST(UnitsBitrate, FormatsWithSuffix) {
  EXPECT_EQ(format_bitrate(400000), "400k");
  EXPECT_EQ(format_bitrate(60000000), "60M");
  EXPECT_EQ(format_bitrate(1000000000), "1G");
  EXPECT_EQ(format_bitrate(64500), "64500");
  EXPECT_EQ(bitrate_of(format_bitrate(2500000)), 2500000);
}

}  // namespace
}  // namespace mirror::core
