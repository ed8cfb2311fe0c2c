#include "core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_set>
#include <utility>

namespace mirror::core {
namespace {

bool is_name_start(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}

bool is_name_char(char c, bool allow_colon) {
  return is_name_start(c, allow_colon) || (c >= '0' && c <= '9');
}

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view s) {
  if (s.empty() || !is_name_start(s[0], true)) return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) { return is_name_char(c, true); });
}

// [a-zA-Z_][a-zA-Z0-9_]*, and names starting with __ are reserved for Prometheus.
bool valid_label_name(std::string_view s) {
  if (s.empty() || !is_name_start(s[0], false) || s.starts_with("__")) return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) { return is_name_char(c, false); });
}

void append_escaped(std::string& out, std::string_view s, bool escape_quote) {
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        if (escape_quote) {
          out += "\\\"";
        } else {
          out += c;
        }
        break;
      default:
        out += c;
    }
  }
}

void append_value(std::string& out, double v) {
  out += format_metric_value(v);
}

void append_header(std::string& out, const detail::FamilyBase& f, std::string_view type) {
  out += "# HELP ";
  out += f.name();
  out += ' ';
  append_escaped(out, f.help(), /*escape_quote=*/false);
  out += "\n# TYPE ";
  out += f.name();
  out += ' ';
  out += type;
  out += '\n';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   std::string_view labels, double v) {
  out += name;
  out += suffix;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  append_value(out, v);
  out += '\n';
}

// A callback that throws must not take /metrics down with it; NaN shows the gap.
double evaluate(const std::function<double()>& fn) {
  try {
    return fn();
  } catch (...) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

std::string_view kind_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::kCounter:
      return "counter";
    case MetricKind::kGauge:
      return "gauge";
    case MetricKind::kHistogram:
      return "histogram";
  }
  return "untyped";
}

[[noreturn]] void invalid(const std::string& what) {
  throw std::invalid_argument(what);
}

}  // namespace

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Integral values print as integers: shortest round-trip formatting would turn
  // 1000000 into "1e+06", which is valid but unreadable for counts.
  if (v == std::trunc(v) && std::fabs(v) < 9.0e18) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
    return std::string(buf, end);
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

// ---- Counter, Histogram -----------------------------------------------------

void Counter::add(double v) noexcept {
  if (!(v > 0)) return;  // also rejects NaN
  if (v == std::trunc(v) && v < 9.0e18) {
    whole_.fetch_add(static_cast<std::uint64_t>(v), std::memory_order_relaxed);
  } else {
    fraction_.fetch_add(v, std::memory_order_relaxed);
  }
}

double Counter::value() const noexcept {
  return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
         fraction_.load(std::memory_order_relaxed);
}

Histogram::Histogram(std::shared_ptr<const std::vector<double>> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_->size() + 1)) {}

void Histogram::observe(double v) noexcept {
  const auto& b = *bounds_;
  // First bound >= v; NaN compares false everywhere and lands in +Inf, as in
  // the Go client.
  std::size_t i =
      std::isnan(v) ? b.size()
                    : static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(bounds_->size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

std::uint64_t Histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i <= bounds_->size(); ++i)
    n += counts_[i].load(std::memory_order_relaxed);
  return n;
}

// ---- Families ---------------------------------------------------------------

namespace detail {

FamilyBase::FamilyBase(MetricKind kind, std::string name, std::string help,
                       std::vector<std::string> label_names,
                       std::shared_ptr<const std::vector<double>> bounds)
    : kind_(kind),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(bounds ? std::move(bounds) : std::make_shared<const std::vector<double>>()) {}

void FamilyBase::check_arity(const std::vector<std::string>& label_values) const {
  if (label_values.size() != label_names_.size()) {
    invalid("metric " + name_ + " takes " + std::to_string(label_names_.size()) +
            " label values, got " + std::to_string(label_values.size()));
  }
}

std::string FamilyBase::label_text(const std::vector<std::string>& label_values) const {
  std::string out;
  for (std::size_t i = 0; i < label_values.size(); ++i) {
    if (i > 0) out += ',';
    out += label_names_[i];
    out += "=\"";
    append_escaped(out, label_values[i], /*escape_quote=*/true);
    out += '"';
  }
  return out;
}

}  // namespace detail

template <class Metric>
Family<Metric>::Family(detail::FamilyKey, MetricKind kind, std::string name, std::string help,
                       std::vector<std::string> label_names,
                       std::shared_ptr<const std::vector<double>> bounds)
    : detail::FamilyBase(kind, std::move(name), std::move(help), std::move(label_names),
                         std::move(bounds)) {}

template <class Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& label_values) {
  check_arity(label_values);
  std::lock_guard lock(mu_);
  auto it = children_.find(label_values);
  if (it != children_.end()) {
    if (!it->second->metric)
      invalid("metric " + name() + ": these labels are served by a callback");
    return *it->second->metric;
  }
  auto child = std::make_shared<Child>();
  child->labels = label_text(label_values);
  if constexpr (std::same_as<Metric, Histogram>) {
    child->metric = std::make_shared<Histogram>(bounds_ptr());
  } else {
    child->metric = std::make_shared<Metric>();
  }
  Metric& m = *child->metric;
  children_.emplace(label_values, std::move(child));
  return m;
}

template <class Metric>
void Family<Metric>::with_callback(
    const std::vector<std::string>& label_values,
    std::function<double()> fn) requires(!std::same_as<Metric, Histogram>) {
  check_arity(label_values);
  if (!fn) invalid("metric " + name() + ": empty callback");
  auto child = std::make_shared<Child>();
  child->labels = label_text(label_values);
  child->callback = std::move(fn);
  std::lock_guard lock(mu_);
  auto it = children_.find(label_values);
  if (it == children_.end()) {
    children_.emplace(label_values, std::move(child));
    return;
  }
  if (it->second->metric) invalid("metric " + name() + ": these labels already have a value");
  // Children are immutable once published: a render may be reading the old one.
  it->second = std::move(child);
}

template <class Metric>
bool Family<Metric>::remove(const std::vector<std::string>& label_values) {
  std::lock_guard lock(mu_);
  auto it = children_.find(label_values);
  if (it == children_.end()) return false;
  if (it->second->metric) retired_.push_back(it->second->metric);
  children_.erase(it);
  return true;
}

template <class Metric>
std::size_t Family<Metric>::size() const {
  std::lock_guard lock(mu_);
  return children_.size();
}

template <class Metric>
void Family<Metric>::render(std::string& out) const {
  // Snapshot under the lock, format without it: callbacks may be slow, and a
  // removed child stays alive through the snapshot's shared_ptr.
  std::vector<std::shared_ptr<const Child>> children;
  {
    std::lock_guard lock(mu_);
    children.reserve(children_.size());
    for (const auto& [values, child] : children_) children.push_back(child);
  }
  append_header(out, *this, kind_name(kind()));
  for (const auto& child : children) {
    if constexpr (std::same_as<Metric, Histogram>) {
      const auto& bounds = upper_bounds();
      std::vector<std::uint64_t> counts = child->metric->bucket_counts();
      std::string labels = child->labels;
      if (!labels.empty()) labels += ',';
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        std::string with_le = labels;
        with_le += "le=\"";
        with_le += i < bounds.size() ? format_metric_value(bounds[i]) : "+Inf";
        with_le += '"';
        append_sample(out, name(), "_bucket", with_le, static_cast<double>(cumulative));
      }
      append_sample(out, name(), "_sum", child->labels, child->metric->sum());
      // _count is the +Inf bucket read above, so the two always agree even while
      // other threads observe.
      append_sample(out, name(), "_count", child->labels, static_cast<double>(cumulative));
    } else {
      double v = child->metric ? child->metric->value() : evaluate(child->callback);
      append_sample(out, name(), "", child->labels, v);
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry ---------------------------------------------------------------

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

CounterFamily& MetricsRegistry::counter(std::string name, std::string help,
                                        std::vector<std::string> label_names) {
  return static_cast<CounterFamily&>(register_family(MetricKind::kCounter, std::move(name),
                                                     std::move(help), std::move(label_names), {}));
}

GaugeFamily& MetricsRegistry::gauge(std::string name, std::string help,
                                    std::vector<std::string> label_names) {
  return static_cast<GaugeFamily&>(register_family(MetricKind::kGauge, std::move(name),
                                                   std::move(help), std::move(label_names), {}));
}

HistogramFamily& MetricsRegistry::histogram(std::string name, std::string help,
                                            std::vector<double> buckets,
                                            std::vector<std::string> label_names) {
  return static_cast<HistogramFamily&>(register_family(MetricKind::kHistogram, std::move(name),
                                                       std::move(help), std::move(label_names),
                                                       std::move(buckets)));
}

detail::FamilyBase& MetricsRegistry::register_family(MetricKind kind, std::string name,
                                                     std::string help,
                                                     std::vector<std::string> label_names,
                                                     std::vector<double> buckets) {
  if (!valid_metric_name(name)) invalid("invalid metric name '" + name + "'");
  if (kind == MetricKind::kCounter && !name.ends_with("_total")) {
    invalid("counter name '" + name + "' must end in _total");
  }
  std::unordered_set<std::string_view> seen;
  for (const auto& l : label_names) {
    if (!valid_label_name(l)) invalid("metric " + name + ": invalid label name '" + l + "'");
    if (kind == MetricKind::kHistogram && l == "le")
      invalid("metric " + name + ": label le is reserved");
    if (!seen.insert(l).second) invalid("metric " + name + ": duplicate label '" + l + "'");
  }
  if (kind == MetricKind::kHistogram) {
    if (!buckets.empty() && buckets.back() == std::numeric_limits<double>::infinity()) {
      buckets.pop_back();
    }
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      if (!std::isfinite(buckets[i]))
        invalid("histogram " + name + ": bucket bounds must be finite");
      if (i > 0 && !(buckets[i - 1] < buckets[i])) {
        invalid("histogram " + name + ": bucket bounds must be strictly increasing");
      }
    }
  }

  std::vector<std::string> samples;
  if (kind == MetricKind::kHistogram) {
    samples = {name, name + "_bucket", name + "_sum", name + "_count"};
  } else {
    samples = {name};
  }

  std::lock_guard lock(mu_);
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    detail::FamilyBase& existing = *it->second;
    if (existing.kind() == kind && existing.label_names() == label_names &&
        existing.upper_bounds() == buckets) {
      return existing;
    }
    invalid("metric " + name + " is already registered as a " +
            std::string(kind_name(existing.kind())) + " with other labels or buckets");
  }
  for (const auto& s : samples) {
    if (auto it = sample_names_.find(s); it != sample_names_.end()) {
      invalid("metric " + name + " would write series " + s + ", already written by " +
              it->second->name());
    }
  }

  auto bounds = std::make_shared<const std::vector<double>>(std::move(buckets));
  std::unique_ptr<detail::FamilyBase> family;
  switch (kind) {
    case MetricKind::kCounter:
      family = std::make_unique<CounterFamily>(detail::FamilyKey{}, kind, std::move(name),
                                               std::move(help), std::move(label_names), bounds);
      break;
    case MetricKind::kGauge:
      family = std::make_unique<GaugeFamily>(detail::FamilyKey{}, kind, std::move(name),
                                             std::move(help), std::move(label_names), bounds);
      break;
    case MetricKind::kHistogram:
      family = std::make_unique<HistogramFamily>(detail::FamilyKey{}, kind, std::move(name),
                                                 std::move(help), std::move(label_names), bounds);
      break;
  }
  detail::FamilyBase* raw = family.get();
  families_.push_back(std::move(family));
  by_name_.emplace(raw->name(), raw);
  for (auto& s : samples) sample_names_.emplace(std::move(s), raw);
  return *raw;
}

std::string MetricsRegistry::render() const {
  // Families are never removed, so the pointers outlive the lock; rendering
  // without it lets registration proceed during a slow scrape.
  std::vector<const detail::FamilyBase*> families;
  {
    std::lock_guard lock(mu_);
    families.reserve(families_.size());
    for (const auto& f : families_) families.push_back(f.get());
  }
  std::string out;
  for (const auto* f : families) f->render(out);
  return out;
}

std::vector<double> MetricsRegistry::exponential_buckets(double start, double factor,
                                                         std::size_t count) {
  if (!(start > 0) || !(factor > 1)) invalid("exponential_buckets needs start > 0 and factor > 1");
  std::vector<double> out;
  out.reserve(count);
  for (double b = start; out.size() < count; b *= factor) out.push_back(b);
  return out;
}

std::vector<double> MetricsRegistry::linear_buckets(double start, double width, std::size_t count) {
  if (!(width > 0)) invalid("linear_buckets needs width > 0");
  std::vector<double> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(start + width * static_cast<double>(i));
  return out;
}

}  // namespace mirror::core
