#include "core/metrics.h"
#include "core/process_metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mirror::core {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// When the test binary was loaded: the process start time must be close to it.
const double kLoadedAt =
    std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The value of the first sample line starting with `prefix` + ' ' in `text`.
double sample_value(const std::string& text, const std::string& prefix) {
  std::size_t pos = 0;
  const std::string needle = prefix + " ";
  while ((pos = text.find(needle, pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      return std::stod(text.substr(pos + needle.size()));
    }
    ++pos;
  }
  ADD_FAILURE() << "no sample " << prefix << " in:\n" << text;
  return std::numeric_limits<double>::quiet_NaN();
}

TEST(MetricsRegistryTest, RendersCounterExactly) {
  MetricsRegistry r;
  auto& requests = r.counter("http_requests_total", "HTTP requests served.", {"method", "code"});
  requests.with({"GET", "200"}).inc();
  requests.with({"GET", "200"}).inc(41);
  requests.with({"POST", "500"}).add(2.5);
  r.counter("errors_total", "Errors.").get();
  EXPECT_EQ(r.render(),
            "# HELP http_requests_total HTTP requests served.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{method=\"GET\",code=\"200\"} 42\n"
            "http_requests_total{method=\"POST\",code=\"500\"} 2.5\n"
            "# HELP errors_total Errors.\n"
            "# TYPE errors_total counter\n"
            "errors_total 0\n");
}

TEST(MetricsRegistryTest, CounterIgnoresNegativeAndNaNAdds) {
  MetricsRegistry r;
  Counter& c = r.counter("c_total", "c").get();
  c.add(3);
  c.add(-1);
  c.add(std::numeric_limits<double>::quiet_NaN());
  c.add(0.25);
  EXPECT_DOUBLE_EQ(c.value(), 3.25);
}

TEST(MetricsRegistryTest, RendersGaugeExactly) {
  MetricsRegistry r;
  auto& depth = r.gauge("queue_depth", "Items waiting.", {"queue"});
  depth.with({"ingest"}).set(10);
  depth.with({"ingest"}).inc();
  depth.with({"ingest"}).dec(3);
  depth.with({"egress"}).set(-0.5);
  Gauge& temp = r.gauge("temperature_celsius", "Temperature.").get();
  temp.set(1e6);
  // Children render sorted by label values, not in creation order.
  EXPECT_EQ(r.render(),
            "# HELP queue_depth Items waiting.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth{queue=\"egress\"} -0.5\n"
            "queue_depth{queue=\"ingest\"} 8\n"
            "# HELP temperature_celsius Temperature.\n"
            "# TYPE temperature_celsius gauge\n"
            "temperature_celsius 1000000\n");
}

TEST(MetricsRegistryTest, RendersHistogramExactly) {
  MetricsRegistry r;
  auto& h = r.histogram("request_duration_seconds", "Request latency.", {0.25, 0.5, 1}, {"route"});
  Histogram& api = h.with({"api"});
  api.observe(0.125);
  api.observe(0.25);  // le is inclusive
  api.observe(0.75);
  api.observe(3);
  EXPECT_EQ(api.count(), 4u);
  EXPECT_EQ(r.render(),
            "# HELP request_duration_seconds Request latency.\n"
            "# TYPE request_duration_seconds histogram\n"
            "request_duration_seconds_bucket{route=\"api\",le=\"0.25\"} 2\n"
            "request_duration_seconds_bucket{route=\"api\",le=\"0.5\"} 2\n"
            "request_duration_seconds_bucket{route=\"api\",le=\"1\"} 3\n"
            "request_duration_seconds_bucket{route=\"api\",le=\"+Inf\"} 4\n"
            "request_duration_seconds_sum{route=\"api\"} 4.125\n"
            "request_duration_seconds_count{route=\"api\"} 4\n");
}

TEST(MetricsRegistryTest, RendersUnlabelledHistogramWithOnlyInfBucket) {
  MetricsRegistry r;
  Histogram& h = r.histogram("sizes_bytes", "Sizes.", {}).get();
  h.observe(100);
  h.observe(std::numeric_limits<double>::quiet_NaN());  // counted in +Inf, like the Go client
  const std::string out = r.render();
  EXPECT_NE(out.find("sizes_bytes_bucket{le=\"+Inf\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("sizes_bytes_sum NaN\n"), std::string::npos) << out;
  EXPECT_NE(out.find("sizes_bytes_count 2\n"), std::string::npos) << out;
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  r.gauge("g", "Help with \\ backslash\nand newline and \"quotes\".", {"path"})
      .with({"a\\b\"c\nd"})
      .set(1);
  EXPECT_EQ(r.render(),
            "# HELP g Help with \\\\ backslash\\nand newline and \"quotes\".\n"
            "# TYPE g gauge\n"
            "g{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsRegistryTest, FormatsValuesAsPrometheusExpects) {
  EXPECT_EQ(format_metric_value(0), "0");
  EXPECT_EQ(format_metric_value(-0.0), "0");
  EXPECT_EQ(format_metric_value(42), "42");
  EXPECT_EQ(format_metric_value(-7), "-7");
  EXPECT_EQ(format_metric_value(123456789012.0), "123456789012");
  EXPECT_EQ(format_metric_value(0.25), "0.25");
  EXPECT_EQ(format_metric_value(0.1), "0.1");
  EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_metric_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  // Every formatted value parses back to itself.
  for (double v : {1e-9, 3.14159, 1e300, -2.5e-7}) {
    EXPECT_EQ(std::stod(format_metric_value(v)), v) << format_metric_value(v);
  }
}

TEST(MetricsRegistryTest, ConcurrentIncrementsGiveExactTotal) {
  MetricsRegistry r;
  auto& family = r.counter("events_total", "Events.", {"kind"});
  Gauge& level = r.gauge("level", "Level.").get();
  Histogram& h = r.histogram("latency_seconds", "Latency.", {1, 2}).get();
  constexpr int kThreads = 4;
  constexpr int kPerThread = kSanitized ? 20000 : 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      // Each thread looks the child up itself, racing on creation too.
      Counter& c = family.with({"frame"});
      for (int i = 0; i < kPerThread; ++i) {
        c.inc();
        level.inc();
        h.observe(1.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(family.with({"frame"}).value(), kThreads * kPerThread);
  EXPECT_EQ(level.value(), kThreads * kPerThread);
  EXPECT_EQ(h.count(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(h.bucket_counts()[1], static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(family.size(), 1u);
}

TEST(MetricsRegistryTest, ReRegistrationReturnsSameFamily) {
  MetricsRegistry r;
  auto& a = r.counter("frames_total", "Frames.", {"stream"});
  auto& b = r.counter("frames_total", "Other help is ignored.", {"stream"});
  EXPECT_EQ(&a, &b);
  auto& h1 = r.histogram("h_seconds", "H.", {1, 2});
  auto& h2 = r.histogram("h_seconds", "H.", {1, 2, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(&h1, &h2);
  EXPECT_EQ(&r.gauge("g", "G."), &r.gauge("g", "G."));
}

TEST(MetricsRegistryTest, ConflictingReRegistrationThrows) {
  MetricsRegistry r;
  r.counter("frames_total", "Frames.", {"stream"});
  EXPECT_THROW(r.counter("frames_total", "Frames.", {"track"}), std::invalid_argument);
  EXPECT_THROW(r.counter("frames_total", "Frames."), std::invalid_argument);
  EXPECT_THROW(r.gauge("frames_total", "Frames.", {"stream"}), std::invalid_argument);
  r.histogram("h_seconds", "H.", {1, 2});
  EXPECT_THROW(r.histogram("h_seconds", "H.", {1, 3}), std::invalid_argument);
  // A gauge may not write a series a histogram already writes.
  EXPECT_THROW(r.gauge("h_seconds_count", "Clash."), std::invalid_argument);
  r.gauge("x_sum", "Gauge.");
  EXPECT_THROW(r.histogram("x", "Clash.", {1}), std::invalid_argument);
}

TEST(MetricsRegistryTest, RejectsInvalidNames) {
  MetricsRegistry r;
  EXPECT_THROW(r.gauge("", "h"), std::invalid_argument);
  EXPECT_THROW(r.gauge("1abc", "h"), std::invalid_argument);
  EXPECT_THROW(r.gauge("a-b", "h"), std::invalid_argument);
  EXPECT_THROW(r.gauge("a b", "h"), std::invalid_argument);
  EXPECT_NO_THROW(r.gauge("ns:sub_name:x1", "colons are allowed in metric names"));
  EXPECT_NO_THROW(r.gauge("_leading_underscore", "h"));
  EXPECT_THROW(r.counter("requests", "counters end in _total"), std::invalid_argument);
  EXPECT_THROW(r.gauge("g1", "h", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.gauge("g2", "h", {"a:b"}), std::invalid_argument);
  EXPECT_THROW(r.gauge("g3", "h", {"9a"}), std::invalid_argument);
  EXPECT_THROW(r.gauge("g4", "h", {""}), std::invalid_argument);
  EXPECT_THROW(r.gauge("g5", "h", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h1", "h", {1}, {"le"}), std::invalid_argument);
  EXPECT_NO_THROW(r.gauge("g6", "h", {"_a", "b9"}));
}

TEST(MetricsRegistryTest, RejectsBadBuckets) {
  MetricsRegistry r;
  EXPECT_THROW(r.histogram("h1", "h", {2, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h2", "h", {1, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h3", "h", {std::numeric_limits<double>::quiet_NaN()}),
               std::invalid_argument);
  EXPECT_THROW(r.histogram("h4", "h", {-std::numeric_limits<double>::infinity(), 1}),
               std::invalid_argument);
  EXPECT_EQ(MetricsRegistry::exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(MetricsRegistry::linear_buckets(0.5, 0.5, 3), (std::vector<double>{0.5, 1, 1.5}));
}

TEST(MetricsRegistryTest, WrongNumberOfLabelValuesThrows) {
  MetricsRegistry r;
  auto& f = r.counter("x_total", "X.", {"a", "b"});
  EXPECT_THROW(f.with({"1"}), std::invalid_argument);
  EXPECT_THROW(f.with({"1", "2", "3"}), std::invalid_argument);
  EXPECT_THROW(f.get(), std::invalid_argument);
  EXPECT_THROW(f.with_callback({"1"}, [] { return 1.0; }), std::invalid_argument);
  EXPECT_NO_THROW(f.with({"1", "2"}));
}

TEST(MetricsRegistryTest, WithReturnsStableReferences) {
  MetricsRegistry r;
  auto& f = r.counter("x_total", "X.", {"stream"});
  Counter& a = f.with({"a"});
  for (int i = 0; i < 100; ++i) f.with({"s" + std::to_string(i)});
  EXPECT_EQ(&a, &f.with({"a"}));
}

TEST(MetricsRegistryTest, RemoveStopsExportingButKeepsReferenceUsable) {
  MetricsRegistry r;
  auto& f = r.counter("stream_frames_total", "Frames.", {"stream"});
  Counter& ended = f.with({"ended"});
  f.with({"live"}).inc(5);
  ended.inc(3);
  EXPECT_TRUE(f.remove({"ended"}));
  EXPECT_FALSE(f.remove({"ended"}));
  EXPECT_FALSE(f.remove({"never"}));
  ended.inc();  // a stage that still holds the reference must not crash
  EXPECT_EQ(ended.value(), 4);
  EXPECT_EQ(r.render(),
            "# HELP stream_frames_total Frames.\n"
            "# TYPE stream_frames_total counter\n"
            "stream_frames_total{stream=\"live\"} 5\n");
  // The same labels come back as a fresh series.
  Counter& again = f.with({"ended"});
  EXPECT_NE(&again, &ended);
  EXPECT_EQ(again.value(), 0);
}

TEST(MetricsRegistryTest, CallbacksAreEvaluatedAtRenderTime) {
  MetricsRegistry r;
  std::atomic<int> calls{0};
  double depth = 3;
  auto& g = r.gauge("hub_queue_depth", "Depth.", {"stream"});
  g.with_callback({"a"}, [&] {
    ++calls;
    return depth;
  });
  r.counter("bytes_total", "Bytes.").with_callback({}, [] { return 1e3; });
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(sample_value(r.render(), "hub_queue_depth{stream=\"a\"}"), 3);
  depth = 7;
  const std::string out = r.render();
  EXPECT_EQ(sample_value(out, "hub_queue_depth{stream=\"a\"}"), 7);
  EXPECT_EQ(sample_value(out, "bytes_total"), 1000);
  EXPECT_EQ(calls.load(), 2);
  // Re-registering a callback replaces it; a value child cannot share its labels.
  g.with_callback({"a"}, [] { return 1.0; });
  EXPECT_EQ(sample_value(r.render(), "hub_queue_depth{stream=\"a\"}"), 1);
  EXPECT_THROW(g.with({"a"}), std::invalid_argument);
  g.with({"b"});
  EXPECT_THROW(g.with_callback({"b"}, [] { return 1.0; }), std::invalid_argument);
  EXPECT_TRUE(g.remove({"a"}));
  EXPECT_EQ(r.render().find("stream=\"a\""), std::string::npos);
}

TEST(MetricsRegistryTest, ThrowingCallbackRendersNaN) {
  MetricsRegistry r;
  r.gauge("broken", "Broken.").with_callback({}, []() -> double { throw std::runtime_error("x"); });
  EXPECT_NE(r.render().find("broken NaN\n"), std::string::npos);
}

TEST(MetricsRegistryTest, RenderWhileAddingAndRemovingStress) {
  MetricsRegistry r;
  auto& f = r.gauge("churn", "Churn.", {"stream"});
  std::atomic<bool> stop{false};
  std::thread churner([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string name = "s" + std::to_string(i % 50);
      f.with({name}).inc();
      f.remove({name});
    }
  });
  for (int i = 0; i < 300; ++i) {
    const std::string out = r.render();
    ASSERT_EQ(out.rfind("# HELP churn Churn.\n# TYPE churn gauge\n", 0), 0u);
  }
  stop = true;
  churner.join();
}

// promtool exits 0 only when the text parses and passes its lint rules.
int promtool_check(const std::string& text) {
  char path[] = "/tmp/mirror_metrics_XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return -1;
  ::close(fd);
  {
    std::ofstream f(path, std::ios::binary);
    f << text;
  }
  const std::string cmd = std::string("/usr/bin/promtool check metrics < ") + path + " 2>&1";
  const int status = std::system(cmd.c_str());
  ::unlink(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(MetricsRegistryTest, OutputPassesPromtoolCheck) {
  if (::access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "/usr/bin/promtool not installed";
  MetricsRegistry r;
  auto& req = r.counter("mirror_http_requests_total", "HTTP requests by method and status.",
                        {"method", "status"});
  req.with({"GET", "200"}).inc(12);
  req.with({"POST", "4\"0\\0\n"}).add(0.5);
  r.counter("mirror_idle_total", "A counter with no children yet.", {"x"});
  r.gauge("mirror_streams", "Live streams.").get().set(3);
  r.gauge("mirror_ratio", "Special values.", {"kind"}).with({"nan"}).set(std::nan(""));
  r.gauge("mirror_ratio", "Special values.", {"kind"})
      .with({"inf"})
      .set(std::numeric_limits<double>::infinity());
  r.gauge("mirror_ratio", "Special values.", {"kind"})
      .with({"neg"})
      .set(-std::numeric_limits<double>::infinity());
  r.gauge("mirror_callback_value", "From a callback.").with_callback({}, [] { return 0.125; });
  auto& lat = r.histogram("mirror_part_latency_seconds", "Part publish latency.",
                          MetricsRegistry::exponential_buckets(0.001, 4, 6), {"rendition"});
  lat.with({"1080p"}).observe(0.002);
  lat.with({"1080p"}).observe(10);
  lat.with({"720p"}).observe(0.0001);
  r.histogram("mirror_sizes_bytes", "No buckets but +Inf.", {}).get().observe(1500);
  register_process_metrics(r);
  const std::string text = r.render();
  EXPECT_EQ(promtool_check(text), 0) << text;
}

TEST(ProcessMetricsTest, ValuesAreSane) {
  const ProcessStats s = read_process_stats();
  EXPECT_GT(s.resident_memory_bytes, 0);
  EXPECT_GE(s.virtual_memory_bytes, s.resident_memory_bytes);
  EXPECT_GE(s.cpu_seconds, 0);
  EXPECT_GE(s.open_fds, 3);  // stdin, stdout, stderr
  EXPECT_GE(s.max_fds, s.open_fds);
  const double now = now_seconds();
  EXPECT_LE(s.start_time_seconds, now + 1);
  // Clock ticks and btime are coarse; the process started just before this
  // binary finished loading.
  EXPECT_NEAR(s.start_time_seconds, kLoadedAt, 60);
  EXPECT_NEAR(s.start_time_seconds, now, 3600);
}

TEST(ProcessMetricsTest, OpenFdsFollowsOpenFiles) {
  const double before = read_process_stats().open_fds;
  std::FILE* f = std::fopen("/proc/self/stat", "r");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(read_process_stats().open_fds, before + 1);
  std::fclose(f);
  EXPECT_EQ(read_process_stats().open_fds, before);
}

TEST(ProcessMetricsTest, RegistersStandardMetricsAsCallbacks) {
  MetricsRegistry r;
  register_process_metrics(r);
  register_process_metrics(r);  // harmless a second time
  const std::string out = r.render();
  EXPECT_NE(out.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_GT(sample_value(out, "process_resident_memory_bytes"), 0);
  EXPECT_GT(sample_value(out, "process_virtual_memory_bytes"), 0);
  EXPECT_GT(sample_value(out, "process_open_fds"), 0);
  EXPECT_GT(sample_value(out, "process_max_fds"), 0);
  EXPECT_GE(sample_value(out, "process_cpu_seconds_total"), 0);
  EXPECT_NEAR(sample_value(out, "process_start_time_seconds"), kLoadedAt, 60);
  // Values are read at render time: burn some CPU and see the counter move.
  const double cpu_before = read_process_stats().cpu_seconds;
  volatile double sink = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  while (std::chrono::steady_clock::now() < until) sink = sink + std::sqrt(sink + 1);
  EXPECT_GT(sample_value(r.render(), "process_cpu_seconds_total"), cpu_before);
}

}  // namespace
}  // namespace mirror::core
