#include "state/memory_registry.h"

#include <gtest/gtest.h>

#include <thread>

namespace mirror::state {
namespace {

using namespace std::chrono_literals;

StreamRecord record(std::string name) {
  StreamRecord r;
  r.name = std::move(name);
  r.node = "node-a";
  r.protocol = "srt";
  r.status = "connecting";
  return r;
}

TEST(MemoryStreamRegistry, ClaimsFindsAndLists) {
  MemoryStreamRegistry reg;
  ASSERT_TRUE(reg.start());
  ASSERT_TRUE(reg.claim(record("cam1")));
  ASSERT_TRUE(reg.claim(record("cam2")));
  auto found = reg.find("cam1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->protocol, "srt");
  EXPECT_EQ(reg.list().size(), 2u);
  EXPECT_EQ(reg.health().details["streams"], 2);
}

TEST(MemoryStreamRegistry, SecondClaimOfALiveNameIsAlreadyExists) {
  MemoryStreamRegistry reg;
  ASSERT_TRUE(reg.claim(record("cam1")));
  auto st = reg.claim(record("cam1"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, core::ErrorCode::kAlreadyExists);
}

TEST(MemoryStreamRegistry, StaleRecordNoLongerBlocksItsName) {
  MemoryStreamRegistry reg(NodeIdentity{.id = "node-a", .url = {}, .version = {}, .load = {}}, 20ms);
  ASSERT_TRUE(reg.claim(record("cam1")));
  std::this_thread::sleep_for(40ms);
  EXPECT_TRUE(reg.claim(record("cam1")));
}

TEST(MemoryStreamRegistry, UpdateAndReleaseUnknownNameIsNotFound) {
  MemoryStreamRegistry reg;
  EXPECT_EQ(reg.update("nope", "live").error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(reg.release("nope").error().code, core::ErrorCode::kNotFound);
}

TEST(MemoryStreamRegistry, UpdateChangesStatusAndHeartbeat) {
  MemoryStreamRegistry reg;
  ASSERT_TRUE(reg.claim(record("cam1")));
  auto before = reg.find("cam1")->heartbeat_at;
  std::this_thread::sleep_for(2ms);
  ASSERT_TRUE(reg.update("cam1", "live"));
  auto after = reg.find("cam1");
  EXPECT_EQ(after->status, "live");
  EXPECT_GT(after->heartbeat_at, before);
  ASSERT_TRUE(reg.release("cam1"));
  EXPECT_FALSE(reg.find("cam1"));
}

TEST(MemoryStreamRegistry, ConcurrentClaimsOfOneNameHaveOneWinner) {
  MemoryStreamRegistry reg;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (reg.claim(record("contested"))) winners.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST(MemoryStreamRegistry, HealthIsUnhealthyWhenStopped) {
  MemoryStreamRegistry reg;
  ASSERT_TRUE(reg.start());
  EXPECT_EQ(reg.health().status, core::HealthStatus::kHealthy);
  reg.stop(std::chrono::steady_clock::now());
  EXPECT_EQ(reg.health().status, core::HealthStatus::kUnhealthy);
}

}  // namespace
}  // namespace mirror::state
