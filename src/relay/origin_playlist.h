// What a relay reads from its origin node: an LL-HLS media playlist as Mirror
// writes it (package/hls/part_store), and the rendition folders a
// multivariant playlist names. The origin is another node, but its answers
// are parsed as hostile all the same: sizes bounded, numbers checked, and
// every URI must be the one Mirror would write for its position (init-V.mp4,
// seg-N.m4s, part-N.P.m4s), so that a relay never fetches anything but the
// files it computes itself.
//
// Pure functions; no threads.
#pragma once

#include "core/errors.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::relay {

inline constexpr std::size_t kMaxPlaylistBytes = 4 * 1024 * 1024;

struct OriginPart {
  double duration = 0;
  bool independent = false;
};

struct OriginSegment {
  std::int64_t msn = 0;
  bool discontinuity = false;
  std::int64_t init_version = -1;
  std::chrono::system_clock::time_point program_date_time{};
  std::vector<OriginPart> parts;  // from part 0 when listed at all
  bool complete = false;          // has its EXTINF
  double duration = 0;            // EXTINF, when complete
};

struct OriginPlaylist {
  int target_duration = 0;
  double part_target = 0;
  std::int64_t media_sequence = 0;
  std::int64_t discontinuity_sequence = 0;
  std::vector<OriginSegment> segments;
  // Where the next part goes (EXT-X-PRELOAD-HINT); none once ended.
  std::optional<std::int64_t> hint_msn;
  int hint_part = 0;
  bool ended = false;
};

// INVALID_INPUT naming the line at fault.
core::Result<OriginPlaylist> parse_origin_playlist(std::string_view text);

// The rendition folders a multivariant playlist names ("source",
// "audio", "360p"), in order, each once.
core::Result<std::vector<std::string>> multivariant_renditions(std::string_view text);

}  // namespace mirror::relay
