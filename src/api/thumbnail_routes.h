// The latest picture of a stream as a JPEG, on both ports:
//   GET /api/v1/streams/{name}/thumbnail.jpg   (admin)
//   GET /streams/{name}/thumbnail.jpg          (delivery)
// The picture comes from the stream's transcoder (its decoder already has
// it); the answer may come later, from the transcoder's thread. 404 with a
// JSON body for an unknown stream or before the first picture.
#pragma once

#include "core/errors.h"
#include "core/shared_bytes.h"
#include "http/router.h"

#include <functional>
#include <string>
#include <string_view>

namespace mirror::api {

// Asks for stream `name`'s thumbnail; `reply` is called once, from any
// thread, with the JPEG bytes or an error (NOT_FOUND, SERVICE_UNAVAILABLE).
using ThumbnailReply = std::function<void(core::Result<core::SharedBytes>)>;
using ThumbnailSource = std::function<void(const std::string& name, ThumbnailReply reply)>;

void register_thumbnail_route(http::Router& router, std::string_view pattern, ThumbnailSource source,
                              std::string_view cache_control);

}  // namespace mirror::api
