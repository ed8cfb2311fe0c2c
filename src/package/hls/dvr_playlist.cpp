#include "package/hls/dvr_playlist.h"

#include "package/hls/part_store.h"
#include "package/hls/playlist_text.h"

#include <fmt/format.h>

#include <algorithm>

namespace mirror::package::hls {

std::string dvr_segment_uri(std::int64_t session, std::int64_t msn) {
  return fmt::format("{}/{}", session, segment_uri(msn));
}

std::string dvr_init_uri(std::int64_t session, std::int64_t version) {
  return fmt::format("{}/{}", session, init_uri(version));
}

std::string dvr_media_playlist(std::span<const DvrSegment> segments, const DvrPlaylistOptions& options) {
  const std::string suffix = options.query.empty() ? std::string() : "?" + options.query;
  // EXT-X-TARGETDURATION: at least every EXTINF rounded to the nearest second.
  std::int64_t longest_us = 0;
  for (const auto& s : segments) longest_us = std::max(longest_us, s.duration_us);
  const std::int64_t target = std::max<std::int64_t>(1, (longest_us + 500'000) / 1'000'000);

  std::string out;
  out.reserve(256 + segments.size() * 110);
  out += "#EXTM3U\n#EXT-X-VERSION:6\n";
  out += fmt::format("#EXT-X-TARGETDURATION:{}\n", target);
  out += options.complete ? "#EXT-X-PLAYLIST-TYPE:VOD\n" : "#EXT-X-PLAYLIST-TYPE:EVENT\n";
  out += fmt::format("#EXT-X-MEDIA-SEQUENCE:{}\n", segments.empty() ? 0 : segments.front().msn);
  const DvrSegment* previous = nullptr;
  for (const auto& s : segments) {
    const bool new_session = previous == nullptr || previous->session != s.session;
    if (previous != nullptr &&
        (new_session || previous->discontinuity_sequence != s.discontinuity_sequence)) {
      out += "#EXT-X-DISCONTINUITY\n";
    }
    if (new_session || previous->init_version != s.init_version) {
      out += fmt::format("#EXT-X-MAP:URI=\"{}{}\"\n", dvr_init_uri(s.session, s.init_version), suffix);
    }
    out += fmt::format("#EXT-X-PROGRAM-DATE-TIME:{}\n", program_date_time_text(s.program_date_time_ms));
    out += fmt::format("#EXTINF:{},\n{}{}\n", seconds_text(static_cast<double>(s.duration_us) / 1e6),
                       dvr_segment_uri(s.session, s.msn), suffix);
    previous = &s;
  }
  if (options.complete) out += "#EXT-X-ENDLIST\n";
  return out;
}

}  // namespace mirror::package::hls
