// libFuzzer target for what a relay reads from its origin node: LL-HLS media
// playlists and multivariant playlists. Checks, besides the sanitizers: an
// accepted playlist numbers its segments consecutively from its media
// sequence, every segment has an init segment, and the renditions a
// multivariant names are folder names.
#include "relay/origin_playlist.h"

#include <cstdlib>
#include <string_view>

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mirror::relay;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto p = parse_origin_playlist(text)) {
    require(p->target_duration >= 1 && p->part_target > 0);
    for (std::size_t i = 0; i < p->segments.size(); ++i) {
      const auto& seg = p->segments[i];
      require(seg.msn == p->media_sequence + static_cast<std::int64_t>(i));
      require(seg.init_version >= 0);
      require(i + 1 == p->segments.size() || seg.complete);
    }
  }
  if (auto names = multivariant_renditions(text)) {
    require(!names->empty() && names->size() <= 65);
    for (const auto& n : *names) require(!n.empty() && n.size() <= 64 && n.find('/') == std::string::npos);
  }
  return 0;
}
