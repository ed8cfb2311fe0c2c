#include "transcode/worker_pool.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace mirror::transcode {

WorkerPool::WorkerPool(int threads, std::string name, int nice)
    : threads_(std::max(1, threads)), name_(std::move(name)), nice_(nice) {}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::start() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  for (int i = 0; i < threads_; ++i) {
    workers_.emplace_back([this, i] {
      const std::string thread_name = (name_ + "-" + std::to_string(i)).substr(0, 15);
      pthread_setname_np(pthread_self(), thread_name.c_str());
      if (nice_ != 0) {
        // Per thread on Linux; a refusal (no permission to lower a nice
        // value) leaves the thread at the process's priority.
        const id_t tid = static_cast<id_t>(gettid());
        setpriority(PRIO_PROCESS, tid, getpriority(PRIO_PROCESS, tid) + nice_);
      }
      work();
    });
  }
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  std::lock_guard lock(mutex_);
  for (auto& job : queue_) job->state_.store(Job::kIdle, std::memory_order_release);
  queue_.clear();
}

void WorkerPool::enqueue(std::shared_ptr<Job> job) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void WorkerPool::schedule(const std::shared_ptr<Job>& job) {
  int state = job->state_.load(std::memory_order_acquire);
  while (true) {
    if (state == Job::kIdle) {
      if (job->state_.compare_exchange_weak(state, Job::kQueued, std::memory_order_acq_rel)) {
        enqueue(job);
        return;
      }
    } else if (state == Job::kRunning) {
      // The running turn will look again before it lets go.
      if (job->state_.compare_exchange_weak(state, Job::kRunningAgain, std::memory_order_acq_rel)) return;
    } else {
      return;  // queued, or already told to run again
    }
  }
}

void WorkerPool::work() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job->state_.store(Job::kRunning, std::memory_order_release);
    const bool more = job->run();
    int expected = Job::kRunning;
    if (more || !job->state_.compare_exchange_strong(expected, Job::kIdle, std::memory_order_acq_rel)) {
      // More work (or work arrived during the turn): back of the queue.
      job->state_.store(Job::kQueued, std::memory_order_release);
      enqueue(std::move(job));
    }
    lock.lock();
  }
}

}  // namespace mirror::transcode
