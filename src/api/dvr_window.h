// The span of time a DVR request asks for: ?start=&end= on DVR playlists,
// each an RFC 3339 date-time ("2026-12-03T10:00:00Z", fractions and
// offsets allowed) or Unix seconds ("1796288400", "1796288400.5"). Parsed
// from hostile text and checked against the retained window; any mistake is
// a message for a 400. Pure functions; fuzzed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mirror::api {

// Unix milliseconds of one value; nothing when it is not a time Mirror
// could have recorded (malformed, before 2000 or after 9999).
std::optional<std::int64_t> parse_dvr_time(std::string_view text);

struct DvrWindow {
  std::optional<std::int64_t> start_ms;  // none: from the oldest retained segment
  std::optional<std::int64_t> end_ms;    // none: up to the live edge
  std::string error;                     // non-empty: refuse with 400
  bool given() const { return start_ms || end_ms; }
  // The query that carries this window on to other playlists ("start=..&end=..").
  std::string query() const;
};

// `query` is the raw query string. `now_ms` and `retention_ms` bound it:
// a window wholly outside what is kept, starting in the future, ending
// before it starts, or longer than the retention time is refused.
DvrWindow parse_dvr_window(std::string_view query, std::int64_t now_ms, std::int64_t retention_ms);

}  // namespace mirror::api
