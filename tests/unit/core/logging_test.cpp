#include "core/logging.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>

namespace mirror::core::log {
namespace {

using namespace std::chrono_literals;

class LoggingTest : public ::testing::Test {
 protected:
  void TearDown() override { init({Level::kInfo, false, nullptr}); }
  std::vector<nlohmann::json> lines() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(out_.str());
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  std::ostringstream out_;
};

TEST(LogLevel, ParsesTheFourLevelsOnly) {
  EXPECT_EQ(parse_level("debug"), Level::kDebug);
  EXPECT_EQ(parse_level("info"), Level::kInfo);
  EXPECT_EQ(parse_level("warn"), Level::kWarn);
  EXPECT_EQ(parse_level("error"), Level::kError);
  EXPECT_FALSE(parse_level("verbose"));
  EXPECT_FALSE(parse_level("INFO"));
  EXPECT_FALSE(parse_level(""));
}

TEST(LogFormat, JsonLineHasNanosecondTimeLevelMessageAndFields) {
  auto t = std::chrono::system_clock::time_point(std::chrono::nanoseconds(1700000000123456789LL));
  auto line = format_json(t, Level::kWarn, "port \"busy\"\n",
                          {{"port", 8080}, {"ok", false}, {"ratio", 0.5}, {"name", "cam1"}},
                          nullptr);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "port \"busy\"\n");
  EXPECT_EQ(j["port"], 8080);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["ratio"], 0.5);
  EXPECT_EQ(j["name"], "cam1");
}

TEST(LogFormat, ControlBytesAreEscaped) {
  auto line = format_json(std::chrono::system_clock::now(), Level::kInfo,
                          std::string_view("a\x01\x7f" "b", 4), {}, nullptr);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], std::string("a\x01\x7f" "b", 4));
}

TEST_F(LoggingTest, LevelFiltersLines) {
  init({Level::kWarn, false, &out_});
  info("hidden");
  warn("shown", {{"k", 1}});
  auto l = lines();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["msg"], "shown");
  EXPECT_FALSE(l[0].contains("caller"));
}

TEST_F(LoggingTest, DebugLevelAddsSourceLocation) {
  init({Level::kDebug, false, &out_});
  debug("where");
  auto l = lines();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_NE(l[0]["caller"].get<std::string>().find("logging_test.cpp:"), std::string::npos);
}

TEST_F(LoggingTest, PrettyFormatIsHumanReadable) {
  init({Level::kInfo, true, &out_});
  info("listening", {{"port", 8080}});
  EXPECT_NE(out_.str().find("listening port=8080"), std::string::npos);
  EXPECT_NE(out_.str().find("info"), std::string::npos);
}

TEST(LogLimiter, AdmitsOncePerIntervalAndCountsTheRest) {
  LogLimiter limiter(1s);
  auto t0 = std::chrono::steady_clock::now();
  std::uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.admit(t0, suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(limiter.admit(t0 + 100ms, suppressed));
  EXPECT_FALSE(limiter.admit(t0 + 900ms, suppressed));
  EXPECT_TRUE(limiter.admit(t0 + 1100ms, suppressed));
  EXPECT_EQ(suppressed, 2u);
}

TEST_F(LoggingTest, LimitedLineCarriesSuppressedCount) {
  init({Level::kInfo, false, &out_});
  LogLimiter limiter(50ms);
  for (int i = 0; i < 5; ++i) limiter.log(Level::kWarn, "bad packet");
  std::this_thread::sleep_for(60ms);
  limiter.log(Level::kWarn, "bad packet");
  auto l = lines();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_FALSE(l[0].contains("suppressed"));
  EXPECT_EQ(l[1]["suppressed"], 4);
}

TEST(KeyedLogLimiter, KeysAreLimitedIndependently) {
  KeyedLogLimiter limiter(1s);
  auto t0 = std::chrono::steady_clock::now();
  std::uint64_t s = 0;
  EXPECT_TRUE(limiter.admit("cam1", t0, s));
  EXPECT_TRUE(limiter.admit("cam2", t0, s));
  EXPECT_FALSE(limiter.admit("cam1", t0 + 10ms, s));
  EXPECT_TRUE(limiter.admit("cam1", t0 + 2s, s));
  EXPECT_EQ(s, 1u);
}

TEST(KeyedLogLimiter, ForgetsOldKeysBeyondItsBound) {
  KeyedLogLimiter limiter(1h, 3);
  auto t0 = std::chrono::steady_clock::now();
  std::uint64_t s = 0;
  for (int i = 0; i < 100; ++i) limiter.admit("k" + std::to_string(i), t0 + std::chrono::seconds(i), s);
  // The oldest key was forgotten, so it is admitted again at once.
  EXPECT_TRUE(limiter.admit("k0", t0 + 101s, s));
}

TEST(LogLimiter, ConcurrentCallersAdmitOneLinePerInterval) {
  LogLimiter limiter(1h);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        std::uint64_t s = 0;
        if (limiter.admit(std::chrono::steady_clock::now(), s)) admitted.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), 1);
}

}  // namespace
}  // namespace mirror::core::log
