// Times as text: RFC 3339 date-times read into Unix milliseconds. Pure
// functions, for hostile input (DVR windows, a relay's origin playlists).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mirror::core {

// "2026-12-03T10:00:00Z", with fractions and offsets ("+01:00"; a space for
// the '+' that an unescaped query turns into one); 't' and ' ' for 'T'. A
// leap second counts as the next second's start. Nothing when malformed.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

// Fractional digits after a '.' at the front of `s`, as milliseconds (extra
// digits are cut), taken off `s`. True when there is no '.'.
bool take_fraction_ms(std::string_view& s, std::int64_t& ms);

}  // namespace mirror::core
