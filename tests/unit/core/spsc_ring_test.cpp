#include "core/spsc_ring.h"

#include "core/buffer_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

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

// Counts live instances, so a test can see that the ring destroys what it holds.
struct Tracked {
  static inline std::atomic<int> live{0};
  std::string payload;

  explicit Tracked(std::string p) : payload(std::move(p)) { ++live; }
  Tracked(const Tracked& o) : payload(o.payload) { ++live; }
  Tracked(Tracked&& o) noexcept : payload(std::move(o.payload)) { ++live; }
  ~Tracked() { --live; }
};

TEST(SpscRingTest, PopsInFifoOrder) {
  SpscRing<int> ring(8);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(ring.try_push(int{i}));
  EXPECT_EQ(ring.size_approx(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ring.try_pop(), i);
  EXPECT_FALSE(ring.try_pop().has_value());
}

TEST(SpscRingTest, HoldsExactlyItsCapacity) {
  SpscRing<int> ring(3);  // not a power of two: still exactly 3
  EXPECT_EQ(ring.capacity(), 3u);
  EXPECT_TRUE(ring.empty_approx());
  EXPECT_FALSE(ring.try_pop().has_value());
  EXPECT_TRUE(ring.try_push(1));
  EXPECT_TRUE(ring.try_push(2));
  EXPECT_TRUE(ring.try_emplace(3));
  EXPECT_FALSE(ring.try_push(4));
  EXPECT_EQ(ring.size_approx(), 3u);
  EXPECT_EQ(ring.try_pop(), 1);
  EXPECT_TRUE(ring.try_push(4));
  EXPECT_FALSE(ring.try_push(5));
}

TEST(SpscRingTest, WrapsAroundManyTimes) {
  SpscRing<std::uint64_t> ring(5);
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int n = 1 + round % 5;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(ring.try_push(std::uint64_t{next_in++}));
    for (int i = 0; i < n; ++i) ASSERT_EQ(ring.try_pop(), next_out++);
  }
  EXPECT_TRUE(ring.empty_approx());
}

TEST(SpscRingTest, FailedPushLeavesTheValueWithTheCaller) {
  SpscRing<std::unique_ptr<int>> ring(1);
  EXPECT_TRUE(ring.try_push(std::make_unique<int>(1)));
  auto second = std::make_unique<int>(2);
  EXPECT_FALSE(ring.try_push(std::move(second)));
  ASSERT_NE(second, nullptr);  // NOLINT(bugprone-use-after-move): not moved on failure
  EXPECT_EQ(*second, 2);       // NOLINT(clang-analyzer-cplusplus.Move)
  EXPECT_EQ(**ring.try_pop(), 1);
}

TEST(SpscRingTest, DestroysElementsLeftInTheRing) {
  ASSERT_EQ(Tracked::live.load(), 0);
  {
    SpscRing<Tracked> ring(4);
    for (int i = 0; i < 4; ++i)
      ASSERT_TRUE(ring.try_emplace("a string long enough to allocate " + std::to_string(i)));
    // Wrap so the leftovers straddle the end of the storage.
    EXPECT_EQ(ring.try_pop()->payload.back(), '0');
    EXPECT_EQ(ring.try_pop()->payload.back(), '1');
    ASSERT_TRUE(ring.try_emplace("x"));
    EXPECT_EQ(Tracked::live.load(), 3);
  }
  EXPECT_EQ(Tracked::live.load(), 0);
}

TEST(SpscRingTest, BufferRefsLeftInTheRingReturnToThePool) {
  BufferPool pool;
  {
    SpscRing<BufferRef> ring(8);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(ring.try_push(pool.acquire(100)));
    EXPECT_EQ(pool.stats().classes[0].in_use, 5u);
  }
  EXPECT_EQ(pool.stats().classes[0].in_use, 0u);
}

TEST(SpscRingTest, RejectsZeroCapacity) {
  EXPECT_THROW(SpscRing<int>(0), std::invalid_argument);
}

TEST(SpscRingTest, OneProducerOneConsumerStress) {
  constexpr std::uint64_t kItems = kSanitized ? 200000 : 1000000;
  SpscRing<std::uint64_t> ring(1024);
  std::uint64_t produced_sum = 0;
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kItems; ++i) {
      const std::uint64_t v = i * 2654435761u;
      while (!ring.try_push(std::uint64_t{v})) std::this_thread::yield();
      produced_sum += v;
    }
  });
  std::uint64_t consumed_sum = 0;
  std::uint64_t out_of_order = 0;
  for (std::uint64_t i = 0; i < kItems; ++i) {
    std::optional<std::uint64_t> v;
    while (!(v = ring.try_pop())) std::this_thread::yield();
    if (*v != i * 2654435761u) ++out_of_order;
    consumed_sum += *v;
  }
  producer.join();
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(consumed_sum, produced_sum);
  EXPECT_FALSE(ring.try_pop().has_value());
}

}  // namespace
}  // namespace mirror::core
