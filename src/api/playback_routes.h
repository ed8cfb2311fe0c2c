// Playback routes on the delivery port: everything a player needs.
//   GET /streams                                   live streams with codecs and playlist URLs
//   GET /streams/{name}/index.m3u8                 multivariant playlist: the source and its
//                                                  transcoded renditions
//   GET /streams/{name}/multiview.m3u8             multivariant playlist of the transcoded
//                                                  renditions only (for multiview walls)
//   GET /streams/{name}/thumbnail.jpg              latest picture, JPEG (when transcoding)
//   GET /streams/{name}/{rendition}/playlist.m3u8  LL-HLS media playlist; _HLS_msn,
//                                                  _HLS_part (blocking reload), _HLS_skip (delta)
//   GET /streams/{name}/{rendition}/init-V.mp4     init segment
//   GET /streams/{name}/{rendition}/seg-N.m4s      segment (older ones of the window
//                                                  from the DVR's cache)
//   GET /streams/{name}/{rendition}/part-N.P.m4s   part (the one being written is streamed)
// Blocking requests are parked in the rendition's PartStore and answered
// from whichever thread publishes the part; no thread waits.
#pragma once

#include "core/errors.h"
#include "core/shared_bytes.h"
#include "http/router.h"
#include "api/thumbnail_routes.h"
#include "package/hls/presentation.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mirror::api {

struct PlaybackContext {
  std::function<std::shared_ptr<package::hls::Presentation>(const std::string&)> find;
  std::function<std::vector<std::shared_ptr<package::hls::Presentation>>()> list;
  // Streams other nodes of the cluster ingest, as (name, state): GET /streams
  // lists them too, since this node serves them through a relay. Null: none.
  std::function<std::vector<std::pair<std::string, std::string>>()> cluster;
  // Null when there are no thumbnails (transcoding disabled).
  ThumbnailSource thumbnail;
  // How long a multivariant or media playlist request waits for a stream
  // that has started but has no complete segment yet.
  std::chrono::milliseconds startup_wait{10000};
  // Playback URLs are signed (playback_access.h): playlists carry the
  // request's token into every URI.
  bool signed_urls = false;
  // A segment of the live window whose bytes left memory, read back from
  // the DVR's cache; `reply` runs once, on any thread. Returns false when
  // it cannot be asked now (busy). Null: every segment stays in memory.
  using RecordedReply = std::function<void(core::Result<core::SharedBytes>)>;
  std::function<bool(const std::string& stream, const std::string& rendition, std::int64_t session,
                     std::int64_t msn, RecordedReply reply)>
      recorded;
};

void register_playback_routes(http::Router& router, PlaybackContext context);

}  // namespace mirror::api
