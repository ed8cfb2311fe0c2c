// Admin routes for ingested streams: list, inspect, end.
//   GET    /api/v1/streams          every stream, summarised
//   GET    /api/v1/streams/{name}   one stream in detail (codecs, rates, errors, link, and
//                                   what other rooms add: playback URLs, transcoding, levels)
//   DELETE /api/v1/streams/{name}   hang up on its publisher; the stream ends
//   POST   /api/v1/streams          {"name","sdp"} declares a raw RTP stream;
//                                   {"name","ssrc"} names an MPEG-TS/RTP source
// Handlers answer at once on the event-loop thread; the table is thread-safe.
#pragma once

#include "http/router.h"
#include "ingest/ingest_service.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace mirror::api {

// Adds to a stream's detailed JSON (any thread).
using StreamDetails = std::function<void(const std::string& name, nlohmann::json& out)>;

// POST answers 503 while RTP ingest is disabled or not running.
void register_stream_routes(http::Router& router, ingest::IngestService& ingest,
                            StreamDetails details = {});

}  // namespace mirror::api
