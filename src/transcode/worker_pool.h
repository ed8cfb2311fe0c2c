// WorkerPool: a fixed set of threads that run stream jobs. A job is scheduled
// whenever its stream has work; it never runs on two threads at once, and a
// job that still has work after its turn goes to the back of the queue, so a
// busy stream cannot starve the others. Scheduling costs an atomic exchange
// when the job is already queued or running.
//
// The workers can run at a lower CPU priority (a nice value, which the
// decoder and encoder threads they start inherit), so that on a busy machine
// transcoding waits rather than the ingest, packaging and delivery of the
// sources.
//
// Threads: schedule() from any thread; run() of a job on one worker at a
// time, with everything the previous turn wrote visible to the next.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mirror::transcode {

class WorkerPool {
 public:
  class Job {
   public:
    virtual ~Job() = default;
    // One turn of work; true when there is more to do right away.
    virtual bool run() = 0;

   private:
    friend class WorkerPool;
    enum State : int { kIdle, kQueued, kRunning, kRunningAgain };
    std::atomic<int> state_{kIdle};
  };

  // `nice`: added to each worker's nice value (0: the process's priority).
  explicit WorkerPool(int threads, std::string name = "transcode", int nice = 0);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start();
  // Finishes the turns in progress; queued jobs are dropped.
  void stop();
  void schedule(const std::shared_ptr<Job>& job);
  int threads() const { return threads_; }

 private:
  void work();
  void enqueue(std::shared_ptr<Job> job);

  const int threads_;
  const std::string name_;
  const int nice_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace mirror::transcode
