#include "core/buffer_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace mirror::core {
namespace detail {
namespace {

constexpr std::size_t kClasses = kBufferSizeClassCount;
constexpr std::size_t kMaxMagazine = 64;
// Thread-cache slots per thread: one per pool the thread uses at the same time.
// In production that is the global pool; tests create a few more.
constexpr std::size_t kThreadSlots = 8;
// Blocks from here up are mapped directly. glibc would mmap them too at first,
// but after the first free it raises its mmap threshold and serves them from the
// heap, where a freed block rarely goes back to the OS; mapping them ourselves
// keeps the promise that blocks beyond the cache cap return to the OS.
constexpr std::size_t kMapThreshold = 1u << 20;

// The only place memory for blocks is obtained and returned.
void* allocate_memory(std::size_t bytes) {
  if (bytes >= kMapThreshold) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
  }
  return ::operator new (bytes, std::align_val_t{alignof(BlockHeader)});
}

void free_memory(void* p, std::size_t bytes) noexcept {
  if (bytes >= kMapThreshold) {
    ::munmap(p, bytes);
  } else {
    ::operator delete (p, std::align_val_t{alignof(BlockHeader)});
  }
}

std::size_t block_bytes(std::size_t capacity) {
  return sizeof(BlockHeader) + capacity;
}

BlockHeader* make_block(PoolCore* pool, std::uint8_t size_class, std::size_t capacity) {
  // Absurd sizes would wrap block_bytes() around to a tiny allocation.
  if (capacity > (SIZE_MAX >> 1)) throw std::bad_alloc();
  BlockHeader* b =
      std::construct_at(static_cast<BlockHeader*>(allocate_memory(block_bytes(capacity))));
  b->pool = pool;
  b->size_class = size_class;
  b->capacity = capacity;
  return b;
}

void destroy_block(BlockHeader* b) noexcept {
  const std::size_t bytes = block_bytes(b->capacity);
  std::destroy_at(b);
  free_memory(b, bytes);
}

// Counters written by one thread only: a plain load+store instead of a locked
// read-modify-write, still atomic so stats() may read them from another thread.
void bump(std::atomic<std::uint64_t>& a) noexcept {
  a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Pools alive right now, by id. Thread exit and pool destruction both hold its
// mutex, so a dying thread never flushes its cache into a pool being destroyed.
struct LivePools {
  std::mutex mu;
  std::vector<std::uint64_t> ids;

  bool contains(std::uint64_t id) const {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }
};

// Never destroyed: threads may exit (and flush their caches) after static
// destructors have run.
LivePools& live_pools() {
  alignas(LivePools) static unsigned char storage[sizeof(LivePools)];
  static LivePools* pools = std::construct_at(reinterpret_cast<LivePools*>(storage));
  return *pools;
}

std::atomic<std::uint64_t> g_next_pool_id{1};

}  // namespace

// Idle blocks one thread keeps for one pool, one magazine per class. Owned by the
// pool (so the pool can free them when it dies); used by exactly one thread at a
// time, which needs no lock.
struct alignas(64) ThreadCache {
  // One per class. A hot path touches count, the counters and the top of the
  // stack: all on the magazine's first cache line or next to it.
  struct alignas(64) Magazine {
    std::uint32_t count = 0;
    // Written by the owning thread only (see bump), summed by stats().
    std::atomic<std::uint32_t> cached{0};
    std::atomic<std::uint64_t> acquired{0};
    std::atomic<std::uint64_t> released{0};
    std::array<BlockHeader*, kMaxMagazine> blocks{};
  };
  std::array<Magazine, kClasses> magazines{};
  bool attached = false;  // guarded by PoolCore::caches_mu_
};

namespace {

struct TlsSlot {
  std::uint64_t pool_id;  // 0: free; ids are never reused, so a stale slot never matches
  PoolCore* pool;
  ThreadCache* cache;
};

// Trivially destructible and zero-initialised: reading it on the fast path costs
// no guard check. Cleanup at thread exit is t_reaper's job.
struct TlsTable {
  std::array<TlsSlot, kThreadSlots> slots;
  bool exiting;
};
thread_local TlsTable t_table{};

struct TlsReaper {
  bool armed = false;
  ~TlsReaper();
};
thread_local TlsReaper t_reaper;

}  // namespace

// The pool proper. BufferPool is its public face; blocks point here.
//
// Shared free lists are mutex-protected stacks, not lock-free ones: a thread takes
// a list's lock once per half magazine (refill or flush), so contention stays low,
// while a lock-free stack of blocks that may be freed concurrently would need ABA
// tags and safe reclamation for little gain.
class PoolCore {
 public:
  explicit PoolCore(const BufferPoolOptions& options)
      : id_(g_next_pool_id.fetch_add(1, std::memory_order_relaxed)), options_(options) {
    for (auto& n : options_.thread_cache_blocks) {
      n = std::min<std::uint32_t>(n, kMaxMagazine);
    }
    LivePools& live = live_pools();
    std::lock_guard lock(live.mu);
    live.ids.push_back(id_);
  }

  ~PoolCore() {
    {
      LivePools& live = live_pools();
      std::lock_guard lock(live.mu);
      live.ids.erase(std::find(live.ids.begin(), live.ids.end(), id_));
    }
    // From here no exiting thread touches this pool. Threads still running may
    // hold stale slots pointing at caches freed below; the id check skips them.
    assert(stats().blocks_in_use() == 0 && "BufferPool destroyed with buffers still in use");
    std::lock_guard lock(caches_mu_);
    for (auto& cache : caches_) {
      for (auto& mag : cache->magazines) {
        for (std::uint32_t i = 0; i < mag.count; ++i) destroy_block(mag.blocks[i]);
        mag.count = 0;
      }
    }
    for (auto& cls : shared_) {
      std::lock_guard list_lock(cls.mu);
      while (cls.head) destroy_block(std::exchange(cls.head, cls.head->next));
    }
  }

  BlockHeader* acquire(std::size_t size) {
    const int c = BufferPool::size_class_for(size);
    BlockHeader* b = nullptr;
    if (c < 0) {
      b = make_block(this, kOversizeClass, size);
      oversize_in_use_.fetch_add(1, std::memory_order_relaxed);
      oversize_bytes_.fetch_add(size, std::memory_order_relaxed);
    } else if (ThreadCache* tc = cache_for(c)) {
      auto& mag = tc->magazines[c];
      if (mag.count == 0) refill(c, mag);
      b = mag.count > 0 ? mag.blocks[--mag.count] : new_block(c);
      mag.cached.store(mag.count, std::memory_order_relaxed);
      bump(mag.acquired);
    } else {
      b = pop_shared(c);
      if (b == nullptr) b = new_block(c);
      shared_[c].acquired.fetch_add(1, std::memory_order_relaxed);
    }
    b->refs.store(1, std::memory_order_relaxed);
    b->size = size;
    b->next = nullptr;
    return b;
  }

  void release(BlockHeader* b) noexcept {
    if (b->size_class == kOversizeClass) {
      oversize_in_use_.fetch_sub(1, std::memory_order_relaxed);
      oversize_bytes_.fetch_sub(b->capacity, std::memory_order_relaxed);
      destroy_block(b);
      return;
    }
    const int c = b->size_class;
    if (ThreadCache* tc = cache_for(c)) {
      auto& mag = tc->magazines[c];
      if (mag.count == options_.thread_cache_blocks[c]) flush(c, mag, batch(c));
      mag.blocks[mag.count++] = b;
      mag.cached.store(mag.count, std::memory_order_relaxed);
      bump(mag.released);
    } else {
      BlockHeader* one[] = {b};
      push_shared(c, one);
      shared_[c].released.fetch_add(1, std::memory_order_relaxed);
    }
  }

  PoolStats stats() const {
    PoolStats s;
    std::array<std::uint64_t, kClasses> acquired{}, released{};
    {
      std::lock_guard lock(caches_mu_);
      for (const auto& cache : caches_) {
        for (std::size_t c = 0; c < kClasses; ++c) {
          const auto& mag = cache->magazines[c];
          released[c] += mag.released.load(std::memory_order_relaxed);
          acquired[c] += mag.acquired.load(std::memory_order_relaxed);
          s.classes[c].cached_local += mag.cached.load(std::memory_order_relaxed);
        }
      }
    }
    for (std::size_t c = 0; c < kClasses; ++c) {
      const SharedClass& cls = shared_[c];
      auto& out = s.classes[c];
      out.block_size = BufferPool::kSizeClasses[c];
      released[c] += cls.released.load(std::memory_order_relaxed);
      acquired[c] += cls.acquired.load(std::memory_order_relaxed);
      // Releases counted on other threads may show before their acquires.
      out.in_use = acquired[c] > released[c] ? acquired[c] - released[c] : 0;
      {
        std::lock_guard lock(cls.mu);
        out.cached_shared = cls.count;
      }
      out.os_frees = cls.os_frees.load(std::memory_order_relaxed);
      out.os_allocations = cls.os_allocations.load(std::memory_order_relaxed);
      out.allocated = out.os_allocations > out.os_frees ? out.os_allocations - out.os_frees : 0;
    }
    s.oversize_in_use = oversize_in_use_.load(std::memory_order_relaxed);
    s.oversize_bytes_in_use = oversize_bytes_.load(std::memory_order_relaxed);
    return s;
  }

  void trim() {
    for (auto& cls : shared_) {
      BlockHeader* list = nullptr;
      {
        std::lock_guard lock(cls.mu);
        list = std::exchange(cls.head, nullptr);
        cls.count = 0;
      }
      while (list) {
        destroy_block(std::exchange(list, list->next));
        cls.os_frees.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  // Called with live_pools().mu held, on a thread that is exiting or claiming a slot.
  ThreadCache* attach_cache() {
    std::lock_guard lock(caches_mu_);
    for (auto& cache : caches_) {
      if (!cache->attached) {
        cache->attached = true;
        return cache.get();
      }
    }
    caches_.push_back(std::make_unique<ThreadCache>());
    caches_.back()->attached = true;
    return caches_.back().get();
  }

  // The owning thread is exiting: its idle blocks go to the shared lists (or the
  // OS beyond the cap) and the cache waits for the next thread.
  void detach_cache(ThreadCache* cache) noexcept {
    for (std::size_t c = 0; c < kClasses; ++c) {
      auto& mag = cache->magazines[c];
      flush(static_cast<int>(c), mag, mag.count);
      mag.cached.store(0, std::memory_order_relaxed);
    }
    std::lock_guard lock(caches_mu_);
    cache->attached = false;
  }

 private:
  struct alignas(64) SharedClass {
    mutable std::mutex mu;
    BlockHeader* head = nullptr;  // guarded by mu
    std::size_t count = 0;        // guarded by mu
    // Acquires and releases that bypassed thread caches.
    std::atomic<std::uint64_t> acquired{0};
    std::atomic<std::uint64_t> released{0};
    std::atomic<std::uint64_t> os_allocations{0};
    std::atomic<std::uint64_t> os_frees{0};
  };

  std::uint32_t batch(int c) const {
    return std::max<std::uint32_t>(1, options_.thread_cache_blocks[c] / 2);
  }

  BlockHeader* new_block(int c) {
    BlockHeader* b = make_block(this, static_cast<std::uint8_t>(c), BufferPool::kSizeClasses[c]);
    shared_[c].os_allocations.fetch_add(1, std::memory_order_relaxed);
    return b;
  }

  // This thread's cache for this pool, or null when class c is not cached per
  // thread or the thread cannot have one (exiting, or all slots taken).
  ThreadCache* cache_for(int c) noexcept {
    if (options_.thread_cache_blocks[c] == 0) return nullptr;
    for (auto& slot : t_table.slots) {
      if (slot.pool_id == id_) return slot.cache;
    }
    return claim_slot();
  }

  ThreadCache* claim_slot() noexcept {
    if (t_table.exiting) return nullptr;
    t_reaper.armed = true;  // first odr-use registers the thread-exit flush
    LivePools& live = live_pools();
    std::lock_guard lock(live.mu);
    TlsSlot* free_slot = nullptr;
    for (auto& slot : t_table.slots) {
      if (slot.pool_id == 0 || !live.contains(slot.pool_id)) {
        free_slot = &slot;
        break;
      }
    }
    if (free_slot == nullptr) return nullptr;
    try {
      *free_slot = TlsSlot{id_, this, attach_cache()};
    } catch (const std::bad_alloc&) {
      *free_slot = TlsSlot{};
      return nullptr;  // the shared path still works
    }
    return free_slot->cache;
  }

  void refill(int c, ThreadCache::Magazine& mag) {
    SharedClass& cls = shared_[c];
    const std::uint32_t want = batch(c);
    std::lock_guard lock(cls.mu);
    while (mag.count < want && cls.head) {
      mag.blocks[mag.count++] = std::exchange(cls.head, cls.head->next);
      --cls.count;
    }
  }

  // Moves the top n blocks of a magazine to the shared list.
  void flush(int c, ThreadCache::Magazine& mag, std::uint32_t n) noexcept {
    n = std::min(n, mag.count);
    mag.count -= n;
    push_shared(c, std::span<BlockHeader* const>(mag.blocks.data() + mag.count, n));
  }

  // Blocks beyond the cap are freed after the lock is dropped: munmap is slow.
  void push_shared(int c, std::span<BlockHeader* const> blocks) noexcept {
    SharedClass& cls = shared_[c];
    const std::size_t max_blocks = options_.max_cached_bytes[c] / BufferPool::kSizeClasses[c];
    BlockHeader* excess = nullptr;
    {
      std::lock_guard lock(cls.mu);
      for (BlockHeader* b : blocks) {
        if (cls.count < max_blocks) {
          b->next = std::exchange(cls.head, b);
          ++cls.count;
        } else {
          b->next = std::exchange(excess, b);
        }
      }
    }
    while (excess) {
      destroy_block(std::exchange(excess, excess->next));
      cls.os_frees.fetch_add(1, std::memory_order_relaxed);
    }
  }

  BlockHeader* pop_shared(int c) {
    SharedClass& cls = shared_[c];
    std::lock_guard lock(cls.mu);
    if (cls.head == nullptr) return nullptr;
    --cls.count;
    return std::exchange(cls.head, cls.head->next);
  }

  std::array<SharedClass, kClasses> shared_;
  const std::uint64_t id_;
  BufferPoolOptions options_;
  std::atomic<std::uint64_t> oversize_in_use_{0};
  std::atomic<std::uint64_t> oversize_bytes_{0};
  mutable std::mutex caches_mu_;
  std::vector<std::unique_ptr<ThreadCache>> caches_;  // guarded by caches_mu_
};

namespace {

TlsReaper::~TlsReaper() {
  t_table.exiting = true;  // buffers dropped by later TLS destructors use the shared path
  LivePools& live = live_pools();
  std::lock_guard lock(live.mu);
  for (auto& slot : t_table.slots) {
    if (slot.pool_id != 0 && live.contains(slot.pool_id)) slot.pool->detach_cache(slot.cache);
    slot = TlsSlot{};
  }
}

}  // namespace

void recycle_block(BlockHeader* block) noexcept {
  block->pool->release(block);
}

}  // namespace detail

BufferPool::BufferPool(BufferPoolOptions options)
    : core_(std::make_unique<detail::PoolCore>(options)) {}

BufferPool::~BufferPool() = default;

BufferPool& BufferPool::global() {
  // Never destroyed: a BufferRef in a static object or on a thread that outlives
  // main() may still return its block here.
  alignas(BufferPool) static unsigned char storage[sizeof(BufferPool)];
  static BufferPool* pool = std::construct_at(reinterpret_cast<BufferPool*>(storage));
  return *pool;
}

BufferRef BufferPool::acquire(std::size_t size) {
  return acquire_owned(size);
}

Buffer BufferPool::acquire_owned(std::size_t size) {
  return Buffer(core_->acquire(size));
}

BufferRef BufferPool::copy_of(std::span<const std::uint8_t> bytes) {
  Buffer b = acquire_owned(bytes.size());
  if (!bytes.empty()) std::memcpy(b.data(), bytes.data(), bytes.size());
  return std::move(b).share();
}

PoolStats BufferPool::stats() const {
  return core_->stats();
}

void BufferPool::trim() {
  core_->trim();
}

int BufferPool::size_class_for(std::size_t size) noexcept {
  for (std::size_t c = 0; c < kSizeClasses.size(); ++c) {
    if (size <= kSizeClasses[c]) return static_cast<int>(c);
  }
  return -1;
}

}  // namespace mirror::core
