// Admin routes for ingested streams: list, inspect, end.
//   GET    /api/v1/streams          every stream, summarised
//   GET    /api/v1/streams/{name}   one stream in detail (codecs, rates, errors, link)
//   DELETE /api/v1/streams/{name}   hang up on its publisher; the stream ends
// Handlers answer at once on the event-loop thread; the table is thread-safe.
#pragma once

#include "http/router.h"
#include "ingest/stream_table.h"

namespace mirror::api {

void register_stream_routes(http::Router& router, ingest::StreamTable& streams);

}  // namespace mirror::api
