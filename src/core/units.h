// Text forms of durations, byte sizes and bitrates as they appear in Mirror's
// configuration and environment: Go-style durations ("120ms", "1h30m", "1.5s"),
// sizes with decimal or binary suffixes ("10GiB", "2MB") and bitrates with
// k/M/G suffixes ("400k", "60M"). Pure functions, safe from any thread.
//
// Parsers reject negative values, overflow and values that are not a whole
// number of the base unit (nanoseconds, bytes, bits per second); the error
// message starts with the rejected text so callers can prefix the key name.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/errors.h"

namespace mirror::core {

// Go's time.ParseDuration grammar without the sign: one or more
// "<decimal><unit>" terms, units ns, us (or µs), ms, s, m, h. "0" alone means
// zero; any other number without a unit is rejected because "30" could mean
// seconds or milliseconds.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// Shortest exact Go-like form that parses back to the same value: "0s",
// "120ms", "1.5ms", "1.5s", "1h30m", "24h". Zero terms are left out, and a
// sub-second remainder of a longer duration is a fraction of its seconds term
// ("1h0.5s"). Negative durations get a leading '-' (parse_duration rejects it).
std::string format_duration(std::chrono::nanoseconds duration);

// Bytes: a plain number, or a number with B, KB, MB, GB, TB (powers of 1000)
// or KiB, MiB, GiB, TiB (powers of 1024), e.g. "10GiB", "1.5KiB" (= 1536).
Result<std::int64_t> parse_size(std::string_view text);

// Shortest exact form with a suffix when one fits ("10GiB", "2MB"), otherwise
// plain bytes ("1234").
std::string format_size(std::int64_t bytes);

// Bits per second: a plain number or one with k, M, G (powers of 1000), each
// optionally followed by "bps": "400k", "60M", "2.5Mbps".
Result<std::int64_t> parse_bitrate(std::string_view text);

// Shortest exact form: "400k", "60M", "1G", otherwise plain ("64500").
std::string format_bitrate(std::int64_t bits_per_second);

}  // namespace mirror::core
