// What a player's request for a rendition asks for, parsed from hostile text:
// the LL-HLS delivery directives of a playlist request (_HLS_msn, _HLS_part,
// _HLS_skip) and the file it names (playlist, init segment, segment, part).
// Pure functions over strings; fuzzed.
#pragma once

#include "package/hls/part_store.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace mirror::package::hls {

struct DeliveryDirectives {
  PlaylistRequest request;
  std::string error;  // non-empty: refuse the request with this message (400)
};

// `query` is the raw query string (without '?'). Other parameters (cache
// busters) are ignored; a directive with a malformed value is an error, as is
// _HLS_part without _HLS_msn.
DeliveryDirectives parse_delivery_directives(std::string_view query);

struct RenditionFile {
  enum class Kind { kPlaylist, kInit, kSegment, kPart, kUnknown } kind = Kind::kUnknown;
  std::int64_t number = 0;  // init version or media sequence number
  int part = 0;
};

// "playlist.m3u8", "init-V.mp4", "seg-N.m4s", "part-N.P.m4s"; anything else,
// numbers out of range or with leading zeros, is kUnknown.
RenditionFile parse_rendition_file(std::string_view name);

// The largest media sequence number accepted (a part position packs it with
// 16 bits of part index into 63 bits).
inline constexpr std::int64_t kMaxMediaSequence = (std::int64_t{1} << 46) - 1;

}  // namespace mirror::package::hls
