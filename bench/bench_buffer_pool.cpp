// BufferPool acquire+release against malloc+free of the same sizes, on one thread
// and from a producer thread to a consumer thread (the media pipeline's pattern).
// After the runs, prints one line per size:
//   pool_vs_malloc size=1MiB ratio=X.XX              (one thread)
//   pool_vs_malloc_cross_thread size=1MiB ratio=X.XX (producer -> consumer)
// where ratio = malloc time / pool time from this run's measurements (higher is
// better for the pool).
#include "core/buffer_pool.h"
#include "core/spsc_ring.h"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using mirror::core::BufferPool;
using mirror::core::BufferRef;
using mirror::core::SpscRing;

// 1 KiB: a datagram; 60 KiB: audio / metadata; 1 MiB: SD frame; 4 MiB: HD frame.
const std::vector<std::pair<std::int64_t, std::string>> kSizes = {
    {1 << 10, "1KiB"}, {60 << 10, "60KiB"}, {1 << 20, "1MiB"}, {4 << 20, "4MiB"}};

// Deep enough to decouple the two threads, shallow enough that 4 MiB items in
// flight stay well under 100 MiB.
constexpr std::size_t kRingDepth = 16;

void BM_Pool(benchmark::State& state) {
  BufferPool& pool = BufferPool::global();
  const auto size = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    BufferRef b = pool.acquire(size);
    b.writable()[0] = 1;
    benchmark::DoNotOptimize(b.data());
  }
}

void BM_Malloc(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    void* p = std::malloc(size);
    std::memset(p, 1, 1);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}

// The benchmark thread produces (and is timed); a consumer thread drops items.
template <class Item, class Make, class Drop>
void run_cross_thread(benchmark::State& state, Make make, Drop drop) {
  SpscRing<Item> ring(kRingDepth);
  std::atomic<bool> done{false};
  std::thread consumer([&] {
    for (;;) {
      if (auto item = ring.try_pop()) {
        drop(std::move(*item));
        continue;
      }
      if (done.load(std::memory_order_acquire)) {
        while (auto item = ring.try_pop()) drop(std::move(*item));
        return;
      }
      std::this_thread::yield();
    }
  });
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    Item item = make();
    while (!ring.try_push(std::move(item))) std::this_thread::yield();
  }
  done.store(true, std::memory_order_release);
  consumer.join();
}

void BM_PoolCrossThread(benchmark::State& state) {
  BufferPool& pool = BufferPool::global();
  const auto size = static_cast<std::size_t>(state.range(0));
  run_cross_thread<BufferRef>(
      state,
      [&] {
        BufferRef b = pool.acquire(size);
        b.writable()[0] = 1;
        return b;
      },
      [](BufferRef b) { benchmark::DoNotOptimize(b.data()); });
}

void BM_MallocCrossThread(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  run_cross_thread<void*>(
      state,
      [&] {
        void* p = std::malloc(size);
        std::memset(p, 1, 1);
        return p;
      },
      [](void* p) {
        benchmark::DoNotOptimize(p);
        std::free(p);
      });
}

void sizes(benchmark::internal::Benchmark* b) {
  for (const auto& [bytes, label] : kSizes) b->Arg(bytes);
}

BENCHMARK(BM_Pool)->Apply(sizes);
BENCHMARK(BM_Malloc)->Apply(sizes);
BENCHMARK(BM_PoolCrossThread)->Apply(sizes)->UseRealTime();
BENCHMARK(BM_MallocCrossThread)->Apply(sizes)->UseRealTime();

// Prints like the console reporter and remembers each run's time per iteration,
// so the ratios come from exactly the numbers shown above them.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const std::string key = run.run_name.function_name + "/" + run.run_name.args;
      const double t = run.GetAdjustedRealTime();
      if (run.run_type == Run::RT_Iteration) {
        auto [it, inserted] = best_.emplace(key, t);
        if (!inserted && t < it->second) it->second = t;  // best of repetitions
      } else if (run.aggregate_name == "mean") {
        mean_[key] = t;  // all there is with --benchmark_report_aggregates_only
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void print_ratios(const char* tag, const std::string& pool, const std::string& malloc) const {
    for (const auto& [bytes, label] : kSizes) {
      const std::string arg = "/" + std::to_string(bytes);
      const double p = time_of(pool + arg);
      const double m = time_of(malloc + arg);
      if (p <= 0 || m <= 0) continue;
      char line[128];
      std::snprintf(line, sizeof line, "%s size=%s ratio=%.2f\n", tag, label.c_str(), m / p);
      GetOutputStream() << line;
    }
  }

 private:
  double time_of(const std::string& key) const {
    if (auto it = best_.find(key); it != best_.end()) return it->second;
    if (auto it = mean_.find(key); it != mean_.end()) return it->second;
    return 0;
  }

  std::map<std::string, double> best_;
  std::map<std::string, double> mean_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RecordingReporter reporter(::isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_Defaults
                                                     : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios("pool_vs_malloc", "BM_Pool", "BM_Malloc");
  reporter.print_ratios("pool_vs_malloc_cross_thread", "BM_PoolCrossThread",
                        "BM_MallocCrossThread");
  benchmark::Shutdown();
  return 0;
}
