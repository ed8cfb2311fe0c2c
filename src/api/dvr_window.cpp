#include "api/dvr_window.h"

#include "core/time_text.h"
#include "http/target.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>

namespace mirror::api {
namespace {

// 2000-01-01 and 9999-12-31T23:59:59Z in Unix seconds.
constexpr std::int64_t kEarliestSeconds = 946'684'800;
constexpr std::int64_t kLatestSeconds = 253'402'300'799;
// A window may outlast the retention time by this much (clock slack).
constexpr std::int64_t kWindowSlackMs = 60'000;

std::optional<std::int64_t> parse_unix_seconds(std::string_view s) {
  std::int64_t secs = 0;
  const auto dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  if (whole.empty() || whole.size() > 12) return std::nullopt;
  auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
  if (ec != std::errc() || end != whole.data() + whole.size()) return std::nullopt;
  std::string_view rest = dot == std::string_view::npos ? std::string_view() : s.substr(dot);
  std::int64_t ms = 0;
  if (!core::take_fraction_ms(rest, ms) || !rest.empty()) return std::nullopt;
  return secs * 1000 + ms;
}

// Whether the raw query names `name` at all (its value may not decode).
bool names(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.substr(0, pair.find('=')) == name) return true;
  }
  return false;
}

std::string unix_seconds_text(std::int64_t ms) { return fmt::format("{}.{:03}", ms / 1000, ms % 1000); }

}  // namespace

std::optional<std::int64_t> parse_dvr_time(std::string_view text) {
  if (text.empty() || text.size() > 40) return std::nullopt;
  const bool numeric = text.find_first_not_of("0123456789.") == std::string_view::npos;
  const auto ms = numeric ? parse_unix_seconds(text) : core::parse_rfc3339_ms(text);
  if (!ms || *ms < kEarliestSeconds * 1000 || *ms > kLatestSeconds * 1000) return std::nullopt;
  return ms;
}

std::string DvrWindow::query() const {
  std::string out;
  if (start_ms) out += "start=" + unix_seconds_text(*start_ms);
  if (end_ms) out += (out.empty() ? "end=" : "&end=") + unix_seconds_text(*end_ms);
  return out;
}

DvrWindow parse_dvr_window(std::string_view query, std::int64_t now_ms, std::int64_t retention_ms) {
  DvrWindow w;
  for (const char* name : {"start", "end"}) {
    const auto value = http::find_query_param(query, name);
    if (!value && !names(query, name)) continue;
    const auto ms = value ? parse_dvr_time(*value) : std::nullopt;
    if (!ms) {
      w.error = fmt::format("{}: expected an RFC 3339 date-time (2026-12-03T10:00:00Z) or Unix seconds, "
                            "between the years 2000 and 9999",
                            name);
      return w;
    }
    (std::string_view(name) == "start" ? w.start_ms : w.end_ms) = *ms;
  }
  const std::int64_t oldest = now_ms - retention_ms;
  if (w.start_ms && w.end_ms && *w.end_ms <= *w.start_ms) {
    w.error = "end must be after start";
  } else if (w.start_ms && *w.start_ms > now_ms) {
    w.error = "start is in the future";
  } else if (w.end_ms && *w.end_ms < oldest) {
    w.error = fmt::format("the window ends before the oldest retained recording (retention {} s)",
                          retention_ms / 1000);
  } else if (w.start_ms && w.end_ms && *w.end_ms - *w.start_ms > retention_ms + kWindowSlackMs) {
    w.error = fmt::format("the window is longer than the retention time ({} s)", retention_ms / 1000);
  }
  return w;
}

}  // namespace mirror::api
