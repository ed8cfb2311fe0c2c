#include "core/mpsc_queue.h"

#include "core/buffer_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mirror::core {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

struct Tracked {
  static inline std::atomic<int> live{0};
  std::string payload;

  explicit Tracked(std::string p) : payload(std::move(p)) { ++live; }
  Tracked(const Tracked& o) : payload(o.payload) { ++live; }
  Tracked(Tracked&& o) noexcept : payload(std::move(o.payload)) { ++live; }
  ~Tracked() { --live; }
};

TEST(MpscQueueTest, PopsInFifoOrderFromOneProducer) {
  MpscQueue<int> q(8);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(q.try_push(int{i}));
  EXPECT_EQ(q.size_approx(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(q.try_pop(), i);
  EXPECT_FALSE(q.try_pop().has_value());
}

TEST(MpscQueueTest, RoundsCapacityUpToAPowerOfTwoAndReportsFull) {
  MpscQueue<int> q(5);
  EXPECT_EQ(q.capacity(), 8u);
  EXPECT_EQ(MpscQueue<int>(1).capacity(), 2u);
  EXPECT_FALSE(q.try_pop().has_value());
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(q.try_emplace(i));
  EXPECT_FALSE(q.try_push(8));
  EXPECT_EQ(q.try_pop(), 0);
  EXPECT_TRUE(q.try_push(8));
  EXPECT_FALSE(q.try_push(9));
}

TEST(MpscQueueTest, WrapsAroundManyTimes) {
  MpscQueue<std::uint64_t> q(4);
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int n = 1 + round % 4;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(q.try_push(std::uint64_t{next_in++}));
    for (int i = 0; i < n; ++i) ASSERT_EQ(q.try_pop(), next_out++);
  }
  EXPECT_EQ(q.size_approx(), 0u);
}

TEST(MpscQueueTest, FailedPushLeavesTheValueWithTheCaller) {
  MpscQueue<std::unique_ptr<int>> q(2);
  EXPECT_TRUE(q.try_push(std::make_unique<int>(1)));
  EXPECT_TRUE(q.try_push(std::make_unique<int>(2)));
  auto third = std::make_unique<int>(3);
  EXPECT_FALSE(q.try_push(std::move(third)));
  ASSERT_NE(third, nullptr);  // NOLINT(bugprone-use-after-move): not moved on failure
  EXPECT_EQ(*third, 3);       // NOLINT(clang-analyzer-cplusplus.Move)
  EXPECT_EQ(**q.try_pop(), 1);
}

TEST(MpscQueueTest, DestroysElementsLeftInTheQueue) {
  ASSERT_EQ(Tracked::live.load(), 0);
  {
    MpscQueue<Tracked> q(4);
    for (int i = 0; i < 4; ++i)
      ASSERT_TRUE(q.try_emplace("a string long enough to allocate " + std::to_string(i)));
    EXPECT_EQ(q.try_pop()->payload.back(), '0');
    ASSERT_TRUE(q.try_emplace("wrapped"));
    EXPECT_EQ(Tracked::live.load(), 4);
  }
  EXPECT_EQ(Tracked::live.load(), 0);
}

TEST(MpscQueueTest, BufferRefsLeftInTheQueueReturnToThePool) {
  BufferPool pool;
  {
    MpscQueue<BufferRef> q(8);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.try_push(pool.acquire(10000)));
    EXPECT_EQ(pool.stats().classes[1].in_use, 5u);
  }
  EXPECT_EQ(pool.stats().classes[1].in_use, 0u);
}

TEST(MpscQueueTest, RejectsZeroCapacity) {
  EXPECT_THROW(MpscQueue<int>(0), std::invalid_argument);
}

TEST(MpscQueueTest, FourProducersOneConsumerStress) {
  constexpr int kProducers = 4;
  constexpr std::uint64_t kPerProducer = kSanitized ? 50000 : 250000;
  MpscQueue<std::uint64_t> q(1024);
  std::atomic<bool> go{false};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      while (!go.load()) std::this_thread::yield();
      for (std::uint64_t i = 0; i < kPerProducer; ++i) {
        const std::uint64_t item = (static_cast<std::uint64_t>(p) << 32) | i;
        while (!q.try_push(std::uint64_t{item})) std::this_thread::yield();
      }
    });
  }
  go = true;
  std::vector<std::uint64_t> next(kProducers, 0);  // per producer, items arrive in order
  std::uint64_t errors = 0;
  std::uint64_t received = 0;
  while (received < kProducers * kPerProducer) {
    auto item = q.try_pop();
    if (!item) {
      std::this_thread::yield();
      continue;
    }
    const std::uint64_t p = *item >> 32;
    const std::uint64_t seq = *item & 0xffffffffu;
    if (p >= kProducers || seq != next[p]) {
      ++errors;
    } else {
      ++next[p];
    }
    ++received;
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(errors, 0u);
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kPerProducer) << "producer " << p;
  EXPECT_FALSE(q.try_pop().has_value()) << "nothing received twice";
}

}  // namespace
}  // namespace mirror::core
