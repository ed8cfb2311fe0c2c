// DVR routes: a stream's recording over the retained window
// (storage.dvr.retention_time), as HLS, on the delivery port:
//   GET /streams/{name}/dvr/index.m3u8                 multivariant playlist (the renditions
//                                                      of the newest session in the window)
//   GET /streams/{name}/dvr/{rendition}/playlist.m3u8  media playlist: every segment in the
//                                                      window, with PROGRAM-DATE-TIME, a
//                                                      discontinuity where the stream restarted
//   GET /streams/{name}/dvr/{rendition}/{session}/init-V.mp4 | seg-N.m4s
//   GET /streams/{name}/dvr/sessions.json              the recording sessions (for players)
// and on the admin port:
//   GET /api/v1/streams/{name}/recordings              the recording sessions
// ?start=&end= (RFC 3339 or Unix seconds) narrows a playlist to a window and
// carries on from the multivariant to its media playlists. A playlist is an
// EVENT playlist while the stream records into it, VOD with EXT-X-ENDLIST
// once it cannot grow. Mistakes in the query, or names that are not names,
// get 400 with a JSON body.
//
// Every answer is built on the storage's reader threads, from the segment
// index; an event-loop thread never waits for the disk.
#pragma once

#include "http/router.h"
#include "package/hls/presentation.h"
#include "storage/storage_service.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace mirror::api {

struct DvrContext {
  storage::StorageService* storage = nullptr;
  // The live stream of that name on this node, if any (null: not live here).
  std::function<std::shared_ptr<package::hls::Presentation>(const std::string&)> find;
  // Playback URLs are signed: playlists carry the request's token into every URI.
  bool signed_urls = false;

  // Another node's stream (relay/): its DVR playlists come from the node
  // that records it. `forward` asks for `target` (path and query; a media
  // playlist's segment URIs come back with "at=UNIX_MS") and returns false
  // when no other node holds the stream (then this node's index answers);
  // `busy` when too many requests wait. Null: this node alone.
  using ForwardReply = std::function<void(core::Result<std::string>)>;
  std::function<bool(const std::string& stream, std::string target, bool media, ForwardReply reply, bool* busy)>
      forward;
  // The stream's relayed live window on this node, if a relay runs.
  std::function<std::shared_ptr<package::hls::Presentation>(const std::string&)> relayed;
};

void register_dvr_routes(http::Router& router, DvrContext context);
void register_recordings_route(http::Router& router, DvrContext context);

}  // namespace mirror::api
