// Admin routes for ingested streams: list, inspect, end.
//   GET    /api/v1/streams          every stream of the cluster, summarised, each
//                                   with its node ("remote": true for other nodes')
//   GET    /api/v1/streams/{name}   one stream in detail (codecs, rates, errors, link, and
//                                   what other rooms add: playback URLs, transcoding, levels);
//                                   another node's stream: its registry record
//   DELETE /api/v1/streams/{name}   hang up on its publisher; the stream ends. Another
//                                   node's stream: that node is asked (202)
//   GET    /api/v1/nodes            every node up, with its streams and load
//   POST   /api/v1/streams          {"name","sdp"} declares a raw RTP stream;
//                                   {"name","ssrc"} names an MPEG-TS/RTP source
// Handlers answer at once on the event-loop thread; the table is thread-safe.
#pragma once

#include "http/router.h"
#include "ingest/ingest_service.h"
#include "state/stream_registry.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace mirror::api {

// Adds to a stream's detailed JSON (any thread).
using StreamDetails = std::function<void(const std::string& name, nlohmann::json& out)>;

// POST answers 503 while RTP ingest is disabled or not running.
void register_stream_routes(http::Router& router, ingest::IngestService& ingest,
                            state::StreamRegistry& registry, StreamDetails details = {});

}  // namespace mirror::api
