// A pool of event loops shared by every network room (HTTP, ingest): one
// io_context per thread, one thread per core.
// Every connection lives on one context for its whole life, so its state needs
// no lock; other threads reach it by posting to its executor.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace mirror::net {

class IoPool {
 public:
  // threads == 0: one per hardware core.
  explicit IoPool(std::size_t threads = 0);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  void start();
  // Lets the loops finish their queued work, then joins the threads.
  void stop();

  // Round-robin choice for a new connection.
  boost::asio::io_context& next();
  // Context `i` (0 <= i < size()), for rooms that keep one object per loop.
  boost::asio::io_context& context(std::size_t i) { return *contexts_.at(i); }
  std::size_t size() const { return contexts_.size(); }

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace mirror::net
