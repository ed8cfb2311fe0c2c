// A bounded, lock-free single-producer single-consumer ring: the hand-off between
// two pipeline stages on two threads (ingest -> packager of one stream).
//
// Threads: exactly one thread calls try_push/try_emplace and exactly one thread
// calls try_pop (they may differ, and each role may move to another thread if the
// hand-over is synchronized). size_approx() and capacity() are safe anywhere.
// Construction and destruction need no other thread touching the ring.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace mirror::core {

template <class T>
class SpscRing {
 public:
  // Holds at most `capacity` elements (>= 1).
  explicit SpscRing(std::size_t capacity)
      : capacity_(capacity),
        mask_(storage_size(capacity) - 1),
        slots_(std::make_unique<Slot[]>(mask_ + 1)) {}

  ~SpscRing() {
    // Elements never popped are still alive in their slots.
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    for (std::size_t i = head_.load(std::memory_order_relaxed); i != tail; ++i) {
      std::destroy_at(element(i));
    }
  }

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer only. False when full; `value` is then left untouched.
  bool try_push(T&& value) { return try_emplace(std::move(value)); }
  bool try_push(const T& value) { return try_emplace(value); }

  template <class... Args>
  bool try_emplace(Args&&... args) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ == capacity_) {
      // Only look at the consumer's index (another core's cache line) when the
      // cached copy says full.
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ == capacity_) return false;
    }
    std::construct_at(element(tail), std::forward<Args>(args)...);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. Empty optional when the ring is empty.
  std::optional<T> try_pop() {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return std::nullopt;
    }
    T* slot = element(head);
    std::optional<T> out(std::move(*slot));
    std::destroy_at(slot);
    head_.store(head + 1, std::memory_order_release);
    return out;
  }

  // Elements in the ring at some moment during the call.
  std::size_t size_approx() const noexcept {
    // Head first: tail only grows, so tail read later is >= this head.
    const std::size_t head = head_.load(std::memory_order_acquire);
    const std::size_t tail = tail_.load(std::memory_order_acquire);
    return tail - head;
  }
  bool empty_approx() const noexcept { return size_approx() == 0; }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  // Raw storage: slots hold live objects only between push and pop.
  struct Slot {
    alignas(T) unsigned char bytes[sizeof(T)];
  };

  static std::size_t storage_size(std::size_t capacity) {
    if (capacity == 0) throw std::invalid_argument("SpscRing capacity must be at least 1");
    // A power of two, so an index is a mask rather than a division; the exact
    // capacity is still enforced by the full check.
    std::size_t n = 1;
    while (n < capacity) n <<= 1;
    return n;
  }

  T* element(std::size_t index) noexcept {
    return std::launder(reinterpret_cast<T*>(slots_[index & mask_].bytes));
  }

  // Indices grow without wrapping (2^64 pushes will not happen); the slot is
  // index & mask_. Producer state and consumer state live on separate cache
  // lines, each with its cached copy of the other side's index.
  alignas(64) std::atomic<std::size_t> tail_{0};
  std::size_t head_cache_ = 0;  // producer's last view of head_
  alignas(64) std::atomic<std::size_t> head_{0};
  std::size_t tail_cache_ = 0;  // consumer's last view of tail_
  alignas(64) const std::size_t capacity_;
  const std::size_t mask_;
  const std::unique_ptr<Slot[]> slots_;
};

}  // namespace mirror::core
