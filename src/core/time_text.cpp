#include "core/time_text.h"

#include <algorithm>

namespace mirror::core {
namespace {

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

}  // namespace

bool take_fraction_ms(std::string_view& s, std::int64_t& ms) {
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

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view s) {
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
  if (!take_fraction_ms(s, ms)) return std::nullopt;
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

}  // namespace mirror::core
