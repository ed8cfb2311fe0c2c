// Pooled byte buffers for media payloads: a datagram, a PES packet, a frame.
// A block comes from a size class (2 KiB, 16 KiB, 64 KiB, 1 MiB, 4 MiB); larger
// requests get an exact, unpooled allocation freed on release. Stages share a
// block through BufferRef (intrusive atomic refcount) and view parts of it through
// BufferSlice; nothing is copied between stages.
//
// Threads: a BufferPool may be used from any number of threads at once. Each
// thread keeps a few idle blocks per class in a private cache, so acquire and
// release on one thread take no lock in steady state; the last BufferRef may be
// dropped on any thread and returns its block to that thread's cache. A single
// Buffer / BufferRef / BufferSlice object is not itself thread-safe (like
// shared_ptr): give each thread its own copy.
//
// Lifetime: BufferPool::global() lives for the whole process. A pool you construct
// must outlive every buffer taken from it.
#pragma once

#include <array>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

namespace mirror::core {

class Buffer;
class BufferRef;

namespace detail {

class PoolCore;

// Precedes the bytes of every block. Exactly one cache line, so the payload that
// follows it is 64-byte aligned and the refcount does not share a line with it.
struct alignas(64) BlockHeader {
  std::atomic<std::uint32_t> refs{0};
  std::uint8_t size_class = 0;  // index into BufferPool::kSizeClasses, or kOversizeClass
  std::size_t size = 0;
  std::size_t capacity = 0;
  PoolCore* pool = nullptr;
  BlockHeader* next = nullptr;  // free-list link while the block is idle

  std::uint8_t* bytes() noexcept { return reinterpret_cast<std::uint8_t*>(this + 1); }
};
static_assert(sizeof(BlockHeader) == 64);

inline constexpr std::uint8_t kOversizeClass = 0xff;

// Hands a block whose last reference is gone back to its pool (or frees it).
void recycle_block(BlockHeader* block) noexcept;

inline void retain(BlockHeader* b) noexcept {
  b->refs.fetch_add(1, std::memory_order_relaxed);
}

inline void release(BlockHeader* b) noexcept {
  // A sole owner skips the locked decrement: nobody else holds a reference that
  // could be copied, so the count cannot change under us. The acquire load, like
  // the acq_rel decrement, makes every other owner's accesses to the bytes happen
  // before the block is reused.
  if (b->refs.load(std::memory_order_acquire) == 1 ||
      b->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    recycle_block(b);
  }
}

}  // namespace detail

// The only owner of a block: mutable bytes, movable, never shared. Fill it, then
// share() it to hand it to other stages.
class Buffer {
 public:
  Buffer() noexcept = default;
  Buffer(Buffer&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      reset();
      block_ = std::exchange(other.block_, nullptr);
    }
    return *this;
  }
  ~Buffer() { reset(); }

  explicit operator bool() const noexcept { return block_ != nullptr; }
  std::uint8_t* data() noexcept { return block_ ? block_->bytes() : nullptr; }
  const std::uint8_t* data() const noexcept { return block_ ? block_->bytes() : nullptr; }
  std::size_t size() const noexcept { return block_ ? block_->size : 0; }
  std::size_t capacity() const noexcept { return block_ ? block_->capacity : 0; }
  // Sets the logical size; false (and no change) when n > capacity().
  bool resize(std::size_t n) noexcept {
    if (!block_ || n > block_->capacity) return false;
    block_->size = n;
    return true;
  }
  std::span<std::uint8_t> writable() noexcept { return {data(), size()}; }
  std::span<const std::uint8_t> bytes() const noexcept { return {data(), size()}; }
  void reset() noexcept {
    if (block_) detail::release(std::exchange(block_, nullptr));
  }

  // Gives up exclusive ownership: `BufferRef ref = std::move(buffer).share();`.
  BufferRef share() &&;

 private:
  friend class BufferPool;
  friend class BufferRef;
  explicit Buffer(detail::BlockHeader* block) noexcept : block_(block) {}

  detail::BlockHeader* block_ = nullptr;
};

// A shared reference to a block. Copies are cheap (one relaxed increment); the
// last one to go returns the block to its pool, from whatever thread that is.
class BufferRef {
 public:
  BufferRef() noexcept = default;
  BufferRef(Buffer&& owner) noexcept  // NOLINT(google-explicit-constructor): sharing is the point
      : block_(std::exchange(owner.block_, nullptr)) {}
  BufferRef(const BufferRef& other) noexcept : block_(other.block_) {
    if (block_) detail::retain(block_);
  }
  BufferRef(BufferRef&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  BufferRef& operator=(const BufferRef& other) noexcept {
    BufferRef(other).swap(*this);
    return *this;
  }
  BufferRef& operator=(BufferRef&& other) noexcept {
    BufferRef(std::move(other)).swap(*this);
    return *this;
  }
  ~BufferRef() { reset(); }

  void swap(BufferRef& other) noexcept { std::swap(block_, other.block_); }
  void reset() noexcept {
    if (block_) detail::release(std::exchange(block_, nullptr));
  }

  explicit operator bool() const noexcept { return block_ != nullptr; }
  const std::uint8_t* data() const noexcept { return block_ ? block_->bytes() : nullptr; }
  std::size_t size() const noexcept { return block_ ? block_->size : 0; }
  std::size_t capacity() const noexcept { return block_ ? block_->capacity : 0; }
  std::span<const std::uint8_t> bytes() const noexcept { return {data(), size()}; }

  // Number of BufferRefs (including those inside BufferSlices) sharing the block.
  // acquire: seeing 1 means every other owner's accesses happened before ours.
  std::uint32_t use_count() const noexcept {
    return block_ ? block_->refs.load(std::memory_order_acquire) : 0;
  }
  bool unique() const noexcept { return use_count() == 1; }

  // Mutable bytes, only while this is the sole reference: once a block is shared
  // its bytes are frozen, so readers on other threads need no locks. Returns an
  // empty span (and asserts in debug builds) when shared.
  std::span<std::uint8_t> writable() noexcept {
    assert(unique() && "BufferRef::writable() on a shared buffer");
    if (!unique()) return {};
    return {block_->bytes(), block_->size};
  }
  // Sets the logical size; only while unique and n <= capacity(), else false.
  bool resize(std::size_t n) noexcept {
    if (!unique() || n > block_->capacity) return false;
    block_->size = n;
    return true;
  }

 private:
  detail::BlockHeader* block_ = nullptr;
};

inline BufferRef Buffer::share() && {
  return BufferRef(std::move(*this));
}

// A read-only window into a shared block (a NAL unit inside a PES payload); it
// holds a reference, so the bytes stay valid as long as the slice does. Offsets
// and lengths are clamped to the buffer: a slice never reaches past its bytes.
class BufferSlice {
 public:
  BufferSlice() noexcept = default;
  explicit BufferSlice(BufferRef buffer) noexcept
      : buffer_(std::move(buffer)), offset_(0), length_(buffer_.size()) {}
  BufferSlice(BufferRef buffer, std::size_t offset, std::size_t length) noexcept
      : buffer_(std::move(buffer)) {
    const std::size_t size = buffer_.size();
    offset_ = offset < size ? offset : size;
    length_ = length < size - offset_ ? length : size - offset_;
  }

  const std::uint8_t* data() const noexcept { return buffer_ ? buffer_.data() + offset_ : nullptr; }
  std::size_t size() const noexcept { return length_; }
  bool empty() const noexcept { return length_ == 0; }
  std::span<const std::uint8_t> bytes() const noexcept { return {data(), length_}; }
  std::size_t offset() const noexcept { return offset_; }
  const BufferRef& buffer() const noexcept { return buffer_; }

  // A window relative to this one, clamped to it.
  BufferSlice subslice(std::size_t offset, std::size_t length = SIZE_MAX) const {
    const std::size_t off = offset < length_ ? offset : length_;
    const std::size_t len = length < length_ - off ? length : length_ - off;
    return BufferSlice(buffer_, offset_ + off, len);
  }

 private:
  BufferRef buffer_;
  std::size_t offset_ = 0;
  std::size_t length_ = 0;
};

inline constexpr std::size_t kBufferSizeClassCount = 5;

struct BufferPoolOptions {
  // Idle bytes each class keeps in its shared free list once a burst is over;
  // blocks released beyond this go back to the OS.
  std::array<std::size_t, kBufferSizeClassCount> max_cached_bytes = {8u << 20, 8u << 20, 16u << 20,
                                                                     64u << 20, 64u << 20};
  // Idle blocks each thread keeps per class (at most 64); 0 sends every acquire
  // and release of that class to the shared list. Bounded by bytes in the big
  // classes: every thread that touches the pool may hold this many.
  std::array<std::uint32_t, kBufferSizeClassCount> thread_cache_blocks = {64, 16, 4, 2, 2};
};

struct PoolClassStats {
  std::size_t block_size = 0;
  std::uint64_t in_use = 0;          // blocks referenced by Buffers / BufferRefs
  std::uint64_t cached_local = 0;    // idle in per-thread caches
  std::uint64_t cached_shared = 0;   // idle in the shared free list
  std::uint64_t allocated = 0;       // blocks currently taken from the OS
  std::uint64_t os_allocations = 0;  // cumulative
  std::uint64_t os_frees = 0;        // cumulative
};

// A snapshot for a metrics hook. Per-thread counters are summed without stopping
// the threads, so under load the numbers are approximate; when the pool is quiet
// they are exact.
struct PoolStats {
  std::array<PoolClassStats, kBufferSizeClassCount> classes{};
  std::uint64_t oversize_in_use = 0;
  std::uint64_t oversize_bytes_in_use = 0;

  std::uint64_t blocks_in_use() const noexcept {
    std::uint64_t n = oversize_in_use;
    for (const auto& c : classes) n += c.in_use;
    return n;
  }
  std::uint64_t blocks_cached() const noexcept {
    std::uint64_t n = 0;
    for (const auto& c : classes) n += c.cached_local + c.cached_shared;
    return n;
  }
};

class BufferPool {
 public:
  // 2 KiB: one RTP/UDP datagram or a few TS packets; 16 KiB; 64 KiB: audio and
  // metadata; 1 MiB: SD frames; 4 MiB: HD frames.
  static constexpr std::array<std::size_t, kBufferSizeClassCount> kSizeClasses = {
      2u << 10, 16u << 10, 64u << 10, 1u << 20, 4u << 20};
  static constexpr std::size_t kMaxPooledSize = kSizeClasses.back();

  explicit BufferPool(BufferPoolOptions options = {});
  // Every buffer taken from this pool must have been released.
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // The process-wide pool; never destroyed, so buffers may outlive main().
  static BufferPool& global();

  // A buffer with size() == size and capacity() >= size, contents unspecified.
  // Throws std::bad_alloc when the OS has no memory.
  BufferRef acquire(std::size_t size);
  // The same, as a unique owner.
  Buffer acquire_owned(std::size_t size);
  // A buffer holding a copy of `bytes`.
  BufferRef copy_of(std::span<const std::uint8_t> bytes);

  PoolStats stats() const;
  // Frees every block idle in the shared free lists. Blocks in threads' own
  // caches stay there (at most thread_cache_blocks per class and thread).
  void trim();

  // Index into kSizeClasses for a request of `size` bytes; -1 above kMaxPooledSize.
  static int size_class_for(std::size_t size) noexcept;

 private:
  std::unique_ptr<detail::PoolCore> core_;
};

}  // namespace mirror::core
