#include "server/service_group.h"

#include <gtest/gtest.h>

namespace mirror::server {
namespace {

// A service that records its calls into a shared journal.
class JournalService final : public core::Service {
 public:
  JournalService(std::string name, std::vector<std::string>& journal, bool fail = false)
      : name_(std::move(name)), journal_(journal), fail_(fail) {}
  std::string_view name() const override { return name_; }
  core::Status start() override {
    journal_.push_back("start " + name_);
    if (fail_) return core::Error(core::ErrorCode::kServiceUnavailable, name_ + " cannot start");
    return core::Ok{};
  }
  void stop(core::Deadline) override { journal_.push_back("stop " + name_); }
  core::Health health() const override { return {}; }

 private:
  std::string name_;
  std::vector<std::string>& journal_;
  bool fail_;
};

TEST(ServiceGroup, StartsInOrderAndStopsInReverse) {
  std::vector<std::string> journal;
  ServiceGroup g;
  for (const char* n : {"storage", "state", "ingestion", "http"}) {
    g.add(std::make_unique<JournalService>(n, journal));
  }
  ASSERT_TRUE(g.start());
  EXPECT_EQ(g.started_count(), 4u);
  g.stop(std::chrono::steady_clock::now());
  EXPECT_EQ(journal, (std::vector<std::string>{"start storage", "start state", "start ingestion",
                                               "start http", "stop http", "stop ingestion",
                                               "stop state", "stop storage"}));
}

TEST(ServiceGroup, FailedStartStopsWhatAlreadyStarted) {
  std::vector<std::string> journal;
  ServiceGroup g;
  g.add(std::make_unique<JournalService>("storage", journal));
  g.add(std::make_unique<JournalService>("state", journal));
  g.add(std::make_unique<JournalService>("ingestion", journal, true));
  g.add(std::make_unique<JournalService>("http", journal));
  auto st = g.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "ingestion cannot start");
  EXPECT_EQ(journal, (std::vector<std::string>{"start storage", "start state", "start ingestion",
                                               "stop state", "stop storage"}));
  EXPECT_EQ(g.started_count(), 0u);
}

TEST(ServiceGroup, StopTwiceIsHarmless) {
  std::vector<std::string> journal;
  ServiceGroup g;
  g.add(std::make_unique<JournalService>("a", journal));
  ASSERT_TRUE(g.start());
  g.stop(std::chrono::steady_clock::now());
  g.stop(std::chrono::steady_clock::now());
  EXPECT_EQ(journal.size(), 2u);
}

TEST(ServiceGroup, ReportsWhichServicesStarted) {
  std::vector<std::string> journal;
  ServiceGroup g;
  g.add(std::make_unique<JournalService>("a", journal));
  const core::Service* a = g.services()[0].get();
  EXPECT_FALSE(g.is_started(a));
  ASSERT_TRUE(g.start());
  EXPECT_TRUE(g.is_started(a));
  EXPECT_EQ(g.health()[0].first, "a");
}

}  // namespace
}  // namespace mirror::server
