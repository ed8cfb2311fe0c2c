#include "core/units.h"

#include <array>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>

namespace mirror::core {
namespace {

using std::chrono::nanoseconds;

constexpr std::uint64_t kMaxValue =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// More fraction digits than this cannot be represented in the 64-bit
// numerator; non-zero digits beyond it are below any unit's resolution anyway.
constexpr int kMaxFractionDigits = 18;

// A non-negative decimal number as written: whole + fraction / scale, kept
// exact so "1.5KiB" or "0.1s" convert without floating-point rounding.
struct Decimal {
  std::uint64_t whole = 0;
  std::uint64_t fraction = 0;
  std::uint64_t scale = 1;
  bool too_precise = false;  // a non-zero digit beyond kMaxFractionDigits
};

enum class DecimalStatus { kOk, kNoDigits, kOverflow };

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Reads "digits[.digits]" (either side may be empty, not both) from the front
// of `text` and advances past it.
DecimalStatus read_decimal(std::string_view& text, Decimal& out) {
  out = Decimal{};
  std::size_t i = 0;
  bool any_digit = false;
  bool overflow = false;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    any_digit = true;
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (__builtin_mul_overflow(out.whole, 10u, &out.whole) ||
        __builtin_add_overflow(out.whole, digit, &out.whole)) {
      overflow = true;
    }
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      any_digit = true;
      if (digits < kMaxFractionDigits) {
        out.fraction = out.fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
        out.scale *= 10;
        ++digits;
      } else if (text[i] != '0') {
        out.too_precise = true;
      }
    }
  }
  if (!any_digit) return DecimalStatus::kNoDigits;
  text.remove_prefix(i);
  return overflow ? DecimalStatus::kOverflow : DecimalStatus::kOk;
}

enum class ScaleStatus { kOk, kOverflow, kInexact };

// value * unit as an integer; kInexact when the fraction does not come out as
// a whole number of base units (e.g. "0.5ns", "1.5B").
ScaleStatus scale_decimal(const Decimal& value, std::uint64_t unit, std::uint64_t& out) {
  if (value.too_precise) return ScaleStatus::kInexact;
  std::uint64_t whole_part = 0;
  if (__builtin_mul_overflow(value.whole, unit, &whole_part)) return ScaleStatus::kOverflow;
  // fraction * unit / scale, exactly: reduce unit/scale first so nothing overflows.
  const std::uint64_t g = std::gcd(unit, value.scale);
  const std::uint64_t reduced_scale = value.scale / g;
  if (value.fraction % reduced_scale != 0) return ScaleStatus::kInexact;
  // fraction < scale, so this is below `unit` and cannot overflow.
  const std::uint64_t fraction_part = (value.fraction / reduced_scale) * (unit / g);
  if (__builtin_add_overflow(whole_part, fraction_part, &out)) return ScaleStatus::kOverflow;
  return out > kMaxValue ? ScaleStatus::kOverflow : ScaleStatus::kOk;
}

std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

Error invalid(std::string message) {
  return Error(ErrorCode::kInvalidInput, std::move(message));
}

struct Suffix {
  std::string_view name;
  std::uint64_t multiplier;
};

// Shared by sizes and bitrates: a number, optional blanks, then one of the
// suffixes (or none, meaning multiplier 1).
template <std::size_t N>
Result<std::int64_t> parse_scaled(std::string_view original, const std::array<Suffix, N>& suffixes,
                                  std::string_view what, std::string_view base_unit,
                                  std::string_view examples, std::string_view unit_list) {
  std::string_view text = trim(original);
  if (!text.empty() && text.front() == '-') {
    return invalid(quoted(original) + " is negative; a " + std::string(what) + " must not be");
  }
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  Decimal number;
  const DecimalStatus status = read_decimal(text, number);
  if (status == DecimalStatus::kNoDigits) {
    return invalid(quoted(original) + " is not a " + std::string(what) + " (expected e.g. " +
                   std::string(examples) + ")");
  }
  const std::string_view suffix_text = trim(text);
  std::optional<std::uint64_t> multiplier;
  if (suffix_text.empty()) multiplier = 1;
  for (const Suffix& suffix : suffixes) {
    if (suffix.name == suffix_text) multiplier = suffix.multiplier;
  }
  if (!multiplier) {
    return invalid(quoted(original) + " has an unknown unit " + quoted(suffix_text) + " (use " +
                   std::string(unit_list) + ")");
  }
  std::uint64_t value = 0;
  const ScaleStatus scaled = status == DecimalStatus::kOverflow
                                 ? ScaleStatus::kOverflow
                                 : scale_decimal(number, *multiplier, value);
  if (scaled == ScaleStatus::kOverflow) {
    return invalid(quoted(original) + " is too large for a " + std::string(what));
  }
  if (scaled == ScaleStatus::kInexact) {
    return invalid(quoted(original) + " is not a whole number of " + std::string(base_unit));
  }
  return static_cast<std::int64_t>(value);
}

// Shortest "<n><suffix>" among the suffixes that divide the value exactly;
// earlier suffixes win ties. Falls back to the plain number.
template <std::size_t N>
std::string format_scaled(std::int64_t value, const std::array<Suffix, N>& suffixes) {
  std::string best = std::to_string(value);
  if (value <= 0) return best;
  const auto magnitude = static_cast<std::uint64_t>(value);
  std::optional<std::string> best_suffixed;
  for (const Suffix& suffix : suffixes) {
    if (magnitude % suffix.multiplier != 0) continue;
    std::string candidate =
        std::to_string(magnitude / suffix.multiplier) + std::string(suffix.name);
    if (!best_suffixed || candidate.size() < best_suffixed->size()) {
      best_suffixed = std::move(candidate);
    }
  }
  // A suffix reads better than bare digits of the same length ("1KiB" vs "1024").
  if (best_suffixed && best_suffixed->size() <= best.size()) return *best_suffixed;
  return best;
}

constexpr std::uint64_t kKi = 1024;
constexpr std::array<Suffix, 9> kSizeSuffixes{{
    {"TiB", kKi* kKi* kKi* kKi},
    {"GiB", kKi* kKi* kKi},
    {"MiB", kKi* kKi},
    {"KiB", kKi},
    {"TB", 1000ull * 1000 * 1000 * 1000},
    {"GB", 1000ull * 1000 * 1000},
    {"MB", 1000ull * 1000},
    {"KB", 1000},
    {"B", 1},
}};

constexpr std::array<Suffix, 8> kBitrateSuffixes{{
    {"G", 1000ull * 1000 * 1000},
    {"M", 1000ull * 1000},
    {"k", 1000},
    {"K", 1000},
    {"Gbps", 1000ull * 1000 * 1000},
    {"Mbps", 1000ull * 1000},
    {"kbps", 1000},
    {"bps", 1},
}};

// Only the forms format_bitrate writes.
constexpr std::array<Suffix, 3> kBitrateFormatSuffixes{{
    {"G", 1000ull * 1000 * 1000},
    {"M", 1000ull * 1000},
    {"k", 1000},
}};

constexpr std::uint64_t kNs = 1;
constexpr std::uint64_t kUs = 1000 * kNs;
constexpr std::uint64_t kMs = 1000 * kUs;
constexpr std::uint64_t kSecond = 1000 * kMs;
constexpr std::uint64_t kMinute = 60 * kSecond;
constexpr std::uint64_t kHour = 60 * kMinute;

std::optional<std::uint64_t> duration_unit(std::string_view unit) {
  static constexpr std::array<Suffix, 8> kUnits{{
      {"ns", kNs},
      {"us", kUs},
      {"\xC2\xB5s", kUs},  // U+00B5 micro sign, accepted like Go does
      {"\xCE\xBCs", kUs},  // U+03BC Greek small letter mu
      {"ms", kMs},
      {"s", kSecond},
      {"m", kMinute},
      {"h", kHour},
  }};
  for (const Suffix& candidate : kUnits) {
    if (candidate.name == unit) return candidate.multiplier;
  }
  return std::nullopt;
}

// "<whole>.<fraction>" with the fraction written in `digits` places and its
// trailing zeros dropped ("1.5", "2", "0.001").
std::string decimal_text(std::uint64_t whole, std::uint64_t fraction, int digits) {
  std::string out = std::to_string(whole);
  if (fraction == 0) return out;
  std::string tail = std::to_string(fraction);
  tail.insert(0, static_cast<std::size_t>(digits) - tail.size(), '0');
  while (!tail.empty() && tail.back() == '0') tail.pop_back();
  return out + "." + tail;
}

}  // namespace

Result<nanoseconds> parse_duration(std::string_view original) {
  std::string_view text = trim(original);
  const std::string expected = " (expected e.g. 120ms, 30s, 1h30m)";
  if (text.empty()) return invalid(quoted(original) + " is not a duration" + expected);
  if (text.front() == '-') {
    return invalid(quoted(original) + " is negative; a duration must not be");
  }
  if (text.front() == '+') text.remove_prefix(1);
  // Go's special case: a lone zero needs no unit, since every unit agrees.
  if (text == "0") return nanoseconds{0};
  if (text.empty()) return invalid(quoted(original) + " is not a duration" + expected);

  std::uint64_t total = 0;
  while (!text.empty()) {
    Decimal number;
    const DecimalStatus status = read_decimal(text, number);
    if (status == DecimalStatus::kNoDigits) {
      return invalid(quoted(original) + " is not a duration" + expected);
    }
    std::size_t unit_length = 0;
    while (unit_length < text.size() && !is_digit(text[unit_length]) && text[unit_length] != '.') {
      ++unit_length;
    }
    const std::string_view unit_text = text.substr(0, unit_length);
    text.remove_prefix(unit_length);
    if (unit_text.empty()) {
      return invalid(quoted(original) +
                     " has no unit; a bare number is ambiguous (write e.g. 30s or 30ms)");
    }
    const std::optional<std::uint64_t> unit = duration_unit(unit_text);
    if (!unit) {
      return invalid(quoted(original) + " has an unknown unit " + quoted(unit_text) +
                     " (use ns, us, ms, s, m, h)");
    }
    std::uint64_t term = 0;
    const ScaleStatus scaled = status == DecimalStatus::kOverflow
                                   ? ScaleStatus::kOverflow
                                   : scale_decimal(number, *unit, term);
    if (scaled == ScaleStatus::kInexact) {
      return invalid(quoted(original) + " is finer than one nanosecond");
    }
    if (scaled == ScaleStatus::kOverflow || __builtin_add_overflow(total, term, &total) ||
        total > kMaxValue) {
      return invalid(quoted(original) + " is too large for a duration (at most about 292 years)");
    }
  }
  return nanoseconds{static_cast<std::int64_t>(total)};
}

std::string format_duration(nanoseconds duration) {
  const std::int64_t count = duration.count();
  if (count == 0) return "0s";
  std::string out = count < 0 ? "-" : "";
  // Negate in unsigned arithmetic so the minimum int64 does not overflow.
  const std::uint64_t magnitude =
      count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);

  if (magnitude < kSecond) {
    if (magnitude >= kMs) return out + decimal_text(magnitude / kMs, magnitude % kMs, 6) + "ms";
    if (magnitude >= kUs) return out + decimal_text(magnitude / kUs, magnitude % kUs, 3) + "us";
    return out + std::to_string(magnitude) + "ns";
  }
  const std::uint64_t hours = magnitude / kHour;
  const std::uint64_t minutes = magnitude % kHour / kMinute;
  const std::uint64_t seconds = magnitude % kMinute / kSecond;
  const std::uint64_t sub_second = magnitude % kSecond;
  if (hours != 0) out += std::to_string(hours) + "h";
  if (minutes != 0) out += std::to_string(minutes) + "m";
  if (seconds != 0 || sub_second != 0) out += decimal_text(seconds, sub_second, 9) + "s";
  return out;
}

Result<std::int64_t> parse_size(std::string_view text) {
  return parse_scaled(text, kSizeSuffixes, "size", "bytes", "1048576, 512KiB, 10GiB, 2MB",
                      "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB");
}

std::string format_size(std::int64_t bytes) {
  // "B" is never shorter than the plain number, so only real multipliers compete.
  static constexpr std::array<Suffix, 8> kFormatSuffixes{{
      kSizeSuffixes[0],
      kSizeSuffixes[1],
      kSizeSuffixes[2],
      kSizeSuffixes[3],
      kSizeSuffixes[4],
      kSizeSuffixes[5],
      kSizeSuffixes[6],
      kSizeSuffixes[7],
  }};
  return format_scaled(bytes, kFormatSuffixes);
}

Result<std::int64_t> parse_bitrate(std::string_view text) {
  return parse_scaled(text, kBitrateSuffixes, "bitrate", "bits per second", "400000, 400k, 60M",
                      "k, M, G, optionally followed by bps");
}

std::string format_bitrate(std::int64_t bits_per_second) {
  return format_scaled(bits_per_second, kBitrateFormatSuffixes);
}

}  // namespace mirror::core
