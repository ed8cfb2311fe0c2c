#include "core/logging.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <ctime>

namespace mirror::core::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_pretty{false};

// The logger is created once and replaced only by init(), which runs before
// other threads exist; the mutex makes replacement in tests safe as well.
// Immortal on purpose: library threads (libsrt's) may still log while the
// process exits, after static destructors have run.
struct LoggerState {
  std::mutex mutex;
  std::shared_ptr<spdlog::logger> logger;
};

LoggerState& state() {
  static LoggerState* const s = new LoggerState();  // never destroyed, see above
  return *s;
}

std::shared_ptr<spdlog::logger> logger() {
  LoggerState& st = state();
  std::lock_guard lock(st.mutex);
  if (!st.logger) {
    st.logger = std::make_shared<spdlog::logger>(
        "mirror", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    st.logger->set_pattern("%v");
    st.logger->set_level(spdlog::level::trace);
  }
  return st.logger;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          // Bytes >= 0x80 pass through: log messages are UTF-8; invalid sequences
          // from hostile input are the caller's to sanitize (they log hex or counts).
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_value(std::string& out, const Field::Value& v, bool json) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          out += x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string_view>) {
          if (json) {
            append_json_string(out, x);
          } else {
            out += x;
          }
        } else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(x)) {
            out += json ? "null" : std::to_string(x);
          } else {
            out += fmt::format("{}", x);
          }
        } else {
          out += std::to_string(x);
        }
      },
      v);
}

// 2026-11-24T04:07:00.123456789Z
void append_rfc3339(std::string& out, std::chrono::system_clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  long frac = static_cast<long>(ns % 1000000000);
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // sized for any int the compiler can imagine, not just real dates
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  out += buf;
}

std::string_view file_base(const char* path) {
  std::string_view p(path);
  auto slash = p.find("src/");
  return slash == std::string_view::npos ? p : p.substr(slash + 4);
}

std::string format_pretty(std::string_view message, Fields fields,
                          const SourceLocation* where) {
  std::string line;
  line.reserve(128);
  line += message;
  for (const auto& f : fields) {
    line.push_back(' ');
    line += f.key;
    line.push_back('=');
    append_value(line, f.value, false);
  }
  if (where != nullptr) {
    line += fmt::format(" ({}:{})", file_base(where->file_name()), where->line_number());
  }
  return line;
}

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

std::optional<Level> parse_level(std::string_view text) {
  if (text == "debug") return Level::kDebug;
  if (text == "info") return Level::kInfo;
  if (text == "warn") return Level::kWarn;
  if (text == "error") return Level::kError;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

void init(const Options& options) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (options.output != nullptr) {
    sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*options.output, true);
  } else if (options.pretty) {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  auto l = std::make_shared<spdlog::logger>("mirror", std::move(sink));
  // JSON lines carry their own timestamp with nanoseconds; the console format
  // uses spdlog's clock and level colouring.
  l->set_pattern(options.pretty ? "%H:%M:%S.%e %^%-5l%$ %v" : "%v");
  l->set_level(spdlog::level::trace);
  l->flush_on(spdlog::level::trace);
  {
    LoggerState& st = state();
    std::lock_guard lock(st.mutex);
    st.logger = std::move(l);
  }
  g_pretty.store(options.pretty, std::memory_order_relaxed);
  g_level.store(static_cast<int>(options.level), std::memory_order_relaxed);
}

Level current_level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

std::string format_json(std::chrono::system_clock::time_point time, Level level,
                        std::string_view message, Fields fields,
                        const SourceLocation* where) {
  std::string line;
  line.reserve(160);
  line += "{\"time\":\"";
  append_rfc3339(line, time);
  line += "\",\"level\":\"";
  line += level_name(level);
  line += "\",\"msg\":";
  append_json_string(line, message);
  for (const auto& f : fields) {
    line.push_back(',');
    append_json_string(line, f.key);
    line.push_back(':');
    append_value(line, f.value, true);
  }
  if (where != nullptr) {
    line += ",\"caller\":";
    append_json_string(line, fmt::format("{}:{}", file_base(where->file_name()), where->line_number()));
  }
  line.push_back('}');
  return line;
}

void write(Level level, std::string_view message, Fields fields,
           const SourceLocation& where) {
  // Source location is only worth its bytes when debugging.
  const SourceLocation* loc = current_level() == Level::kDebug ? &where : nullptr;
  std::string line = g_pretty.load(std::memory_order_relaxed)
                         ? format_pretty(message, fields, loc)
                         : format_json(std::chrono::system_clock::now(), level, message, fields, loc);
  logger()->log(to_spdlog(level), "{}", line);
}

bool LogLimiter::admit(std::chrono::steady_clock::time_point now, std::uint64_t& suppressed) {
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::int64_t next = next_allowed_ns_.load(std::memory_order_relaxed);
  const std::int64_t interval =
      std::chrono::duration_cast<std::chrono::nanoseconds>(interval_).count();
  while (now_ns >= next) {
    if (next_allowed_ns_.compare_exchange_weak(next, now_ns + interval,
                                               std::memory_order_relaxed)) {
      suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
      return true;
    }
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

namespace {
// A line that got through a limiter, carrying how many were dropped before it.
void write_with_suppressed(Level level, std::string_view message, Fields fields,
                           std::uint64_t suppressed, const SourceLocation& where) {
  if (suppressed == 0) {
    write(level, message, fields, where);
    return;
  }
  const SourceLocation* loc = current_level() == Level::kDebug ? &where : nullptr;
  std::string line;
  if (g_pretty.load(std::memory_order_relaxed)) {
    line = format_pretty(message, fields, loc);
    line += fmt::format(" suppressed={}", suppressed);
  } else {
    line = format_json(std::chrono::system_clock::now(), level, message, fields, loc);
    line.pop_back();  // the closing brace
    line += fmt::format(",\"suppressed\":{}}}", suppressed);
  }
  logger()->log(to_spdlog(level), "{}", line);
}
}  // namespace

void LogLimiter::log(Level level, std::string_view message, Fields fields,
                     const SourceLocation& where) {
  if (!enabled(level)) return;
  std::uint64_t suppressed = 0;
  if (admit(std::chrono::steady_clock::now(), suppressed)) {
    write_with_suppressed(level, message, fields, suppressed, where);
  }
}

bool KeyedLogLimiter::admit(std::string_view key, std::chrono::steady_clock::time_point now,
                            std::uint64_t& suppressed) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(std::string(key));
  if (it == slots_.end()) {
    if (slots_.size() >= max_keys_) {
      // Forget the key whose window ended longest ago; a flood of distinct keys
      // (spoofed sources) must not grow memory without bound.
      auto oldest = slots_.begin();
      for (auto i = slots_.begin(); i != slots_.end(); ++i) {
        if (i->second.next_allowed < oldest->second.next_allowed) oldest = i;
      }
      slots_.erase(oldest);
    }
    slots_.emplace(std::string(key), Slot{now + interval_, 0});
    suppressed = 0;
    return true;
  }
  if (now >= it->second.next_allowed) {
    suppressed = it->second.suppressed;
    it->second = Slot{now + interval_, 0};
    return true;
  }
  ++it->second.suppressed;
  return false;
}

void KeyedLogLimiter::log(std::string_view key, Level level, std::string_view message,
                          Fields fields, const SourceLocation& where) {
  if (!enabled(level)) return;
  std::uint64_t suppressed = 0;
  if (admit(key, std::chrono::steady_clock::now(), suppressed)) {
    write_with_suppressed(level, message, fields, suppressed, where);
  }
}

}  // namespace mirror::core::log
