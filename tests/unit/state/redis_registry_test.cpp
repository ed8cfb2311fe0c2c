// The Redis registry against a real redis-server started on loopback by each
// test (a Sentinel failover is followed in tests/integration/cluster_test.cpp).
#include "state/redis/redis_registry.h"

#include "support/redis.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>

namespace mirror::state::redis {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::RedisServer;

class RedisRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mirror-redis-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    redis_ = std::make_unique<RedisServer>(dir_.string() + "/redis");
    if (!redis_->ready()) GTEST_SKIP() << "redis-server is not installed";
  }
  void TearDown() override {
    nodes_.clear();
    redis_.reset();
    std::filesystem::remove_all(dir_);
  }

  RedisRegistryOptions options(std::string id, std::string addr = {}) {
    RedisRegistryOptions o;
    o.redis.addr = addr.empty() ? redis_->address() : addr;
    o.redis.dial_timeout = 500ms;
    o.redis.read_timeout = 1s;
    o.redis.write_timeout = 1s;
    o.node.id = std::move(id);
    o.node.url = "http://127.0.0.1:1/" + o.node.id;
    o.node.version = "test";
    // Leases of 1.5 s: a registry thread stalled on a loaded machine (or
    // under ThreadSanitizer) for a few hundred milliseconds keeps its node.
    o.heartbeat = 500ms;
    o.reconnect_window = 1s;
    return o;
  }

  struct Node {
    core::MetricsRegistry metrics;
    std::unique_ptr<RedisStreamRegistry> registry;
    std::mutex mutex;
    std::vector<std::string> lost;
    std::vector<std::string> end_requests;

    std::vector<std::string> lost_names() {
      std::lock_guard lock(mutex);
      return lost;
    }
    std::vector<std::string> ends() {
      std::lock_guard lock(mutex);
      return end_requests;
    }
  };

  Node& start(RedisRegistryOptions o) {
    auto node = std::make_unique<Node>();
    node->registry = std::make_unique<RedisStreamRegistry>(std::move(o), node->metrics);
    Node* n = node.get();
    n->registry->on_claim_lost([n](const std::string& name, const StreamRecord&) {
      std::lock_guard lock(n->mutex);
      n->lost.push_back(name);
    });
    n->registry->on_end_requested([n](const std::string& name) {
      std::lock_guard lock(n->mutex);
      n->end_requests.push_back(name);
    });
    EXPECT_TRUE(n->registry->start());
    nodes_.push_back(std::move(node));
    return *n;
  }

  static StreamRecord record(std::string name) {
    StreamRecord r;
    r.name = std::move(name);
    r.protocol = "srt";
    r.status = "connecting";
    return r;
  }

  static bool lists(const RedisStreamRegistry& reg, const std::string& name, const std::string& node,
                    const std::string& status = {}) {
    const auto r = reg.find(name);
    return r && r->node == node && (status.empty() || r->status == status);
  }

  static double metric(Node& n, const std::string& name) {
    const std::string text = n.metrics.render();
    const auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
  }

  std::filesystem::path dir_;
  std::unique_ptr<RedisServer> redis_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(RedisRegistryTest, AStreamClaimedOnOneNodeIsListedAndRefusedOnAnother) {
  Node& a = start(options("node-a"));
  Node& b = start(options("node-b"));
  ASSERT_TRUE(a.registry->claim(record("cam1")));
  ASSERT_TRUE(a.registry->update("cam1", "live"));
  ASSERT_TRUE(eventually([&] { return lists(*b.registry, "cam1", "node-a", "live"); }, 5s));
  const auto refused = b.registry->check("cam1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_EQ(refused.error().details["node"], "node-a");
  EXPECT_FALSE(b.registry->claim(record("cam1")));

  // Every node sees every node, with its streams.
  ASSERT_TRUE(eventually([&] { return b.registry->nodes().size() == 2; }, 5s));
  const auto nodes = b.registry->nodes();
  EXPECT_EQ(nodes[0].id, "node-b");
  EXPECT_EQ(nodes[1].id, "node-a");
  EXPECT_EQ(nodes[1].url, "http://127.0.0.1:1/node-a");
  EXPECT_TRUE(eventually([&] { return b.registry->nodes()[1].streams == std::vector<std::string>{"cam1"}; }, 5s));
  EXPECT_EQ(b.registry->health().status, core::HealthStatus::kHealthy);

  // Released: gone everywhere, the name free.
  ASSERT_TRUE(a.registry->release("cam1"));
  ASSERT_TRUE(eventually([&] { return !b.registry->find("cam1"); }, 5s));
  EXPECT_TRUE(b.registry->check("cam1"));
  EXPECT_EQ(redis_->cli({"EXISTS", "mirror:stream:cam1"}), "0");
  EXPECT_GT(metric(a, "mirror_redis_commands_total"), 0);
  EXPECT_EQ(metric(a, "mirror_redis_up"), 1);
}

TEST_F(RedisRegistryTest, TwoNodesClaimingOneNameAtOnceEndWithOneOwner) {
  Node& a = start(options("node-a"));
  Node& b = start(options("node-b"));
  // Neither has heard of the other's claim when it makes its own.
  const bool a_admitted = static_cast<bool>(a.registry->claim(record("race")));
  const bool b_admitted = static_cast<bool>(b.registry->claim(record("race")));
  ASSERT_TRUE(a_admitted || b_admitted);
  auto holds = [](Node& n) {
    const auto r = n.registry->find("race");
    return r && r->node == n.registry->node_id();
  };
  ASSERT_TRUE(eventually([&] { return holds(a) != holds(b); }, 5s));
  Node& loser = holds(a) ? b : a;
  Node& winner = holds(a) ? a : b;
  // The loser was refused at once or lost its claim, and says who holds it.
  const bool loser_admitted = &loser == &a ? a_admitted : b_admitted;
  if (loser_admitted) {
    EXPECT_TRUE(eventually([&] { return loser.lost_names() == std::vector<std::string>{"race"}; }, 5s));
    EXPECT_EQ(metric(loser, "mirror_cluster_claims_lost_total"), 1);
  }
  EXPECT_TRUE(eventually([&] { return lists(*loser.registry, "race", winner.registry->node_id()); }, 5s));
  EXPECT_TRUE(winner.lost_names().empty());
}

TEST_F(RedisRegistryTest, AStreamOfANodeThatIsGoneShowsReconnectingAndCanBeTakenOver) {
  // A node that died without a word: its claim stays for its lease, its node
  // key is gone. Nothing compares clocks: the claim's times are far off.
  redis_->cli({"SET", "mirror:stream:cam3",
               R"({"name":"cam3","node":"ghost","instance":"g1","protocol":"srt","status":"live",)"
               R"("started_at_ms":1,"heartbeat_at_ms":8999999999999})",
               "PX", "60000"});
  Node& b = start(options("node-b"));
  ASSERT_TRUE(eventually([&] { return lists(*b.registry, "cam3", "ghost", "reconnecting"); }, 5s));
  EXPECT_TRUE(b.registry->check("cam3"));
  ASSERT_TRUE(b.registry->claim(record("cam3")));
  ASSERT_TRUE(eventually([&] { return redis_->cli({"GET", "mirror:stream:cam3"}).find("node-b") != std::string::npos; }, 5s));
  EXPECT_TRUE(lists(*b.registry, "cam3", "node-b"));
  EXPECT_TRUE(b.lost_names().empty());
}

TEST_F(RedisRegistryTest, ALiveNodesClaimHoldsWhateverItsClockSays) {
  // Another node, up (its key renewed), whose clock is a day ahead.
  const auto day_ahead = std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch() + 24h)
          .count());
  redis_->cli({"SET", "mirror:node:skewed",
               R"({"id":"skewed","instance":"s1","url":"http://x","version":"v","streams":["cam4"],)"
               R"("load":{"cpu_percent":0,"egress_bps":0,"viewers":0},"started_at_ms":)" + day_ahead +
                   R"(,"heartbeat_at_ms":)" + day_ahead + "}",
               "PX", "60000"});
  redis_->cli({"SET", "mirror:stream:cam4",
               R"({"name":"cam4","node":"skewed","instance":"s1","protocol":"srt","status":"live",)"
               R"("started_at_ms":1,"heartbeat_at_ms":1})",
               "PX", "60000"});
  Node& b = start(options("node-b"));
  ASSERT_TRUE(eventually([&] { return lists(*b.registry, "cam4", "skewed", "live"); }, 5s));
  EXPECT_FALSE(b.registry->check("cam4"));
}

TEST_F(RedisRegistryTest, RedisRestartedEmptyGetsEveryNodeAndClaimBack) {
  Node& a = start(options("node-a"));
  ASSERT_TRUE(a.registry->claim(record("cam5")));
  ASSERT_TRUE(eventually([&] { return redis_->cli({"EXISTS", "mirror:stream:cam5"}) == "1"; }, 5s));
  redis_->stop();
  ASSERT_TRUE(eventually([&] { return a.registry->health().status == core::HealthStatus::kDegraded; }, 10s));
  EXPECT_NE(a.registry->health().message.find("Redis unreachable"), std::string::npos);
  // Local knowledge meanwhile: the stream is still there, new names are admitted.
  EXPECT_TRUE(a.registry->find("cam5"));
  ASSERT_TRUE(a.registry->claim(record("cam6")));
  EXPECT_EQ(metric(a, "mirror_redis_up"), 0);

  ASSERT_TRUE(redis_->start());
  // Within two heartbeats of its return (plus a reconnection attempt).
  ASSERT_TRUE(eventually([&] {
    return redis_->cli({"EXISTS", "mirror:node:node-a", "mirror:stream:cam5", "mirror:stream:cam6"}) == "3";
  }, 10s));
  EXPECT_EQ(a.registry->health().status, core::HealthStatus::kHealthy);
  EXPECT_GE(metric(a, "mirror_redis_connects_total"), 2);
}

TEST_F(RedisRegistryTest, GarbageUnderItsKeysAndOnItsChannelIsSkippedAndCounted) {
  redis_->cli({"SET", "mirror:stream:junk", "not json at all"});
  redis_->cli({"SET", "mirror:stream:big", std::string(100000, '{')});
  redis_->cli({"RPUSH", "mirror:stream:listy", "a"});
  redis_->cli({"SET", "mirror:stream:../escape", "{}"});
  redis_->cli({"SET", "mirror:stream:liar",
               R"({"name":"other","node":"x","instance":"i","protocol":"srt","status":"live","started_at_ms":1,"heartbeat_at_ms":1})"});
  redis_->cli({"SET", "mirror:node:junk", "{}"});
  Node& b = start(options("node-b"));
  redis_->cli({"PUBLISH", "mirror:events", "garbage"});
  redis_->cli({"PUBLISH", "mirror:events", R"({"event":"added","stream":{"name":"x"}})"});
  ASSERT_TRUE(eventually([&] { return metric(b, "mirror_cluster_bad_records_total") >= 8; }, 5s));
  EXPECT_TRUE(b.registry->list().empty());
  EXPECT_EQ(b.registry->nodes().size(), 1u);
  EXPECT_EQ(b.registry->health().status, core::HealthStatus::kHealthy);
  // A claim takes a name whose value is not a record.
  ASSERT_TRUE(b.registry->claim(record("junk")));
  ASSERT_TRUE(b.registry->claim(record("listy")));
  ASSERT_TRUE(eventually([&] {
    return redis_->cli({"GET", "mirror:stream:junk"}).find("node-b") != std::string::npos &&
           redis_->cli({"TYPE", "mirror:stream:listy"}) == "string";
  }, 5s));
  EXPECT_TRUE(b.lost_names().empty());
}

TEST_F(RedisRegistryTest, ANodeIdHeldByAnotherProcessIsReportedUntilItIsFree) {
  Node& first = start(options("same-id"));
  ASSERT_TRUE(eventually([&] { return redis_->cli({"EXISTS", "mirror:node:same-id"}) == "1"; }, 5s));
  Node& second = start(options("same-id"));
  ASSERT_TRUE(eventually([&] { return second.registry->health().status == core::HealthStatus::kDegraded; }, 5s));
  EXPECT_NE(second.registry->health().message.find("held by another process (http://127.0.0.1:1/same-id)"),
            std::string::npos)
      << second.registry->health().message;
  EXPECT_EQ(metric(second, "mirror_cluster_node_id_conflict"), 1);
  EXPECT_EQ(first.registry->health().status, core::HealthStatus::kHealthy);
  // The first leaves (its key goes with it): the second registers.
  first.registry->stop(std::chrono::steady_clock::now());
  ASSERT_TRUE(eventually([&] { return second.registry->health().status == core::HealthStatus::kHealthy; }, 5s));
  EXPECT_EQ(metric(second, "mirror_cluster_node_id_conflict"), 0);
}

TEST_F(RedisRegistryTest, EndingAnotherNodesStreamAsksThatNode) {
  Node& a = start(options("node-a"));
  Node& b = start(options("node-b"));
  ASSERT_TRUE(a.registry->claim(record("cam7")));
  ASSERT_TRUE(eventually([&] { return lists(*b.registry, "cam7", "node-a"); }, 5s));
  ASSERT_TRUE(b.registry->request_end("cam7"));
  ASSERT_TRUE(eventually([&] { return a.ends() == std::vector<std::string>{"cam7"}; }, 5s));
  EXPECT_EQ(b.registry->request_end("nothing").error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(a.registry->request_end("cam7").error().code, core::ErrorCode::kNotFound);  // its own
}

TEST_F(RedisRegistryTest, AWrongOrMissingPasswordFailsTheStartWithItsCause) {
  RedisServer locked(dir_.string() + "/locked", RedisServer::Options{.password = "s3cret", .replica_of = 0});
  ASSERT_TRUE(locked.ready());
  core::MetricsRegistry m1, m2, m3;
  auto o = options("node-a", locked.address());
  o.redis.password = "wrong";
  RedisStreamRegistry wrong(o, m1);
  auto st = wrong.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, core::ErrorCode::kUnauthorized);
  EXPECT_NE(st.error().message.find("Redis refused the password"), std::string::npos) << st.error().message;
  EXPECT_EQ(st.error().message.find("wrong"), std::string::npos) << "never the password itself";

  o.redis.password.clear();
  RedisStreamRegistry none(o, m2);
  st = none.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("Redis wants a password"), std::string::npos) << st.error().message;

  o.redis.password = "s3cret";
  RedisStreamRegistry right(o, m3);
  ASSERT_TRUE(right.start());
  EXPECT_EQ(right.health().status, core::HealthStatus::kHealthy);
  right.stop(std::chrono::steady_clock::now());
}

TEST_F(RedisRegistryTest, UnreachableAtStartRunsOnLocalKnowledgeAndJoinsLater) {
  redis_->stop();
  Node& a = start(options("node-a"));
  EXPECT_EQ(a.registry->health().status, core::HealthStatus::kDegraded);
  EXPECT_NE(a.registry->health().message.find("Connection refused"), std::string::npos);
  EXPECT_TRUE(a.registry->claim(record("cam8")));
  EXPECT_TRUE(a.registry->find("cam8"));
  EXPECT_EQ(metric(a, "mirror_redis_up"), 0);
  ASSERT_TRUE(redis_->start());
  ASSERT_TRUE(eventually([&] { return redis_->cli({"EXISTS", "mirror:node:node-a", "mirror:stream:cam8"}) == "2"; }, 10s));
  EXPECT_EQ(a.registry->health().status, core::HealthStatus::kHealthy);
}

}  // namespace
}  // namespace mirror::state::redis
