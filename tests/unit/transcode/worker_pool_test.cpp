#include "transcode/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace mirror::transcode {
namespace {

// Counts work done in turns of at most `batch` items and notes whether two
// turns of the same job ever overlapped.
class CountingJob final : public WorkerPool::Job {
 public:
  explicit CountingJob(int batch = 1) : batch_(batch) {}
  void add(int n) { pending_.fetch_add(n); }
  bool run() override {
    if (running_.exchange(true)) overlapped_ = true;
    int done = 0;
    while (done < batch_ && pending_.load() > 0) {
      pending_.fetch_sub(1);
      ++done;
      completed_.fetch_add(1);
    }
    std::this_thread::yield();
    running_.store(false);
    {
      std::lock_guard lock(mutex_);
      changed_.notify_all();
    }
    return pending_.load() > 0;
  }
  bool wait_for(int total, std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return completed_.load() >= total; });
  }
  int completed() const { return completed_.load(); }
  bool overlapped() const { return overlapped_.load(); }

 private:
  const int batch_;
  std::atomic<int> pending_{0};
  std::atomic<int> completed_{0};
  std::atomic<bool> running_{false};
  std::atomic<bool> overlapped_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
};

TEST(WorkerPoolTest, EveryScheduledItemIsDoneAndNoJobRunsTwiceAtOnce) {
  WorkerPool pool(4);
  pool.start();
  auto job = std::make_shared<CountingJob>(3);
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        job->add(1);
        pool.schedule(job);
      }
    });
  }
  for (auto& t : producers) t.join();
  ASSERT_TRUE(job->wait_for(8000, std::chrono::seconds(30)));
  EXPECT_EQ(job->completed(), 8000);
  EXPECT_FALSE(job->overlapped());
  pool.stop();
}

TEST(WorkerPoolTest, ABusyJobDoesNotStarveAnother) {
  WorkerPool pool(1);
  pool.start();
  auto busy = std::make_shared<CountingJob>(1);
  auto quiet = std::make_shared<CountingJob>(1);
  busy->add(1000000);
  pool.schedule(busy);
  quiet->add(1);
  pool.schedule(quiet);
  // One thread, a job that always has more: the other still gets its turn.
  EXPECT_TRUE(quiet->wait_for(1, std::chrono::seconds(10)));
  EXPECT_LT(busy->completed(), 1000000);
  pool.stop();
}

TEST(WorkerPoolTest, StopDropsQueuedTurnsAndTheJobCanBeScheduledAgainLater) {
  auto job = std::make_shared<CountingJob>(1);
  {
    WorkerPool pool(2);
    pool.start();
    job->add(1);
    pool.schedule(job);
    ASSERT_TRUE(job->wait_for(1, std::chrono::seconds(10)));
    pool.stop();
  }
  WorkerPool again(1);
  again.start();
  job->add(1);
  again.schedule(job);
  EXPECT_TRUE(job->wait_for(2, std::chrono::seconds(10)));
  again.stop();
}

}  // namespace
}  // namespace mirror::transcode
