#include "package/hls/playlist_text.h"

#include <fmt/format.h>

#include <ctime>

namespace mirror::package::hls {

std::string program_date_time_text(std::int64_t unix_ms) {
  // Floor division: a time before 1970 still prints a valid (if odd) date.
  std::int64_t secs = unix_ms / 1000;
  std::int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
}

std::string program_date_time_text(std::chrono::system_clock::time_point t) {
  return program_date_time_text(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

std::string seconds_text(double s) { return fmt::format("{:.5f}", s); }

}  // namespace mirror::package::hls
