// The DVR's playlists: a rendition's recorded segments over a span of time,
// as an HLS media playlist, built from the segment index's rows (never from
// a directory listing). Segments live in one folder per recording session:
//   <session>/init-<version>.mp4, <session>/seg-<msn>.m4s
// relative to the rendition's DVR playlist. A new session, or a
// discontinuity within one, is marked with EXT-X-DISCONTINUITY; every
// segment carries its EXT-X-PROGRAM-DATE-TIME.
//
// Pure functions over their arguments; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mirror::package::hls {

struct DvrSegment {
  std::int64_t session = 0;
  std::int64_t msn = 0;
  std::int64_t discontinuity_sequence = 0;  // within its session
  std::int64_t init_version = 0;
  std::int64_t program_date_time_ms = 0;
  std::int64_t duration_us = 0;
};

struct DvrPlaylistOptions {
  // EVENT while the recording may still grow; VOD with EXT-X-ENDLIST once
  // it cannot (the stream ended, or the window's end has passed).
  bool complete = false;
  // Appended to every URI ("token=..."), when not empty.
  std::string query;
};

// `segments` in time order.
std::string dvr_media_playlist(std::span<const DvrSegment> segments, const DvrPlaylistOptions& options);

// The DVR's folder names for a session's files, as the media playlist writes them.
std::string dvr_segment_uri(std::int64_t session, std::int64_t msn);
std::string dvr_init_uri(std::int64_t session, std::int64_t version);

}  // namespace mirror::package::hls
