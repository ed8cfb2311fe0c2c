#include "core/buffer_pool.h"
#include "core/spsc_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
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

constexpr std::size_t k2K = 2u << 10;
constexpr std::size_t k16K = 16u << 10;
constexpr std::size_t k64K = 64u << 10;
constexpr std::size_t k1M = 1u << 20;
constexpr std::size_t k4M = 4u << 20;

TEST(BufferPoolTest, SelectsSmallestFittingClass) {
  EXPECT_EQ(BufferPool::size_class_for(0), 0);
  EXPECT_EQ(BufferPool::size_class_for(1), 0);
  EXPECT_EQ(BufferPool::size_class_for(k2K), 0);
  EXPECT_EQ(BufferPool::size_class_for(k2K + 1), 1);
  EXPECT_EQ(BufferPool::size_class_for(k16K), 1);
  EXPECT_EQ(BufferPool::size_class_for(k64K), 2);
  EXPECT_EQ(BufferPool::size_class_for(k64K + 1), 3);
  EXPECT_EQ(BufferPool::size_class_for(k1M), 3);
  EXPECT_EQ(BufferPool::size_class_for(k4M), 4);
  EXPECT_EQ(BufferPool::size_class_for(k4M + 1), -1);

  BufferPool pool;
  const std::size_t requests[] = {0, 1316, k2K + 1, 60u << 10, 700u << 10, 3u << 20};
  const std::size_t expected[] = {k2K, k2K, k16K, k64K, k1M, k4M};
  for (std::size_t i = 0; i < std::size(requests); ++i) {
    BufferRef b = pool.acquire(requests[i]);
    EXPECT_EQ(b.size(), requests[i]);
    EXPECT_EQ(b.capacity(), expected[i]);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % 64, 0u)
        << "payload is cache-line aligned";
  }
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.classes[0].os_allocations, 1u) << "the 0 and 1316 byte requests share one block";
  for (std::size_t c = 0; c < kBufferSizeClassCount; ++c) {
    EXPECT_EQ(s.classes[c].block_size, BufferPool::kSizeClasses[c]);
    EXPECT_EQ(s.classes[c].in_use, 0u);
  }
}

TEST(BufferPoolTest, ReusesReleasedBlocks) {
  BufferPool pool;
  const std::uint8_t* first = nullptr;
  {
    BufferRef b = pool.acquire(1000);
    first = b.data();
    EXPECT_EQ(pool.stats().classes[0].in_use, 1u);
  }
  EXPECT_EQ(pool.stats().classes[0].in_use, 0u);
  EXPECT_EQ(pool.stats().classes[0].cached_local, 1u);
  BufferRef again = pool.acquire(1500);
  EXPECT_EQ(again.data(), first);
  EXPECT_EQ(again.size(), 1500u);
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.classes[0].os_allocations, 1u);
  EXPECT_EQ(s.classes[0].allocated, 1u);
  EXPECT_EQ(s.blocks_in_use(), 1u);
}

TEST(BufferPoolTest, OversizeRequestsAreUnpooledAndFreedOnRelease) {
  BufferPool pool;
  {
    BufferRef big = pool.acquire(k4M + 12345);
    EXPECT_EQ(big.size(), k4M + 12345);
    EXPECT_EQ(big.capacity(), k4M + 12345);
    big.writable().back() = 0xab;  // the whole range is usable
    const PoolStats s = pool.stats();
    EXPECT_EQ(s.oversize_in_use, 1u);
    EXPECT_EQ(s.oversize_bytes_in_use, k4M + 12345);
    EXPECT_EQ(s.classes[4].os_allocations, 0u);
  }
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.oversize_in_use, 0u);
  EXPECT_EQ(s.oversize_bytes_in_use, 0u);
  EXPECT_EQ(s.blocks_cached(), 0u) << "oversize blocks are never cached";
}

TEST(BufferPoolTest, CopiesShareOneBlockUntilTheLastIsDropped) {
  BufferPool pool;
  BufferRef a = pool.acquire(100);
  EXPECT_EQ(a.use_count(), 1u);
  BufferRef b = a;
  BufferRef c;
  c = b;
  EXPECT_EQ(a.use_count(), 3u);
  EXPECT_EQ(b.data(), a.data());
  BufferRef d = std::move(c);
  EXPECT_FALSE(c);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(a.use_count(), 3u);
  a.reset();
  b.reset();
  EXPECT_EQ(pool.stats().classes[0].in_use, 1u);
  EXPECT_EQ(d.use_count(), 1u);
  d.reset();
  EXPECT_EQ(pool.stats().classes[0].in_use, 0u);
  EXPECT_EQ(BufferRef().use_count(), 0u);
}

TEST(BufferPoolTest, WritableAndResizeOnlyWhileUnique) {
  BufferPool pool;
  BufferRef a = pool.acquire(100);
  ASSERT_EQ(a.writable().size(), 100u);
  std::memset(a.writable().data(), 7, 100);
  EXPECT_TRUE(a.resize(50));
  EXPECT_EQ(a.size(), 50u);
  EXPECT_EQ(a.bytes().size(), 50u);
  EXPECT_FALSE(a.resize(a.capacity() + 1));
  EXPECT_TRUE(a.resize(a.capacity()));
  EXPECT_EQ(a.bytes()[99], 7);
  BufferRef shared = a;
  EXPECT_FALSE(a.resize(10)) << "a shared buffer's bytes are frozen";
  EXPECT_EQ(a.size(), a.capacity());
#ifdef NDEBUG
  EXPECT_TRUE(a.writable().empty());
#endif
  shared.reset();
  EXPECT_FALSE(a.writable().empty());
  EXPECT_FALSE(BufferRef().resize(0));
}

TEST(BufferPoolTest, OwnedBufferMovesAndThenShares) {
  BufferPool pool;
  Buffer owner = pool.acquire_owned(4);
  std::memcpy(owner.data(), "abcd", 4);
  Buffer moved = std::move(owner);
  EXPECT_FALSE(owner);  // NOLINT(bugprone-use-after-move)
  ASSERT_TRUE(moved);
  EXPECT_TRUE(moved.resize(3));
  BufferRef ref = std::move(moved).share();
  EXPECT_FALSE(moved);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(ref.use_count(), 1u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ref.data()), ref.size()), "abc");
  BufferRef implicit = pool.acquire_owned(1);  // Buffer converts to BufferRef
  EXPECT_EQ(pool.stats().classes[0].in_use, 2u);
}

TEST(BufferPoolTest, CopyOfHoldsTheBytes) {
  BufferPool pool;
  const std::uint8_t bytes[] = {1, 2, 3, 4, 5};
  BufferRef b = pool.copy_of(bytes);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(std::memcmp(b.data(), bytes, 5), 0);
  EXPECT_EQ(pool.copy_of({}).size(), 0u);
}

TEST(BufferPoolTest, SliceViewsASubrangeWithoutCopying) {
  BufferPool pool;
  const std::uint8_t bytes[] = {0, 0, 0, 1, 0x65, 0xaa, 0xbb, 0, 0, 1, 0x41};
  BufferRef pes = pool.copy_of(bytes);
  BufferSlice nal(pes, 4, 3);
  EXPECT_EQ(nal.data(), pes.data() + 4);
  EXPECT_EQ(nal.size(), 3u);
  EXPECT_EQ(nal.bytes()[0], 0x65);
  EXPECT_EQ(pes.use_count(), 2u) << "a slice holds a reference";
  BufferSlice tail = nal.subslice(1);
  EXPECT_EQ(tail.data(), pes.data() + 5);
  EXPECT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail.offset(), 5u);
  // Out-of-range windows are clamped, never past the bytes.
  EXPECT_EQ(BufferSlice(pes, 9, 100).size(), 2u);
  EXPECT_TRUE(BufferSlice(pes, 100, 1).empty());
  EXPECT_TRUE(nal.subslice(5, 1).empty());
  EXPECT_EQ(nal.subslice(1, 100).size(), 2u);
  EXPECT_EQ(BufferSlice(pes).size(), pes.size());
  EXPECT_TRUE(BufferSlice().empty());
  EXPECT_EQ(BufferSlice().data(), nullptr);
}

TEST(BufferPoolTest, SliceKeepsTheBlockAlive) {
  BufferPool pool;
  BufferSlice slice;
  {
    const std::uint8_t bytes[] = {9, 8, 7};
    BufferRef b = pool.copy_of(bytes);
    slice = BufferSlice(b, 1, 2);
  }
  EXPECT_EQ(pool.stats().classes[0].in_use, 1u);
  EXPECT_EQ(slice.bytes()[0], 8);
  slice = BufferSlice();
  EXPECT_EQ(pool.stats().classes[0].in_use, 0u);
}

TEST(BufferPoolTest, LastReferenceDroppedOnAnotherThreadReturnsToPool) {
  BufferPool pool;
  BufferRef b = pool.acquire(k1M);
  const std::uint8_t* block = b.data();
  b.writable()[0] = 42;
  std::thread consumer([ref = std::move(b)]() mutable {
    EXPECT_EQ(ref.bytes()[0], 42);
    ref.reset();  // lands in this thread's cache, flushed to the shared list at exit
  });
  consumer.join();
  PoolStats s = pool.stats();
  EXPECT_EQ(s.classes[3].in_use, 0u);
  EXPECT_EQ(s.classes[3].cached_local, 0u) << "an exiting thread hands its cache back";
  EXPECT_EQ(s.classes[3].cached_shared, 1u);
  BufferRef again = pool.acquire(k1M);
  EXPECT_EQ(again.data(), block);
  EXPECT_EQ(pool.stats().classes[3].os_allocations, 1u);
}

TEST(BufferPoolTest, SharedFreeListIsCappedInBytes) {
  BufferPoolOptions options;
  options.max_cached_bytes[0] = 2 * k2K;
  options.thread_cache_blocks[0] = 0;  // every release goes to the shared list
  BufferPool pool(options);
  std::vector<BufferRef> burst;
  for (int i = 0; i < 10; ++i) burst.push_back(pool.acquire(100));
  EXPECT_EQ(pool.stats().classes[0].allocated, 10u);
  burst.clear();
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.classes[0].in_use, 0u);
  EXPECT_EQ(s.classes[0].cached_shared, 2u);
  EXPECT_EQ(s.classes[0].cached_local, 0u);
  EXPECT_EQ(s.classes[0].os_frees, 8u) << "the rest of the burst went back to the OS";
  EXPECT_EQ(s.classes[0].allocated, 2u);
}

TEST(BufferPoolTest, ThreadCacheIsBoundedAndSpillsToSharedList) {
  BufferPoolOptions options;
  options.thread_cache_blocks[1] = 4;
  BufferPool pool(options);
  std::vector<BufferRef> burst;
  for (int i = 0; i < 20; ++i) burst.push_back(pool.acquire(k16K));
  burst.clear();
  PoolStats s = pool.stats();
  EXPECT_LE(s.classes[1].cached_local, 4u);
  EXPECT_EQ(s.classes[1].cached_local + s.classes[1].cached_shared, 20u);
  // The next burst is served from the caches, not the OS.
  for (int i = 0; i < 20; ++i) burst.push_back(pool.acquire(k16K));
  EXPECT_EQ(pool.stats().classes[1].os_allocations, 20u);
  burst.clear();
  pool.trim();
  s = pool.stats();
  EXPECT_EQ(s.classes[1].cached_shared, 0u);
  EXPECT_EQ(s.classes[1].allocated, s.classes[1].cached_local);
}

TEST(BufferPoolTest, WorksWithMorePoolsThanThreadSlots) {
  // A thread caches for a limited number of pools; beyond that it falls back to
  // the shared lists, and slots of destroyed pools are reused.
  std::vector<std::unique_ptr<BufferPool>> pools;
  for (int i = 0; i < 12; ++i) pools.push_back(std::make_unique<BufferPool>());
  for (int round = 0; round < 3; ++round) {
    for (auto& p : pools) {
      BufferRef b = p->acquire(100);
      b.writable()[0] = 1;
    }
  }
  for (auto& p : pools) {
    const PoolStats s = p->stats();
    EXPECT_EQ(s.classes[0].in_use, 0u);
    EXPECT_EQ(s.classes[0].os_allocations, 1u);
  }
  pools.clear();
  for (int i = 0; i < 20; ++i) {
    BufferPool p;
    BufferRef b = p.acquire(100);
    b.reset();
    EXPECT_EQ(p.stats().classes[0].cached_local, 1u) << "slot of a dead pool was reused";
  }
}

TEST(BufferPoolTest, PoolMayDieWhileAnIdleThreadStillCachesItsBlocks) {
  auto pool = std::make_unique<BufferPool>();
  std::atomic<int> phase{0};
  std::thread worker([&] {
    pool->acquire(100).reset();  // leaves a block in this thread's cache
    phase = 1;
    while (phase.load() != 2) std::this_thread::yield();
    // The pool is gone; exiting must not touch it. ASan checks the frees.
  });
  while (phase.load() != 1) std::this_thread::yield();
  EXPECT_EQ(pool->stats().classes[0].cached_local, 1u);
  pool.reset();
  phase = 2;
  worker.join();
}

TEST(BufferPoolTest, GlobalPoolIsUsable) {
  BufferPool& global = BufferPool::global();
  EXPECT_EQ(&global, &BufferPool::global());
  const std::uint64_t before = global.stats().blocks_in_use();
  {
    BufferRef b = global.acquire(1316);
    EXPECT_EQ(global.stats().blocks_in_use(), before + 1);
  }
  EXPECT_EQ(global.stats().blocks_in_use(), before);
}

// Four threads in a ring: each acquires buffers, fills them, and hands them to
// the next thread, which checks and releases them. Every block is acquired on
// one thread and released on another.
TEST(BufferPoolTest, CrossThreadAcquireReleaseStress) {
  constexpr int kThreads = 4;
  constexpr int kTotal = kSanitized ? 40000 : 200000;
  constexpr int kPerThread = kTotal / kThreads;
  BufferPool pool;
  std::vector<std::unique_ptr<SpscRing<BufferRef>>> rings;
  for (int i = 0; i < kThreads; ++i) rings.push_back(std::make_unique<SpscRing<BufferRef>>(64));
  std::atomic<int> errors{0};

  auto run = [&](int self) {
    SpscRing<BufferRef>& out = *rings[self];
    SpscRing<BufferRef>& in = *rings[(self + kThreads - 1) % kThreads];
    const int from = (self + kThreads - 1) % kThreads;
    int sent = 0;
    int received = 0;
    while (sent < kPerThread || received < kPerThread) {
      bool progress = false;
      if (sent < kPerThread) {
        // Mostly datagram-sized, with every size class (and oversize) in the mix.
        std::size_t size = 188 * 7;
        if (sent % 16 == 1) size = 10000;
        if (sent % 64 == 2) size = 50000;
        if (sent % 512 == 3) size = 600000;
        if (sent % 4096 == 4) size = 3000000;
        if (sent % 8192 == 5) size = 5000000;
        BufferRef b = pool.acquire(size);
        auto w = b.writable();
        const std::uint32_t header[2] = {static_cast<std::uint32_t>(self),
                                         static_cast<std::uint32_t>(sent)};
        std::memcpy(w.data(), header, sizeof header);
        w.back() = static_cast<std::uint8_t>(sent);
        if (out.try_push(std::move(b))) {
          ++sent;
          progress = true;
        }
        // On failure `b` is still ours and goes back to the pool here.
      }
      if (auto b = in.try_pop()) {
        std::uint32_t header[2];
        std::memcpy(header, b->data(), sizeof header);
        if (header[0] != static_cast<std::uint32_t>(from) ||
            header[1] != static_cast<std::uint32_t>(received) ||
            b->bytes().back() != static_cast<std::uint8_t>(received)) {
          ++errors;
        }
        ++received;
        progress = true;
      }
      if (!progress) std::this_thread::yield();
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(run, i);
  for (auto& t : threads) t.join();

  EXPECT_EQ(errors.load(), 0);
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.blocks_in_use(), 0u);
  EXPECT_EQ(s.oversize_bytes_in_use, 0u);
  for (std::size_t c = 0; c < kBufferSizeClassCount; ++c) {
    EXPECT_EQ(s.classes[c].in_use, 0u) << "class " << c;
    EXPECT_EQ(s.classes[c].cached_local, 0u) << "exited threads flushed their caches";
    EXPECT_EQ(s.classes[c].allocated, s.classes[c].cached_shared) << "class " << c;
  }
}

}  // namespace
}  // namespace mirror::core
