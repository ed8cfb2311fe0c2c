// Mirror's metrics registry: counters, gauges and histograms, rendered as the
// Prometheus text exposition format 0.0.4 for GET /metrics (prometheus-cpp is not
// packaged for Debian 12, so Mirror keeps its own small registry).
//
// Threads: every call may come from any thread. Registration, child lookup
// (with/remove/with_callback) and render() take short locks; they happen at
// start-up, when a stream starts or ends, and once per scrape. Updating a child
// (Counter::inc, Gauge::set, Histogram::observe) never locks: callers look a
// child up once, keep the reference, and update it with relaxed atomics.
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mirror::core {

// Content-Type of render()'s output, for the /metrics handler.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// A monotonically increasing value. Own cache line: different counters are
// bumped from different threads, and false sharing would make them contend.
class alignas(64) Counter {
 public:
  void inc() noexcept { whole_.fetch_add(1, std::memory_order_relaxed); }
  void inc(std::uint64_t n) noexcept { whole_.fetch_add(n, std::memory_order_relaxed); }
  // Adds v >= 0. Negative or NaN increments are ignored: a counter that went down
  // would read as a process restart to Prometheus' rate().
  void add(double v) noexcept;
  double value() const noexcept;

 private:
  // Integer increments (the common case) stay exact in a uint64; only fractional
  // amounts (e.g. CPU seconds) go through the slower CAS loop of atomic<double>.
  std::atomic<std::uint64_t> whole_{0};
  std::atomic<double> fraction_{0.0};
};

// A value that goes up and down.
class alignas(64) Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double d = 1) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  void dec(double d = 1) noexcept { value_.fetch_sub(d, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Counts observations into buckets with upper bounds `le`; the +Inf bucket is
// implicit. Buckets of one histogram share cache lines: one observation touches
// one bucket plus the sum, so splitting them would only cost memory.
class alignas(64) Histogram {
 public:
  // `upper_bounds` is strictly increasing and finite (the family validates it).
  explicit Histogram(std::shared_ptr<const std::vector<double>> upper_bounds);

  void observe(double v) noexcept;
  // Count per bucket, not cumulative; the last entry is the +Inf bucket.
  std::vector<std::uint64_t> bucket_counts() const;
  std::uint64_t count() const noexcept;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& upper_bounds() const noexcept { return *bounds_; }

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_->size() + 1
  std::atomic<double> sum_{0.0};
};

enum class MetricKind { kCounter, kGauge, kHistogram };

class MetricsRegistry;

namespace detail {

// Only MetricsRegistry creates families.
class FamilyKey {
  friend class mirror::core::MetricsRegistry;
  FamilyKey() = default;
};

// What every family shares: identity, and rendering its samples.
class FamilyBase {
 public:
  FamilyBase(MetricKind kind, std::string name, std::string help,
             std::vector<std::string> label_names,
             std::shared_ptr<const std::vector<double>> bounds);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  MetricKind kind() const noexcept { return kind_; }
  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  // Histogram bucket upper bounds; empty for counters and gauges.
  const std::vector<double>& upper_bounds() const noexcept { return *bounds_; }

  // Appends "# HELP", "# TYPE" and every sample of this family to `out`.
  virtual void render(std::string& out) const = 0;

 protected:
  // Throws std::invalid_argument unless there is one value per label name.
  void check_arity(const std::vector<std::string>& label_values) const;
  // `a="x",b="y"` with values escaped; empty when the family has no labels.
  std::string label_text(const std::vector<std::string>& label_values) const;
  const std::shared_ptr<const std::vector<double>>& bounds_ptr() const noexcept { return bounds_; }

 private:
  MetricKind kind_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::shared_ptr<const std::vector<double>> bounds_;
};

}  // namespace detail

// All children of one metric name, one per combination of label values.
//
// Removing a child: references handed out by with() stay valid for the lifetime
// of the registry. remove() only stops exporting the child; the object itself is
// kept (about one cache line, or a few for a histogram), so a stage that still
// holds `Counter&` for an ended stream can keep incrementing it harmlessly. A later
// with() for the same labels creates a fresh child starting from zero, which
// Prometheus reads as a counter reset.
template <class Metric>
class Family final : public detail::FamilyBase {
 public:
  Family(detail::FamilyKey, MetricKind kind, std::string name, std::string help,
         std::vector<std::string> label_names, std::shared_ptr<const std::vector<double>> bounds);

  // The child for these label values (created on first use). Cache the reference;
  // this lookup locks. Throws std::invalid_argument on a wrong number of values or
  // when these labels are served by a callback.
  Metric& with(const std::vector<std::string>& label_values);
  // The only child of a family without labels.
  Metric& get() { return with({}); }

  // A child whose value is computed by `fn` at render time (process metrics, queue
  // depths owned elsewhere). `fn` runs on the rendering thread without any registry
  // lock held and must be cheap. Replaces an earlier callback for the same labels;
  // throws std::invalid_argument if the labels already have a value child.
  void with_callback(const std::vector<std::string>& label_values,
                     std::function<double()> fn) requires(!std::same_as<Metric, Histogram>);

  // Stops exporting the child (value or callback); false if there was none.
  bool remove(const std::vector<std::string>& label_values);
  // Number of exported children.
  std::size_t size() const;

  void render(std::string& out) const override;

 private:
  struct Child {
    std::string labels;              // pre-rendered `a="x",b="y"`
    std::shared_ptr<Metric> metric;  // null for callback children
    std::function<double()> callback;
  };

  mutable std::mutex mu_;
  // Ordered by label values: render order is stable whatever the creation order.
  std::map<std::vector<std::string>, std::shared_ptr<const Child>> children_;
  // Removed value children, kept alive for references callers may still hold.
  std::vector<std::shared_ptr<Metric>> retired_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// The set of metric families exported on /metrics. One per process in production
// (owned by the server wiring); tests construct their own.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering an existing name with the same kind, labels (and buckets) returns
  // the existing family; anything else that reuses a name, an invalid metric or
  // label name, a counter name without the `_total` suffix, or bad buckets throws
  // std::invalid_argument. Help text of a repeated registration is ignored.
  CounterFamily& counter(std::string name, std::string help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  // `buckets`: strictly increasing upper bounds; a trailing +Inf is accepted and
  // dropped since the +Inf bucket is always present.
  HistogramFamily& histogram(std::string name, std::string help, std::vector<double> buckets,
                             std::vector<std::string> label_names = {});

  // Every family in registration order, in text format 0.0.4.
  std::string render() const;

  // count bounds start, start*factor, start*factor^2, ...
  static std::vector<double> exponential_buckets(double start, double factor, std::size_t count);
  // count bounds start, start+width, start+2*width, ...
  static std::vector<double> linear_buckets(double start, double width, std::size_t count);

 private:
  detail::FamilyBase& register_family(MetricKind kind, std::string name, std::string help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> buckets);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<detail::FamilyBase>> families_;  // registration order
  std::unordered_map<std::string, detail::FamilyBase*> by_name_;
  // Every sample name a family writes (a histogram writes name_bucket, name_sum,
  // name_count): two families must never write the same series name.
  std::unordered_map<std::string, detail::FamilyBase*> sample_names_;
};

// Formats a sample value as Prometheus expects: integers without exponent,
// "+Inf", "-Inf", "NaN", otherwise the shortest round-trip decimal.
std::string format_metric_value(double v);

}  // namespace mirror::core
