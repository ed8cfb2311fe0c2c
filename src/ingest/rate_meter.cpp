#include "ingest/rate_meter.h"

namespace mirror::ingest {

void RateMeter::add(std::uint64_t amount, Clock::time_point now) {
  const std::int64_t sec = second_of(now);
  const auto i = static_cast<std::size_t>(sec % kBuckets);
  if (seconds_[i].load(std::memory_order_relaxed) != sec) {
    amounts_[i].store(0, std::memory_order_relaxed);
    seconds_[i].store(sec, std::memory_order_relaxed);
  }
  amounts_[i].fetch_add(amount, std::memory_order_relaxed);
  total_.fetch_add(amount, std::memory_order_relaxed);
}

double RateMeter::per_second(int seconds, Clock::time_point now) const {
  if (seconds < 1) seconds = 1;
  if (seconds > 10) seconds = 10;
  const std::int64_t current = second_of(now);
  std::uint64_t sum = 0;
  for (int back = 1; back <= seconds; ++back) {
    const std::int64_t sec = current - back;
    const auto i = static_cast<std::size_t>(((sec % kBuckets) + kBuckets) % kBuckets);
    if (seconds_[i].load(std::memory_order_relaxed) == sec) {
      sum += amounts_[i].load(std::memory_order_relaxed);
    }
  }
  return static_cast<double>(sum) / seconds;
}

}  // namespace mirror::ingest
