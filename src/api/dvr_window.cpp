#include "api/dvr_window.h"

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

bool digits(std::string_view s, std::size_t n, int& out) {
  if (s.size() < n) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Fractional digits after '.', as milliseconds (extra digits are cut).
bool fraction_ms(std::string_view& s, std::int64_t& ms) {
  ms = 0;
  if (s.empty() || s.front() != '.') return true;
  s.remove_prefix(1);
  std::size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
    if (n < 3) ms = ms * 10 + (s[n] - '0');
    ++n;
  }
  if (n == 0 || n > 9) return false;
  for (std::size_t k = n; k < 3; ++k) ms *= 10;
  s.remove_prefix(n);
  return true;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (s.size() < 20 || !digits(s, 4, year) || s[4] != '-' || !digits(s.substr(5), 2, month) || s[7] != '-' ||
      !digits(s.substr(8), 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s.substr(11), 2, hour) || s[13] != ':' || !digits(s.substr(14), 2, minute) || s[16] != ':' ||
      !digits(s.substr(17), 2, second)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0) ||
      hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  s.remove_prefix(19);
  std::int64_t ms = 0;
  if (!fraction_ms(s, ms)) return std::nullopt;
  std::int64_t offset_s = 0;
  if (s == "Z" || s == "z") {
  } else if (s.size() == 6 && (s[0] == '+' || s[0] == '-' || s[0] == ' ') && s[3] == ':') {
    // ' ': an unescaped '+' in a query string reads as a space.
    int oh, om;
    if (!digits(s.substr(1), 2, oh) || !digits(s.substr(4), 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_s = (s[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  // A leap second counts as the next second's start.
  const std::int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                            std::min(second, 59) + (second == 60 ? 1 : 0) - offset_s;
  return secs * 1000 + ms;
}

std::optional<std::int64_t> parse_unix_seconds(std::string_view s) {
  std::int64_t secs = 0;
  const auto dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  if (whole.empty() || whole.size() > 12) return std::nullopt;
  auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
  if (ec != std::errc() || end != whole.data() + whole.size()) return std::nullopt;
  std::string_view rest = dot == std::string_view::npos ? std::string_view() : s.substr(dot);
  std::int64_t ms = 0;
  if (!fraction_ms(rest, ms) || !rest.empty()) return std::nullopt;
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
  const auto ms = numeric ? parse_unix_seconds(text) : parse_rfc3339(text);
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
