// A bounded, lock-free multi-producer single-consumer queue: many threads hand
// work to one owner (connections posting to a stream's hub, workers returning
// results). Dmitry Vyukov's bounded MPMC queue, with the consumer side simplified
// because only one thread pops.
//
// Threads: any number of threads may call try_push/try_emplace concurrently;
// exactly one thread calls try_pop. size_approx() and capacity() are safe anywhere.
// Construction and destruction need no other thread touching the queue.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>

namespace mirror::core {

template <class T>
class MpscQueue {
 public:
  // The capacity is rounded up to a power of two (>= 2): the algorithm's sequence
  // numbers need the slot index to be a mask.
  explicit MpscQueue(std::size_t capacity)
      : mask_(storage_size(capacity) - 1), cells_(std::make_unique<Cell[]>(mask_ + 1)) {
    // A cell whose sequence equals a position is free for the producer that
    // claims that position.
    for (std::size_t i = 0; i <= mask_; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  }

  ~MpscQueue() {
    // Without concurrent producers every claimed position has been published.
    const std::size_t end = enqueue_pos_.load(std::memory_order_relaxed);
    for (std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed); pos != end; ++pos) {
      std::destroy_at(cells_[pos & mask_].element());
    }
  }

  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  // Any thread. False when full; `value` is then left untouched.
  bool try_push(T&& value) { return try_emplace(std::move(value)); }
  bool try_push(const T& value) { return try_emplace(value); }

  template <class... Args>
  bool try_emplace(Args&&... args) {
    std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    Cell* cell = nullptr;
    for (;;) {
      cell = &cells_[pos & mask_];
      const std::size_t seq = cell->sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (diff == 0) {
        // The cell is free for `pos`: claim the position.
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
        // Lost the race; `pos` now holds the current position.
      } else if (diff < 0) {
        // The cell still holds the element from one lap ago: full.
        return false;
      } else {
        // Another producer claimed `pos` already.
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
    std::construct_at(cell->element(), std::forward<Args>(args)...);
    cell->sequence.store(pos + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. Empty when no element is ready. A producer that claimed a
  // position but has not finished constructing its element briefly hides the
  // elements behind it: they are returned by a later call, never lost.
  std::optional<T> try_pop() {
    const std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    Cell& cell = cells_[pos & mask_];
    if (cell.sequence.load(std::memory_order_acquire) != pos + 1) return std::nullopt;
    T* element = cell.element();
    std::optional<T> out(std::move(*element));
    std::destroy_at(element);
    // Free the cell for the producer one lap ahead.
    cell.sequence.store(pos + mask_ + 1, std::memory_order_release);
    dequeue_pos_.store(pos + 1, std::memory_order_relaxed);
    return out;
  }

  // Elements claimed by producers and not yet popped, at some moment during the call.
  std::size_t size_approx() const noexcept {
    const std::size_t head = dequeue_pos_.load(std::memory_order_acquire);
    const std::size_t tail = enqueue_pos_.load(std::memory_order_acquire);
    return tail > head ? tail - head : 0;
  }
  std::size_t capacity() const noexcept { return mask_ + 1; }

 private:
  struct Cell {
    std::atomic<std::size_t> sequence;
    alignas(T) unsigned char bytes[sizeof(T)];

    T* element() noexcept { return std::launder(reinterpret_cast<T*>(bytes)); }
  };

  static std::size_t storage_size(std::size_t capacity) {
    if (capacity == 0) throw std::invalid_argument("MpscQueue capacity must be at least 1");
    std::size_t n = 2;
    while (n < capacity) n <<= 1;
    return n;
  }

  const std::size_t mask_;
  const std::unique_ptr<Cell[]> cells_;
  // Producers contend on enqueue_pos_; keep the consumer's index off that line.
  alignas(64) std::atomic<std::size_t> enqueue_pos_{0};
  alignas(64) std::atomic<std::size_t> dequeue_pos_{0};
};

}  // namespace mirror::core
