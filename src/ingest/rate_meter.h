// Bytes (or frames) per second over the last 1 and 10 seconds, from per-second
// buckets. One writer thread (the stream's ingest thread) adds; any thread
// reads. Relaxed atomics: a reading may straddle a bucket change, which is
// fine for a rate shown to people and scraped by Prometheus.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace mirror::ingest {

class RateMeter {
 public:
  using Clock = std::chrono::steady_clock;

  void add(std::uint64_t amount, Clock::time_point now = Clock::now());
  // Average per second over the last `seconds` complete seconds (1..10).
  double per_second(int seconds, Clock::time_point now = Clock::now()) const;
  std::uint64_t total() const { return total_.load(std::memory_order_relaxed); }

 private:
  static constexpr int kBuckets = 12;  // 10 complete seconds, the current one, one spare
  static std::int64_t second_of(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  }

  std::array<std::atomic<std::uint64_t>, kBuckets> amounts_{};
  std::array<std::atomic<std::int64_t>, kBuckets> seconds_{};
  std::atomic<std::uint64_t> total_{0};
};

}  // namespace mirror::ingest
