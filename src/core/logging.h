// Structured logging for the whole server: JSON lines by default (RFC 3339 time
// with nanoseconds, level, message, key/value fields), a human console format on
// request, and rate limiters for log lines on hot paths.
// Thread-safe: any thread may log; init() is called once at start-up.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <variant>

namespace mirror::core::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error"; anything else is nullopt (no silent fallback).
std::optional<Level> parse_level(std::string_view text);
std::string_view level_name(Level level);

// One structured field. Values are copied into the line immediately, so views
// need only live for the duration of the call.
struct Field {
  using Value = std::variant<std::int64_t, std::uint64_t, double, bool, std::string_view>;
  std::string_view key;
  Value value;

  template <class T>
  Field(std::string_view k, const T& v) : key(k), value(convert(v)) {}

 private:
  template <class T>
  static Value convert(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      return v;
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      return static_cast<std::int64_t>(v);
    } else if constexpr (std::is_integral_v<T>) {
      return static_cast<std::uint64_t>(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      return static_cast<double>(v);
    } else {
      return std::string_view(v);
    }
  }
};

using Fields = std::initializer_list<Field>;

// Where a log call was made. Like std::source_location (which clang 14 cannot
// compile against libstdc++ 12, and the fuzz build uses clang), from the
// __builtin_FILE/__builtin_LINE intrinsics both compilers have.
struct SourceLocation {
  const char* file = "";
  unsigned line = 0;
  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          unsigned line = __builtin_LINE()) noexcept {
    return {file, line};
  }
  const char* file_name() const noexcept { return file; }
  unsigned line_number() const noexcept { return line; }
};

struct Options {
  Level level = Level::kInfo;
  bool pretty = false;           // human console format instead of JSON lines
  std::ostream* output = nullptr;  // default: standard error
};

void init(const Options& options);
Level current_level();
inline bool enabled(Level level) { return level >= current_level(); }

void write(Level level, std::string_view message, Fields fields,
           const SourceLocation& where);

inline void debug(std::string_view m, Fields f = {},
                  const SourceLocation& w = SourceLocation::current()) {
  if (enabled(Level::kDebug)) write(Level::kDebug, m, f, w);
}
inline void info(std::string_view m, Fields f = {},
                 const SourceLocation& w = SourceLocation::current()) {
  if (enabled(Level::kInfo)) write(Level::kInfo, m, f, w);
}
inline void warn(std::string_view m, Fields f = {},
                 const SourceLocation& w = SourceLocation::current()) {
  if (enabled(Level::kWarn)) write(Level::kWarn, m, f, w);
}
inline void error(std::string_view m, Fields f = {},
                  const SourceLocation& w = SourceLocation::current()) {
  if (enabled(Level::kError)) write(Level::kError, m, f, w);
}

// Formats one JSON line (without the trailing newline); exposed for tests.
std::string format_json(std::chrono::system_clock::time_point time, Level level,
                        std::string_view message, Fields fields, const SourceLocation* where);

// Lets one line through per interval for one call site; the next line that gets
// through carries a "suppressed" field with how many were dropped in between.
// Lock-free: safe on packet paths under a flood of bad input.
class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::steady_clock::duration interval) : interval_(interval) {}

  void log(Level level, std::string_view message, Fields fields = {},
           const SourceLocation& where = SourceLocation::current());

  // True when a line may be written now; `suppressed` receives the count dropped since.
  bool admit(std::chrono::steady_clock::time_point now, std::uint64_t& suppressed);

 private:
  std::chrono::steady_clock::duration interval_;
  std::atomic<std::int64_t> next_allowed_ns_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

// The same, keyed (per stream, per peer address). Bounded: at most `max_keys`
// keys are tracked; beyond that the oldest are forgotten.
class KeyedLogLimiter {
 public:
  explicit KeyedLogLimiter(std::chrono::steady_clock::duration interval, std::size_t max_keys = 4096)
      : interval_(interval), max_keys_(max_keys) {}

  void log(std::string_view key, Level level, std::string_view message, Fields fields = {},
           const SourceLocation& where = SourceLocation::current());
  bool admit(std::string_view key, std::chrono::steady_clock::time_point now,
             std::uint64_t& suppressed);

 private:
  struct Slot {
    std::chrono::steady_clock::time_point next_allowed;
    std::uint64_t suppressed = 0;
  };
  std::chrono::steady_clock::duration interval_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, Slot> slots_;
};

}  // namespace mirror::core::log
